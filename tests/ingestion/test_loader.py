"""Ingestion on real files: exact quarantine counts, the French dialect, Parquet, re-deliveries, idempotence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.ingestion.contracts import EXTRACTS
from pipelines.ingestion.errors import ExtractFileError
from pipelines.ingestion.loader import ingest_extract
from pipelines.ingestion.raw_layer import data_glob
from pipelines.sample_data import generate


def ingest_all(landing: Path, warehouse: Path) -> dict:
    raw, cache = warehouse / "raw", warehouse / "cache"
    results = {"customers": ingest_extract("customers", landing, raw, cache)}
    for name in ("orders", "survey_responses", "marketing_spend"):
        results[name] = ingest_extract(name, landing, raw, cache, customers_dir=raw / "customers")
    return results


@pytest.fixture(scope="module", params=["csv", "french", "parquet"])
def dirty_extracts(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"dirty-{request.param}")
    generate(root / "landing", customers=800, seed=5, fmt=request.param, dirty=True, progress=False)
    manifest = json.loads((root / "truth" / "dirty_manifest.json").read_text())
    return request.param, root, manifest, ingest_all(root / "landing", root / "warehouse")


def test_every_dirty_row_is_quarantined_with_its_reason_and_none_is_lost(dirty_extracts):
    _, root, manifest, results = dirty_extracts
    for name, result in results.items():
        expected = {reason: count for reason, count in manifest.get(name, {}).items() if count}
        assert result.quarantined_by_reason == expected, name
        for ledger in result.files:
            assert ledger["rows_read"] == ledger["rows_loaded"] + ledger["rows_quarantined"], ledger
    raw = root / "warehouse" / "raw"
    for name in EXTRACTS:
        loaded = duckdb.sql(f"select count(*) from '{data_glob(raw / name)}'").fetchall()[0][0]
        quarantined = duckdb.sql(f"select count(*) from '{raw / name / 'quarantine.parquet'}'").fetchall()[0][0]
        assert loaded + quarantined == results[name].rows_read


def test_quarantined_rows_name_file_row_column_and_keep_the_raw_values(dirty_extracts):
    fmt, root, _, _ = dirty_extracts
    rows = duckdb.sql(f"""
        select source_file, source_row, column_name, reason, detail, raw_record
        from '{root / "warehouse" / "raw" / "orders" / "quarantine.parquet"}' where reason = 'unknown_status'
    """).fetchall()
    assert rows
    for source_file, source_row, column, _, detail, raw_record in rows:
        assert source_file.startswith("orders_") and source_row >= 1 and column == "status"
        assert "is not one of completed, refunded, cancelled" in detail
        assert json.loads(raw_record)["order_id"].startswith("O-DIRTY")


@pytest.mark.parametrize("dirty_extracts", ["french"], indirect=True)
def test_french_exports_are_read_with_their_own_separator_decimal_comma_and_encoding(dirty_extracts):
    _, root, _, results = dirty_extracts
    dialect = json.loads(results["customers"].files[0]["dialect"])
    assert dialect["delimiter"] == ";" and dialect["decimal"] == "," and dialect["encoding"] in ("cp1252", "latin-1")
    names = duckdb.sql(f"select full_name from '{data_glob(root / 'warehouse/raw/customers')}'").fetchall()
    assert any(ch in name for (name,) in names if name for ch in "éèçàô"), "accents survive Latin-1"
    amounts = duckdb.sql(f"select max(amount) from '{data_glob(root / 'warehouse/raw/orders')}'").fetchall()[0][0]
    assert amounts > 100  # '1 234,50' read as 1234.50, not 1.2345 or an error


def test_the_same_content_delivered_twice_is_loaded_once(tmp_path):
    landing = tmp_path / "landing"
    generate(landing, customers=200, seed=3, progress=False)
    shutil.copy(landing / "customers.csv", landing / "customers_redelivered.csv")
    result = ingest_all(landing, tmp_path / "warehouse")["customers"]
    statuses = {f["source_file"]: (f["status"], f["duplicate_of"]) for f in result.files}
    assert statuses["customers_redelivered.csv"] == ("duplicate_file", "customers.csv")
    assert result.rows_loaded == 200 and result.rows_quarantined == 0


def test_orders_of_an_unknown_customer_wait_in_quarantine_until_the_customer_arrives(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "customers.csv").write_text("customer_id,signup_date\nC1,2024-01-01\n")
    (landing / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,amount,currency,status\n"
        "O1,C1,2024-01-02 10:00:00,10.00,EUR,completed\n"
        "O2,C2,2024-01-03 10:00:00,20.00,EUR,completed\n")
    first = ingest_all(landing, tmp_path / "warehouse")["orders"]
    assert (first.rows_loaded, first.quarantined_by_reason) == (1, {"unknown_customer": 1})
    (landing / "customers_2.csv").write_text("customer_id,signup_date\nC2,2024-01-03\n")
    second = ingest_all(landing, tmp_path / "warehouse")["orders"]
    assert (second.rows_loaded, second.rows_quarantined) == (2, 0)


def test_a_second_ingestion_of_unchanged_files_reuses_the_raw_version(tmp_path):
    landing = tmp_path / "landing"
    generate(landing, customers=200, seed=3, progress=False)
    first = ingest_all(landing, tmp_path / "warehouse")
    data_before = {n: parts_bytes(r.version_dir) for n, r in first.items()}
    second = ingest_all(landing, tmp_path / "warehouse")
    assert all(r.reused for r in second.values())
    assert {n: parts_bytes(r.version_dir) for n, r in second.items()} == data_before


def parts_bytes(version_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(version_dir)): p.read_bytes() for p in sorted(version_dir.glob("data/*/*.parquet"))}


@pytest.mark.parametrize(
    ("content", "message", "column"),
    [
        (b"", "file is empty", None),
        (b"order_id,customer_id,amount,currency,status\nO1,C1,1,EUR,completed\n", "required column missing",
         "ordered_at"),
        (b"customer_id,amount\nC1,1\n", "columns 'order_id', 'ordered_at': required columns missing", "order_id"),
        (b"order_id,customer_id,ordered_at,amount,amount,status\n", "column appears twice", "amount"),
        (b"foo;bar\n1;2\n", "header not recognised", None),
    ],
    ids=["empty", "missing-column", "missing-columns", "duplicated-column", "unrecognised-header"],
)
def test_file_level_problems_fail_with_a_message_naming_file_and_column(tmp_path, content, message, column):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "customers.csv").write_text("customer_id,signup_date\nC1,2024-01-01\n")
    (landing / "orders_bad.csv").write_bytes(content)
    with pytest.raises(ExtractFileError) as error:
        ingest_all(landing, tmp_path / "warehouse")
    assert "orders_bad.csv" in str(error.value) and message in str(error.value)
    assert error.value.column == column
