"""Order lines rolled up into orders, on a UCI Online Retail-shaped file, against an independent pandas
computation; and the rules of the roll-up that only several runs or files can show."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.ingestion.loader import ingest_extract
from pipelines.ingestion.raw_layer import VersionState, data_glob
from tests.catalogue.harness import assert_every_row_accounted_for
from tests.ingestion.uci_online_retail import MAPPING, expected_orders, write_uci_file


def ingest_orders(landing: Path, warehouse: Path, currency: str | None = "GBP"):
    raw, cache = warehouse / "raw", warehouse / "cache"
    customers = ingest_extract("customers", landing, raw, cache)
    return customers, ingest_extract("orders", landing, raw, cache, currency=currency,
                                     customers_dir=raw / "customers")


def loaded_orders(warehouse: Path) -> list[tuple]:
    return duckdb.sql(f"""
        select order_id, customer_id, ordered_at, amount, status, country, _line_count, _source_row
        from read_parquet('{data_glob(warehouse / 'raw' / 'orders')}') order by order_id""").fetchall()


def expected_rows(path: Path, encoding: str) -> list[tuple]:
    orders = expected_orders(path, encoding).sort_values("order_id")
    return [(o.order_id, o.customer_id, o.ordered_at.to_pydatetime(), o.amount, o.status, o.country, o.line_count,
             o.first_row) for o in orders.itertuples()]


@pytest.fixture(scope="module")
def uci(tmp_path_factory):
    """The month-first, Latin-1 copy, with the mapping a user types and RETENTIO_CURRENCY=GBP."""
    root = tmp_path_factory.mktemp("uci")
    landing = root / "landing"
    landing.mkdir()
    lines = write_uci_file(landing / "orders_online_retail.csv")
    (landing / "retentio_sources.yml").write_text(MAPPING)
    customers, orders = ingest_orders(landing, root / "warehouse")
    return landing, root / "warehouse", lines, customers, orders


def test_the_uci_file_loads_as_delivered_and_equals_an_independent_computation(uci):
    landing, warehouse, lines, _, result = uci
    expected = expected_rows(landing / "orders_online_retail.csv", "cp1252")

    assert loaded_orders(warehouse) == expected
    assert len(expected) > 900 and any(row[4] == "refunded" for row in expected)
    assert any(row[0].startswith("C") and row[3] < 0 for row in expected), "credit notes load, as refunds"
    assert all(not row[1].endswith(".0") for row in expected), "17850.0 is read as 17850"


def test_every_line_is_loaded_or_quarantined_and_the_quarantine_keeps_lines(uci):
    landing, warehouse, lines, _, result = uci
    counts = assert_every_row_accounted_for(warehouse / "raw" / "orders")
    (ledger,) = counts.ledger.values()
    assert ledger["rows_read"] == result.rows_read == lines
    quarantine = duckdb.sql(f"""
        select source_row, reason, column_name, json_extract_string(raw_record, '$.order_id') as invoice
        from '{warehouse / "raw" / "orders" / "quarantine.parquet"}' order by source_row""").fetchall()
    without_customer = [row for row, record in enumerate(
        (landing / "orders_online_retail.csv").read_text(encoding="cp1252").splitlines()[1:], start=1)
        if record.split(",")[6] == ""]
    assert [row for row, *_ in quarantine] == without_customer, "one quarantined row per line, with its own number"
    assert {(reason, column) for _, reason, column, _ in quarantine} == {("missing_value", "customer_id")}
    assert {"A563185", "A563186", "A563187"} <= {invoice for *_, invoice in quarantine}
    assert result.rows_loaded + result.rows_quarantined == lines


def test_month_first_dates_are_told_by_the_whole_column_not_the_first_rows(uci):
    landing, warehouse, _, _, result = uci
    dialect = json.loads(result.files[0]["dialect"])
    assert (dialect["encoding"], dialect["date_order"]) == ("cp1252", "mdy")
    first_rows = (landing / "orders_online_retail.csv").read_text(encoding="cp1252").splitlines()[1:2001]
    assert all(int(line.split(",")[4].split("/")[1]) <= 12 for line in first_rows), "the first rows cannot tell"
    state = VersionState.read(result.version_dir)
    meta = json.loads((warehouse / "cache" / "orders" / state.files[0].parse / "meta.json").read_text())
    assert "can only be read month first" in meta["date_order_basis"]


def test_the_mapping_is_optional_the_headers_are_known_aliases(uci, tmp_path):
    landing, warehouse, *_ = uci
    bare = tmp_path / "landing"
    bare.mkdir()
    (bare / "orders_online_retail.csv").write_bytes((landing / "orders_online_retail.csv").read_bytes())
    ingest_orders(bare, tmp_path / "warehouse")
    assert loaded_orders(tmp_path / "warehouse") == loaded_orders(warehouse)


def test_the_copy_with_iso_dates_in_utf8_gives_the_same_orders(uci, tmp_path):
    _, warehouse, *_ = uci
    landing = tmp_path / "landing"
    landing.mkdir()
    write_uci_file(landing / "orders_online_retail.csv", iso_dates=True, encoding="utf-8")
    (landing / "retentio_sources.yml").write_text(MAPPING)
    ingest_orders(landing, tmp_path / "warehouse")
    assert loaded_orders(tmp_path / "warehouse") == loaded_orders(warehouse)


def test_no_customers_extract_loads_every_invoice_of_a_named_customer(uci):
    _, _, _, customers, result = uci
    assert customers.warnings == [
        "no customers*.csv: customers are derived from the orders (signup = first order day, country from the "
        "orders, channel unknown, no consent)"]
    assert set(result.quarantined_by_reason) == {"missing_value"}


def test_amounts_are_exact_sums_rounded_once_half_away_from_zero(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "orders_lines.csv").write_text(
        "order_id,customer_id,ordered_at,quantity,unit_price\n"
        + "O1,C1,2024-01-02,1,0.001\n" * 5       # 0.005: a half penny, up
        + "O2,C1,2024-01-02,-1,0.001\n" * 5      # -0.005: down, away from zero
        + "O3,C1,2024-01-02,3,0.333333\nO3,C1,2024-01-02,1,0.000001\n"   # 1.000000 exactly, not 0.99
        + "O4,C1,2024-01-02,2.5,1.10\n")                                 # fractional quantities (kg)
    ingest_orders(landing, tmp_path / "warehouse", currency=None)
    amounts = {row[0]: (row[3], row[4]) for row in loaded_orders(tmp_path / "warehouse")}
    assert amounts == {"O1": (Decimal("0.01"), "completed"), "O2": (Decimal("-0.01"), "refunded"),
                       "O3": (Decimal("1.00"), "completed"), "O4": (Decimal("2.75"), "completed")}


def test_lines_waiting_for_their_customer_load_with_a_later_crm_file_as_a_full_rebuild_would(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "customers.csv").write_text("customer_id,signup_date\nC1,2024-01-01\n")
    (landing / "orders_a.csv").write_text(
        "order_id,customer_id,ordered_at,quantity,unit_price\n"
        "O1,C1,2024-01-02,1,5\nO2,C9,2024-01-02,2,5\nO2,C9,2024-01-02,1,1\nO3,C1,2024-01-03,1,2\n")
    _, first = ingest_orders(landing, warehouse)
    assert (first.rows_loaded, first.quarantined_by_reason) == (2, {"unknown_customer": 2})

    (landing / "customers_b.csv").write_text("customer_id,signup_date\nC9,2024-01-02\n")
    (landing / "orders_b.csv").write_text("order_id,customer_id,ordered_at,quantity,unit_price\nO4,C9,2024-01-05,1,3\n")
    _, second = ingest_orders(landing, warehouse)

    assert second.appended and (second.rows_loaded, second.rows_quarantined) == (5, 0)
    assert_every_row_accounted_for(warehouse / "raw" / "orders")
    ingest_orders(landing, tmp_path / "fresh")
    assert loaded_orders(warehouse) == loaded_orders(tmp_path / "fresh")
    waited = next(row for row in loaded_orders(warehouse) if row[0] == "O2")
    assert (waited[1], waited[3], waited[6]) == ("C9", Decimal("11.00"), 2)


def test_an_order_level_file_pays_nothing_for_lines(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "orders.csv").write_text("order_id,customer_id,ordered_at,amount,status\nO1,C1,2024-01-02,5,paid\n")
    _, result = ingest_orders(landing, tmp_path / "warehouse")
    parse = next((tmp_path / "warehouse" / "cache" / "orders").iterdir())
    assert not (parse / "lines.parquet").exists()
    assert loaded_orders(tmp_path / "warehouse")[0][3:7] == (Decimal("5.00"), "completed", None, 1)
