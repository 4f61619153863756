"""Dates as real exports write them beyond the usual layouts: French month names, Excel serial days and Unix
times, read cell by cell, found as a file's likely layout, and saying nothing of day or month first."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from pipelines.ingestion.contracts import CUSTOMERS, ORDERS
from pipelines.ingestion.date_order import DateOrderEvidence, date_order_evidence
from pipelines.ingestion.row_checks import detect_date_format_sql
from tests.catalogue.harness import assert_every_row_accounted_for, ingest, query, write_landing
from tests.ingestion.test_excel import write_workbook
from tests.ingestion.test_values import check_rows, order

MARCH_1 = datetime(2024, 3, 1)


@pytest.mark.parametrize(("raw", "expected"), [
    ("1 mars 2024", MARCH_1),
    ("01 mars 2024", MARCH_1),
    ("1er mars 2024", MARCH_1),
    ("1 Mars 2024", MARCH_1),
    ("1 MARS 2024", MARCH_1),
    ("1 mars 2024 14:05", datetime(2024, 3, 1, 14, 5)),
    ("1er mars 2024 14:05:09", datetime(2024, 3, 1, 14, 5, 9)),
    ("1 févr. 2024", datetime(2024, 2, 1)),
    ("1 fevr 2024", datetime(2024, 2, 1)),
    ("29 février 2024", datetime(2024, 2, 29)),
    ("1 janv 2024", datetime(2024, 1, 1)),
    ("1 janvier 2024", datetime(2024, 1, 1)),
    ("15 avr. 2024", datetime(2024, 4, 15)),
    ("8 mai 2024", datetime(2024, 5, 8)),
    ("14 juil. 2024", datetime(2024, 7, 14)),
    ("15 août 2024", datetime(2024, 8, 15)),
    ("15 aout 2024", datetime(2024, 8, 15)),
    ("1 sept. 2024", datetime(2024, 9, 1)),
    ("12 déc. 2024", datetime(2024, 12, 12)),
    ("3 decembre 2024", datetime(2024, 12, 3)),
    ("mars 2024", MARCH_1),                          # a month alone is its first day, as '2024-03' is
    ("01-mars-2024", MARCH_1),
    ("vendredi 1 mars 2024", MARCH_1),               # a day of the week is skipped
    ("ven. 1 mars 2024, 14h05", datetime(2024, 3, 1, 14, 5)),
    ("jeudi 7 mars 2024 à 9h30", datetime(2024, 3, 7, 9, 30)),
    ("1 mars 2024 14h", datetime(2024, 3, 1, 14)),   # the hour alone
    ("1er mars 2024 à 9h", datetime(2024, 3, 1, 9)),
    ("1 MARS 2024 14H", datetime(2024, 3, 1, 14)),
])
def test_french_month_names_with_or_without_accents_and_abbreviated(raw, expected):
    row = check_rows(ORDERS, [order(ordered_at=raw)])[0]
    assert (row["ordered_at"], row["_reject_reason"]) == (expected, None)


@pytest.mark.parametrize(("raw", "expected"), [
    ("1 mars 24", MARCH_1),
    ("01 mars 24", MARCH_1),
    ("1er févr. 24 14:05", datetime(2024, 2, 1, 14, 5)),
    ("01-mars-24", MARCH_1),
    ("vendredi 1 mars 24", MARCH_1),
    ("ven. 1 mars 24, 14h05", datetime(2024, 3, 1, 14, 5)),
    ("1 mai 24 à 9h30", datetime(2024, 5, 1, 9, 30)),
    ("1 mars 24 14h", datetime(2024, 3, 1, 14)),
    ("29 févr. 24", datetime(2024, 2, 29)),
    ("12 déc. 23", datetime(2023, 12, 12)),
    ("1 janv 00", datetime(2000, 1, 1)),
    ("1 mars 69", datetime(1969, 3, 1)),             # as '%y' reads '01/03/69'
    ("31 déc. 99", datetime(1999, 12, 31)),
])
def test_french_month_names_with_a_two_digit_year(raw, expected):
    row = check_rows(ORDERS, [order(ordered_at=raw)])[0]
    assert (row["ordered_at"], row["_reject_reason"]) == (expected, None)


@pytest.mark.parametrize(("raw", "expected"), [
    ("1 mar 24", MARCH_1),                            # French abbreviations that are English ones
    ("01-mar-24", MARCH_1),
    ("1 oct 24", datetime(2024, 10, 1)),
    ("1 nov 24", datetime(2024, 11, 1)),
    ("1 dec 24", datetime(2024, 12, 1)),
    ("1 mar 24 14:05", datetime(2024, 3, 1, 14, 5)),
    ("1 Mar 24", MARCH_1),                            # and English dates with two-digit years
    ("01-Mar-24", MARCH_1),
    ("Mar 1, 24", MARCH_1),
    ("March 1, 24", MARCH_1),
    ("1 March 2024", MARCH_1),                        # four digits read as ever
    ("01-Mar-2024", MARCH_1),
])
def test_a_two_digit_year_after_an_english_or_shared_abbreviation_is_not_the_year_24(raw, expected):
    row = check_rows(ORDERS, [order(ordered_at=raw)])[0]
    assert (row["ordered_at"], row["_reject_reason"]) == (expected, None)


@pytest.mark.parametrize("year", ["00", "24", "68", "69", "99"])
def test_a_french_two_digit_year_is_the_year_a_numeric_one_is(year):
    french = check_rows(ORDERS, [order(ordered_at=f"13 mars {year}")])[0]
    numeric = check_rows(ORDERS, [order(ordered_at=f"13/03/{year}")],
                         date_formats=(("ordered_at", "%d/%m/%y"),))[0]
    assert french["ordered_at"] == numeric["ordered_at"]
    assert french["_reject_reason"] == numeric["_reject_reason"]


@pytest.mark.parametrize("raw", [
    "32 mars 24",          # no 32nd
    "29 févr. 23",         # 2023 is no leap year
    "mars 24",             # a month alone with two digits may be the 24th of March
    "24 mars",             # no year
    "1 mardi 24",          # a day of the week is no month
    "1 mars 4",            # a year of one digit or three
    "1 mars 124",
    "1 mars 24h",          # an hour is no year
])
def test_french_dates_with_two_digits_that_are_no_date_stay_invalid_dates(raw):
    row = check_rows(ORDERS, [order(ordered_at=raw)])[0]
    assert (row["ordered_at"], row["_reject_reason"], row["_reject_column"]) == (
        None, "invalid_date", "ordered_at")


def test_a_two_digit_year_after_the_load_day_is_a_future_date():
    row = check_rows(ORDERS, [order(ordered_at="1 mars 68")])[0]
    assert (row["ordered_at"], row["_reject_reason"]) == (datetime(2068, 3, 1), "future_date")


@pytest.mark.parametrize(("raw", "expected"), [
    ("01/03/2024 14h", datetime(2024, 3, 1, 14)),
    ("01/03/2024 9h", datetime(2024, 3, 1, 9)),
    ("01/03/2024 14h05", datetime(2024, 3, 1, 14, 5)),
    ("01/03/2024 à 14h05", datetime(2024, 3, 1, 14, 5)),
    ("01/03/2024 à 14:05", datetime(2024, 3, 1, 14, 5)),
    ("01.03.2024 14h", datetime(2024, 3, 1, 14)),
    ("01/03/24 14h", datetime(2024, 3, 1, 14)),
    ("2024-03-01 14h", datetime(2024, 3, 1, 14)),
    ("2024-03-01 à 14h", datetime(2024, 3, 1, 14)),
    ("2024-03-01 à 14h05", datetime(2024, 3, 1, 14, 5)),
])
def test_numeric_dates_with_a_french_hour(raw, expected):
    row = check_rows(ORDERS, [order(ordered_at=raw)])[0]
    assert (row["ordered_at"], row["_reject_reason"]) == (expected, None)


@pytest.mark.parametrize("raw", [
    "1 mars 2024 25h",     # no such hour
    "01/03/2024 24h",
    "01/03/2024 14h60",    # no such minute
    "01/03/2024 14h05:09",  # seconds after an 'h' are not written
    "01/03/2024 h",
    "2024-03-01 14 h",
])
def test_french_hours_that_are_no_time_stay_invalid_dates(raw):
    row = check_rows(ORDERS, [order(ordered_at=raw)])[0]
    assert (row["ordered_at"], row["_reject_reason"], row["_reject_column"]) == (
        None, "invalid_date", "ordered_at")


@pytest.mark.parametrize(("raw", "expected"), [
    ("45352", MARCH_1),                               # Excel: days since 1899-12-30
    ("45352.75", datetime(2024, 3, 1, 18)),           # ... with the time of day
    ("45352,75", datetime(2024, 3, 1, 18)),           # ... from a French Excel, with a decimal comma
    ("45352.5833", datetime(2024, 3, 1, 13, 59, 57)),  # four decimals tell the time to some seconds
    ("32874", datetime(1990, 1, 1)),                  # the first serial read
    ("1709294400", datetime(2024, 3, 1, 12)),         # Unix seconds, UTC
    ("1709294400000", datetime(2024, 3, 1, 12)),      # Unix milliseconds
    ("1709294400123", datetime(2024, 3, 1, 12, 0, 0, 123000)),
    ("20240301", MARCH_1),                            # eight digits are still a compact date
])
def test_excel_serial_days_and_unix_times(raw, expected):
    row = check_rows(ORDERS, [order(ordered_at=raw)])[0]
    assert (row["ordered_at"], row["_reject_reason"]) == (expected, None)


@pytest.mark.parametrize("raw", [
    "1 mardi 2024",        # a day of the week is no month
    "32 mars 2024",
    "99999",               # serials from 1990 to 2100 only
    "32873",
    "73052",
    "12345",
    "45352.",
    "0999999999",          # Unix times of ten digits start in 2001
    "4102444800",          # ... and stop before 2100
    "9999999999999",
    "170929440",           # nine digits, eleven, twelve: no Unix time
    "17092944000",
    "170929440000",
])
def test_numbers_and_words_that_are_no_date_stay_invalid_dates(raw):
    row = check_rows(ORDERS, [order(ordered_at=raw)])[0]
    assert (row["ordered_at"], row["_reject_reason"], row["_reject_column"]) == (
        None, "invalid_date", "ordered_at")


def test_a_date_only_column_keeps_the_day_of_a_serial_and_of_a_french_date():
    rows = check_rows(CUSTOMERS, [{"customer_id": "C1", "signup_date": raw}
                                  for raw in ("45352.9", "1er mars 2024 23:59", "1709294400")])
    assert [row["signup_date"] for row in rows] == [MARCH_1.date()] * 3


@pytest.mark.parametrize(("values", "likely"), [
    (["1 mars 2024", "2 mars 2024", "3 avr. 2024"], "french month"),
    (["1 mars 24", "2 mars 24", "3 avr. 24 14h"], "french month"),
    (["1 Mar 24", "2 mar 24", "3 oct 24"], "%d %b %y"),
    (["45352", "45353.5", "45354"], "excel serial"),
    (["1709294400", "1709294400000", "1709380800"], "unix time"),
])
def test_a_column_of_such_dates_is_found_as_its_likely_layout(values, likely):
    con = duckdb.connect()
    con.execute("create table sample as select unnest($1::varchar[]) as v", [values])
    result = con.execute(f"select {detect_date_format_sql('v', 'dmy')} from sample")
    counts = dict(zip([d[0] for d in result.description], result.fetchall()[0]))
    assert max(counts, key=lambda name: counts[name]) == likely and counts[likely] == len(values)


def evidence_of(values: list[str]) -> DateOrderEvidence:
    con = duckdb.connect()
    con.execute("create table dates as select unnest($1::varchar[]) as ordered_at", [values])
    return date_order_evidence(con, "dates", ["ordered_at"])


def test_serials_unix_times_and_french_months_say_nothing_of_day_or_month_first():
    none_told = evidence_of(["1 mars 2024", "02 avr. 2024", "45352", "1709294400", "1709294400000"])
    assert none_told == DateOrderEvidence() and not none_told.undecided
    mixed = evidence_of(["1 mars 2024", "45352", "01/02/2024"])
    assert (mixed.ambiguous, mixed.ambiguous_example, mixed.order) == (1, "01/02/2024", None)
    told = evidence_of(["1 mars 2024", "45352", "13/02/2024"])
    assert (told.order, told.day_first_example) == ("dmy", "13/02/2024")
    assert evidence_of(["01-mars-24", "1 mars 24", "ven. 1 mars 24"]) == DateOrderEvidence()


def orders_file(*dates: str) -> bytes:
    rows = ["order_id,customer_id,ordered_at,amount,currency,status"]
    rows += [f'O{i},C1,"{date}",10.00,EUR,completed' for i, date in enumerate(dates, 1)]
    return ("\n".join(rows) + "\n").encode()


def loaded_dates(tmp_path, files: dict[str, bytes]) -> tuple[list[tuple], list[tuple]]:
    """Ingest the files (real loader, real DuckDB): (order id, date) loaded, (row, reason) quarantined."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    write_landing(landing, files | {"customers.csv": b"customer_id,signup_date\nC1,2024-01-01\n"})
    ingest(landing, warehouse, "orders")
    orders_dir = warehouse / "raw" / "orders"
    assert_every_row_accounted_for(orders_dir)
    by_order = "order by cast(substr(order_id, 2) as int)"
    return (query(orders_dir, f"select order_id, ordered_at from data {by_order}"),
            query(orders_dir, "select source_row, reason from quarantine order by 1"))


def test_a_file_mixing_forms_loads_each_to_its_date_and_quarantines_the_rest(tmp_path):
    loaded, quarantined = loaded_dates(tmp_path, {"orders_2024.csv": orders_file(
        "2024-03-01 09:00:00", "1er mars 2024 14:05", "1 févr. 2024", "45352.75", "1709294400",
        "1709294400000", "13/03/2024", "20240301", "1 mardi 2024", "99999", "mars 2024")})

    assert loaded == [("O1", datetime(2024, 3, 1, 9)), ("O2", datetime(2024, 3, 1, 14, 5)),
                      ("O3", datetime(2024, 2, 1)), ("O4", datetime(2024, 3, 1, 18)),
                      ("O5", datetime(2024, 3, 1, 12)), ("O6", datetime(2024, 3, 1, 12)),
                      ("O7", datetime(2024, 3, 13)), ("O8", MARCH_1), ("O11", MARCH_1)]
    assert quarantined == [(9, "invalid_date"), (10, "invalid_date")]


def test_a_file_of_french_hours_loads_its_times_and_its_dates_tell_day_from_month(tmp_path):
    loaded, quarantined = loaded_dates(tmp_path, {"orders_2024.csv": orders_file(
        "01/03/2024 14h", "13/03/2024 9h30", "2024-03-01 à 14h", "1 mars 2024 14h", "01/03/2024 25h")})

    assert loaded == [("O1", datetime(2024, 3, 1, 14)), ("O2", datetime(2024, 3, 13, 9, 30)),
                      ("O3", datetime(2024, 3, 1, 14)), ("O4", datetime(2024, 3, 1, 14))]
    assert quarantined == [(5, "invalid_date")]
    told = evidence_of(["13/03/2024 14h", "01/02/2024 9h"])
    assert (told.order, told.day_first_example, told.ambiguous) == ("dmy", "13/03/2024 14h", 1)


def test_a_file_of_french_dates_with_two_digit_years_loads_them_in_this_century(tmp_path):
    loaded, quarantined = loaded_dates(tmp_path, {"orders_2024.csv": orders_file(
        "1 mars 24", "1er févr. 24 14:05", "01-mars-24", "vendredi 1 mars 24", "32 mars 24", "mars 24")})

    assert loaded == [("O1", MARCH_1), ("O2", datetime(2024, 2, 1, 14, 5)), ("O3", MARCH_1), ("O4", MARCH_1)]
    assert quarantined == [(5, "invalid_date"), (6, "invalid_date")]


@pytest.mark.parametrize(("dates", "expected"), [
    (("15/03/24", "01/03/24 10:15", "28/02/24"), [datetime(2024, 3, 15), datetime(2024, 3, 1, 10, 15),
                                                  datetime(2024, 2, 28)]),
    (("03/15/24", "03/01/24 10:15", "02/28/24"), [datetime(2024, 3, 15), datetime(2024, 3, 1, 10, 15),
                                                  datetime(2024, 2, 28)]),
    (("2024-03-15", "2024/3/1 10:15", "2024-02-28T00:00:00"),
     [datetime(2024, 3, 15), datetime(2024, 3, 1, 10, 15), datetime(2024, 2, 28)]),
], ids=["day-first", "month-first", "year-first"])
def test_a_file_of_two_digit_years_is_not_read_as_the_years_15_to_31(tmp_path, dates, expected):
    """DuckDB's cast reads 15/03/24 as the 24th of March of the year 15: only a value starting with a
    four-digit year is cast, the others go to the layouts, which read 2024."""
    loaded, quarantined = loaded_dates(tmp_path, {"orders_2024.csv": orders_file(*dates)})
    assert quarantined == [] and [at for _, at in loaded] == expected


@pytest.mark.parametrize("dates", [
    ("1 mars 2024", "15 août 2024", "1er déc. 2024 08:30", "45352"),  # French months most, a serial
    ("45352", "45352.5", "45353", "1 mars 2024"),                     # serials most, a French month
    ("1709294400", "1709294400000", "1709380800", "45352"),           # Unix times most, a serial
], ids=["french-months", "excel-serials", "unix-times"])
def test_a_file_written_in_one_such_form_loads_whole(tmp_path, dates):
    loaded, quarantined = loaded_dates(tmp_path, {"orders_2024.csv": orders_file(*dates)})
    assert quarantined == [] and len(loaded) == len(dates)
    assert all(at.year == 2024 for _, at in loaded)


def test_a_workbook_whose_date_column_is_formatted_as_a_number_loads_its_serials_as_dates(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    write_landing(landing, {"customers.csv": b"customer_id,signup_date\nC1,2024-01-01\n"})
    write_workbook(landing / "orders_2024.xlsx", {"Orders": [
        ["order_id", "customer_id", "ordered_at", "amount", "currency", "status"],
        ["O1", "C1", 45352.75, 10.0, "EUR", "completed"], ["O2", "C1", 45353, 12.5, "EUR", "completed"]]})
    ingest(landing, warehouse, "orders")
    assert query(warehouse / "raw" / "orders", "select order_id, ordered_at from data order by 1") == [
        ("O1", datetime(2024, 3, 1, 18)), ("O2", datetime(2024, 3, 2))]
