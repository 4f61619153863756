"""How single values and headers are read: one case per line, the expected result beside it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from pipelines.ingestion.contracts import CUSTOMERS, ORDERS, SURVEY_RESPONSES
from pipelines.ingestion.dialects import map_header, normalise_header
from pipelines.ingestion.errors import ExtractFileError
from pipelines.ingestion.readers import trim_values
from pipelines.ingestion.row_checks import ParseRules, typed_rows_sql
from pipelines.ingestion.source_config import SourceConfig

LOAD_DAY = date(2026, 7, 1)


def check_rows(extract, rows: list[dict], decimal=".", date_order="dmy", **rules) -> list[dict]:
    """Rows as the readers hand them over (text, trimmed), through the row checks."""
    parse_rules = ParseRules(decimal, date_order, LOAD_DAY, "EUR", **rules)
    names = [c.name for c in extract.file_columns(parse_rules.line_level)]
    columns = {c: trim_values(pa.array([r.get(c, "") for r in rows], pa.string())) for c in names}
    batch = pa.table(columns | {"_source_row": pa.array(range(1, len(rows) + 1), pa.int64())})
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.register("batch", batch)
    result = con.execute(typed_rows_sql(extract, parse_rules))
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


def order(**values) -> dict:
    return {"order_id": "O1", "customer_id": "C1", "ordered_at": "2025-03-14 13:45:00", "amount": "10",
            "currency": "EUR", "status": "completed"} | values


@pytest.mark.parametrize(("raw", "decimal", "expected"), [
    ("12.50", ".", Decimal("12.50")),
    ("1,234.50", ".", Decimal("1234.50")),
    ("12,50", ",", Decimal("12.50")),
    ("1 234,50", ",", Decimal("1234.50")),
    ("1.234,50", ",", Decimal("1234.50")),
    ("1\u202f234,50 €", ",", Decimal("1234.50")),
    ("-1 234,5 €", ",", Decimal("-1234.50")),
    ("€ 12.50", ".", Decimal("12.50")),
    ("$1,234.50", ".", Decimal("1234.50")),
    ("0", ".", Decimal("0.00")),
])
def test_amounts_in_either_decimal_convention(raw, decimal, expected):
    assert check_rows(ORDERS, [order(amount=raw)], decimal=decimal)[0]["amount"] == expected


@pytest.mark.parametrize(("raw", "decimal"), [
    ("12,50", "."), ("1,2,3", ","), ("twelve", "."), ("12.5.3", "."), ("1 234.50", "."), ("12 €,50", ","),
])
def test_ambiguous_or_wrong_amounts_are_invalid_numbers(raw, decimal):
    row = check_rows(ORDERS, [order(amount=raw)], decimal=decimal)[0]
    assert (row["_reject_reason"], row["_reject_column"]) == ("invalid_number", "amount")


@pytest.mark.parametrize(("raw", "expected"), [
    ("2025-03-14 13:45:00", datetime(2025, 3, 14, 13, 45)),
    ("2025-03-14T13:45:00", datetime(2025, 3, 14, 13, 45)),
    ("14/03/2025 13:45", datetime(2025, 3, 14, 13, 45)),
    ("14.03.2025", datetime(2025, 3, 14)),
    ("2025-03-14", datetime(2025, 3, 14)),
    ("2025-03-14T13:45:00+02:00", datetime(2025, 3, 14, 11, 45)),
    ("2025-03-14T13:45:00Z", datetime(2025, 3, 14, 13, 45)),
    ("2025-03-14 13:45:00.000000+0100", datetime(2025, 3, 14, 12, 45)),
])
def test_timestamps_in_several_layouts_and_time_zones_become_utc(raw, expected):
    assert check_rows(ORDERS, [order(ordered_at=raw)])[0]["ordered_at"] == expected


def test_month_first_dates_when_the_file_says_so():
    assert check_rows(ORDERS, [order(ordered_at="03/14/2025")], date_order="mdy")[0]["ordered_at"] == datetime(2025, 3, 14)


@pytest.mark.parametrize(("values", "reason", "column"), [
    ({"ordered_at": "31/02/2025"}, "invalid_date", "ordered_at"),
    ({"ordered_at": "2099-01-01"}, "future_date", "ordered_at"),
    ({"ordered_at": "1850-01-01"}, "invalid_date", "ordered_at"),
    ({"customer_id": "  "}, "missing_value", "customer_id"),
    ({"amount": "-5"}, "negative_amount", "amount"),
    ({"currency": "EURO"}, "unknown_currency", "currency"),
    ({"currency": "USD"}, "currency_mismatch", "currency"),
    ({"status": "on hold"}, "unknown_status", "status"),
])
def test_each_bad_value_gets_its_reason_and_column(values, reason, column):
    row = check_rows(ORDERS, [order(**values)])[0]
    assert (row["_reject_reason"], row["_reject_column"]) == (reason, column)
    assert row["_raw_record"] is not None


def test_refunds_may_carry_a_negative_amount_and_an_empty_currency_means_the_reporting_one():
    row = check_rows(ORDERS, [order(amount="-5", status="Refunded", currency="")])[0]
    assert row["_reject_reason"] is None
    assert (row["status"], row["currency"]) == ("refunded", "EUR")


@pytest.mark.parametrize(("raw", "decimal", "expected"), [
    ("10", ",", None), ("0", ",", None), ("9,0", ",", None), ("9.0", ".", None), ("11", ",", "out_of_range"),
    ("-1", ",", "out_of_range"), ("dix", ",", "invalid_number"), ("7,5", ",", "invalid_number"),
])
def test_nps_scores_are_whole_numbers_from_0_to_10(raw, decimal, expected):
    row = check_rows(SURVEY_RESPONSES, [{"response_id": "R1", "customer_id": "C1",
                                         "responded_at": "2025-01-01", "nps_score": raw}], decimal=decimal)[0]
    assert row["_reject_reason"] == expected


@pytest.mark.parametrize(("raw", "expected"), [("oui", True), ("NON", False), ("1", True), ("", None),
                                                ("yes", True), ("peut-être", "invalid_boolean")])
def test_consent_answers(raw, expected):
    row = check_rows(CUSTOMERS, [{"customer_id": "C1", "signup_date": "2025-01-01", "marketing_consent": raw}])[0]
    if expected == "invalid_boolean":
        assert row["_reject_reason"] == "invalid_boolean"
    else:
        assert row["_reject_reason"] is None and row["marketing_consent"] is expected


@pytest.mark.parametrize(("header", "expected"), [
    ("\ufeffCustomer ID", "customer_id"), ("Date d'inscription", "date_d_inscription"), ("  E-Mail ", "e_mail"),
    ("Montant TTC", "montant_ttc"),
])
def test_headers_are_normalised_before_matching(header, expected):
    assert normalise_header(header) == expected


def test_crm_names_are_mapped_and_canonical_names_win_over_aliases():
    mapping = map_header(Path("orders.csv"), ORDERS,
                         ["ID commande", "Client ID", "Date", "Montant", "Statut", "order_date", "Remarque"], {})
    assert mapping.positions == {"order_id": 0, "customer_id": 1, "ordered_at": 2, "amount": 3, "status": 4}
    assert mapping.unknown_columns == ["order_date", "Remarque"]


def test_two_columns_mapped_to_the_same_name_are_refused():
    with pytest.raises(ExtractFileError, match="appears twice"):
        map_header(Path("orders.csv"), ORDERS, ["order_id", "customer_id", "ordered_at", "amount", "Amount",
                                                 "status"], {})


def test_shop_status_words_are_read_as_the_three_and_a_mapping_adds_its_own():
    synonyms = tuple(sorted((SourceConfig(status_mapping={"on_hold": "cancelled"}).order_statuses()).items()))
    words = ["paid", "Fulfilled", "partially-refunded", "Partially refunded", "voided", "canceled", "wc-completed",
             "processing", "On hold", "REFUNDED", "wc-on-hold"]
    rows = check_rows(ORDERS, [order(status=w) for w in words], status_synonyms=synonyms)
    assert [r["status"] for r in rows] == ["completed", "completed", "completed", "completed", "cancelled",
                                           "cancelled", "completed", "completed", "cancelled", "refunded",
                                           "cancelled"], "a mapped word maps WooCommerce's wc- form too"
    assert all(r["_reject_reason"] is None for r in rows)


def test_a_negative_amount_on_a_paid_order_is_negative_on_a_completed_one():
    synonyms = tuple(sorted(SourceConfig().order_statuses().items()))
    row = check_rows(ORDERS, [order(amount="-5", status="paid")], status_synonyms=synonyms)[0]
    assert (row["_reject_reason"], row["_reject_column"]) == ("negative_amount", "amount")


@pytest.mark.parametrize(("raw", "expected"), [("17850.0", "17850"), ("17850.00", "17850"), ("17850", "17850"),
                                               ("1.5", "1.5"), ("C-17850.0", "C-17850.0"), ("0.0", "0")])
def test_customer_ids_written_as_floats_lose_their_point_zero(raw, expected):
    assert check_rows(ORDERS, [order(customer_id=raw)])[0]["customer_id"] == expected


def test_a_space_before_the_utc_offset_is_read_too():
    assert check_rows(ORDERS, [order(ordered_at="2025-10-07 09:50:26 +0200")])[0]["ordered_at"] == \
        datetime(2025, 10, 7, 7, 50, 26)


def test_order_lines_are_typed_exactly_and_may_leave_what_the_order_states_elsewhere_empty():
    rows = check_rows(ORDERS, [{"order_id": "O1", "customer_id": "", "ordered_at": "", "quantity": "2,5",
                                "unit_price": "0,001"},
                               {"order_id": "O1", "customer_id": "C1", "ordered_at": "2025-01-01",
                                "quantity": "", "unit_price": "1"}], decimal=",", line_level=True,
                      derived=("status",))
    assert (rows[0]["quantity"], rows[0]["unit_price"], rows[0]["_reject_reason"]) == \
        (Decimal("2.5000"), Decimal("0.001000"), None)
    assert (rows[1]["_reject_reason"], rows[1]["_reject_column"]) == ("missing_value", "quantity")


def test_an_explicit_mapping_wins_and_a_file_is_line_level_with_both_quantity_and_unit_price():
    mapping = map_header(Path("orders.csv"), ORDERS, ["Name", "customer_id", "Email", "Created at", "Lineitem quantity",
                                                      "Lineitem price", "Total", "Financial Status"],
                         {"Name": "order_id", "Email": "customer_id"})
    assert mapping.line_level
    assert mapping.positions == {"order_id": 0, "customer_id": 2, "ordered_at": 3, "quantity": 4,
                                 "unit_price": 5, "status": 7}
    assert mapping.unknown_columns == ["customer_id", "Total (amount is computed from the lines)"]
    with pytest.raises(ExtractFileError, match="or quantity and unit_price for a file with one row per order line"):
        map_header(Path("orders.csv"), ORDERS, ["order_id", "customer_id", "ordered_at", "quantity"], {})
    no_status = map_header(Path("orders.csv"), ORDERS, ["order_id", "customer_id", "ordered_at", "amount"], {})
    assert no_status.absent_derived(ORDERS) == ["status"] and not no_status.line_level
