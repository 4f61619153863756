"""Day or month first across the files of one extract: a file whose own dates never tell is read in the
order the extract's other files prove, whatever the order of the files and whichever was parsed before."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from pipelines.ingestion import parsing
from pipelines.ingestion.loader import ingest_extract
from pipelines.ingestion.raw_layer import VersionState, data_glob

# A US shop's weekly drops, month first: 1-7 March never has a day above 12, 8-14 March holds 03/13.
FIRST_WEEK, SECOND_WEEK = dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 8)


def write_week(path: Path, start: dt.datetime, first_id: int, layout: str = "%m/%d/%Y %H:%M") -> None:
    """Three orders a day for seven days from `start`, dated in `layout`."""
    rows = ["order_id,customer_id,ordered_at,amount,currency,status"]
    for i in range(21):
        ordered_at = start + dt.timedelta(days=i // 3, hours=9 + i % 3)
        rows.append(f"{first_id + i},U{i % 10},{ordered_at:{layout}},{20 + i}.00,USD,completed")
    path.write_text("\n".join(rows) + "\n")


def ingest_orders(landing: Path, warehouse: Path):
    raw, cache = warehouse / "raw", warehouse / "cache"
    ingest_extract("customers", landing, raw, cache)
    return ingest_extract("orders", landing, raw, cache, currency="USD", customers_dir=raw / "customers")


def order_days(warehouse: Path, source_file: str) -> list[dt.date]:
    rows = duckdb.sql(f"""
        select distinct cast(ordered_at as date)
        from read_parquet('{data_glob(warehouse / 'raw' / 'orders')}')
        where _source_file = '{source_file}' order by 1""").fetchall()
    return [day for (day,) in rows]


def march(first: int, last: int) -> list[dt.date]:
    return [dt.date(2024, 3, day) for day in range(first, last + 1)]


def date_order_of(result, source_file: str) -> str:
    ledger = next(f for f in result.files if f["source_file"] == source_file)
    return json.loads(ledger["dialect"])["date_order"]


def basis_of(warehouse: Path, result, source_file: str) -> str:
    """The date_order_basis the preview shows, from the parse the raw layer was built from."""
    entry = next(e for e in VersionState.read(result.version_dir).files if e.source_file == source_file)
    meta = json.loads((warehouse / "cache" / "orders" / entry.parse / "meta.json").read_text())
    return meta["date_order_basis"]


@pytest.fixture
def landing(tmp_path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.mark.parametrize("undecided, proving", [
    ("orders_2024_w09.csv", "orders_2024_w10.csv"),     # the file whose dates do not tell sorts first
    ("orders_2024_w10_b.csv", "orders_2024_w10_a.csv"),  # ... and last
], ids=["undecided-first", "undecided-last"])
def test_a_week_whose_dates_never_tell_is_read_month_first_like_the_week_that_does(
        landing, tmp_path, undecided, proving):
    write_week(landing / undecided, FIRST_WEEK, 100)
    write_week(landing / proving, SECOND_WEEK, 200)

    result = ingest_orders(landing, tmp_path / "warehouse")

    assert result.rows_loaded == 42 and result.rows_quarantined == 0
    assert order_days(tmp_path / "warehouse", undecided) == march(1, 7)
    assert order_days(tmp_path / "warehouse", proving) == march(8, 14)
    assert date_order_of(result, undecided) == date_order_of(result, proving) == "mdy"
    said = (f"{undecided}: no date of this file tells day from month (e.g. '03/01/2024 09:00'); read month "
            f"first like {proving}, whose date '03/13/2024 09:00' can only be read month first")
    assert said in result.warnings
    assert not any("read day first" in warning for warning in result.warnings)
    assert basis_of(tmp_path / "warehouse", result, undecided) == said.split(": ", 1)[1]


def test_a_new_undecided_week_follows_the_cached_week_that_told(landing, tmp_path):
    warehouse = tmp_path / "warehouse"
    write_week(landing / "orders_2024_w10.csv", SECOND_WEEK, 200)
    ingest_orders(landing, warehouse)
    write_week(landing / "orders_2024_w09.csv", FIRST_WEEK, 100)

    result = ingest_orders(landing, warehouse)

    assert order_days(warehouse, "orders_2024_w09.csv") == march(1, 7)
    assert date_order_of(result, "orders_2024_w09.csv") == "mdy"


def test_a_cached_undecided_week_is_read_again_when_a_later_week_tells_and_again_when_it_goes(
        landing, tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse"
    write_week(landing / "orders_2024_w09.csv", FIRST_WEEK, 100)
    alone = ingest_orders(landing, warehouse)
    assert order_days(warehouse, "orders_2024_w09.csv")[0] == dt.date(2024, 1, 3), "alone, read day first"
    assert any("read day first; if that is wrong" in warning for warning in alone.warnings)

    write_week(landing / "orders_2024_w10.csv", SECOND_WEEK, 200)
    told = ingest_orders(landing, warehouse)
    assert order_days(warehouse, "orders_2024_w09.csv") == march(1, 7)
    parses, parse_file = [], parsing._parse_file

    def counting_parse_file(opened, *args, **kwargs):
        parses.append(opened.path.name)
        return parse_file(opened, *args, **kwargs)

    monkeypatch.setattr(parsing, "_parse_file", counting_parse_file)
    assert ingest_orders(landing, warehouse).reused
    assert parses == [], "the next run finds w09's month-first parse without reading it day first again"
    monkeypatch.undo()

    (landing / "orders_2024_w10.csv").unlink()
    alone_again = ingest_orders(landing, warehouse)
    assert told.version_dir != alone_again.version_dir
    assert order_days(warehouse, "orders_2024_w09.csv")[0] == dt.date(2024, 1, 3)
    assert date_order_of(alone_again, "orders_2024_w09.csv") == "dmy"


def test_when_the_weeks_that_tell_disagree_the_undecided_one_is_read_day_first_with_a_warning(
        landing, tmp_path):
    write_week(landing / "orders_eu.csv", SECOND_WEEK, 200, layout="%d/%m/%Y %H:%M")
    write_week(landing / "orders_us.csv", SECOND_WEEK, 300)
    write_week(landing / "orders_undecided.csv", FIRST_WEEK, 100)

    result = ingest_orders(landing, tmp_path / "warehouse")

    assert order_days(tmp_path / "warehouse", "orders_undecided.csv")[0] == dt.date(2024, 1, 3)
    assert date_order_of(result, "orders_undecided.csv") == "dmy"
    assert ("orders_undecided.csv: no date tells day from month (e.g. '03/01/2024 09:00'): read day first, "
            "since the extract's other files disagree: orders_eu.csv can only be read day first "
            "('13/03/2024 09:00'), orders_us.csv only month first ('03/13/2024 09:00'); if that is wrong, "
            "set date_order in retentio_sources.yml") in result.warnings
    assert order_days(tmp_path / "warehouse", "orders_eu.csv") == march(8, 14)
    assert order_days(tmp_path / "warehouse", "orders_us.csv") == march(8, 14)


def test_a_date_order_set_in_retentio_sources_yml_wins_over_the_other_files(landing, tmp_path):
    write_week(landing / "orders_2024_w09.csv", FIRST_WEEK, 100)
    write_week(landing / "orders_2024_w10.csv", SECOND_WEEK, 200)
    (landing / "retentio_sources.yml").write_text(
        "files:\n  - match: 'orders_2024_w09.csv'\n    date_order: dmy\n")

    result = ingest_orders(landing, tmp_path / "warehouse")

    assert order_days(tmp_path / "warehouse", "orders_2024_w09.csv")[0] == dt.date(2024, 1, 3)
    assert (date_order_of(result, "orders_2024_w09.csv"), date_order_of(result, "orders_2024_w10.csv")) == \
        ("dmy", "mdy")
    assert not any(warning.startswith("orders_2024_w09.csv") for warning in result.warnings)
