"""Gzipped text extracts (orders_2024.csv.gz): read as the file they hold, dirty rows and all; a damaged
archive is named in the error; other compressed files are not taken for extracts."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.ingestion.contracts import EXTRACTS
from pipelines.ingestion.errors import ExtractFileError
from pipelines.ingestion.landing import discover_files, files_matching_no_extract
from pipelines.ingestion.preview import preview
from pipelines.ingestion.raw_layer import data_glob
from pipelines.sample_data import generate
from tests.ingestion.test_loader import ingest_all
from tests.ingestion.test_order_lines import expected_rows, ingest_orders, loaded_orders
from tests.ingestion.uci_online_retail import MAPPING, write_uci_file


def gzip_file(path: Path) -> Path:
    """path.gz in place of path, as an export tool delivers it."""
    target = path.with_name(path.name + ".gz")
    target.write_bytes(gzip.compress(path.read_bytes()))
    path.unlink()
    return target


def raw_rows(warehouse: Path, extract: str) -> tuple[list, list]:
    """The extract's loaded rows and its quarantine, without what names the file (.gz or not) or the load."""
    raw = warehouse / "raw" / extract
    loaded = duckdb.sql(f"select * exclude (_source_file, _loaded_at) "
                        f"from read_parquet('{data_glob(raw)}', union_by_name=true) order by all").fetchall()
    quarantined = duckdb.sql(f"select source_row, reason, column_name, replace(detail, '.gz', ''), "
                             f"raw_record from '{raw / 'quarantine.parquet'}' order by all").fetchall()
    return loaded, quarantined


@pytest.mark.parametrize("fmt", ["csv", "french"])
def test_gzipped_dirty_extracts_load_and_quarantine_exactly_what_the_files_themselves_do(tmp_path, fmt):
    plain = tmp_path / "plain"
    generate(plain / "landing", customers=300, seed=11, fmt=fmt, dirty=True, progress=False)
    compressed = tmp_path / "compressed"
    shutil.copytree(plain / "landing", compressed / "landing")
    files = [p for p in (compressed / "landing").iterdir() if p.suffix in (".csv", ".txt", ".tsv")]
    for path in files:
        gzip_file(path)

    expected, results = ingest_all(plain / "landing", plain / "warehouse"), ingest_all(
        compressed / "landing", compressed / "warehouse")

    assert len(files) >= 4
    for name in EXTRACTS:
        assert results[name].quarantined_by_reason == expected[name].quarantined_by_reason, name
        assert raw_rows(compressed / "warehouse", name) == raw_rows(plain / "warehouse", name), name
        for ledger, plain_ledger in zip(results[name].files, expected[name].files):
            assert ledger["source_file"] == plain_ledger["source_file"] + ".gz"
            assert ledger["checksum"] == plain_ledger["checksum"]
            gzip_dialect = json.loads(plain_ledger["dialect"]) | {"compression": "gzip"}
            assert json.loads(ledger["dialect"]) == gzip_dialect


def test_a_gzipped_uci_export_loads_the_same_orders_as_an_independent_computation(tmp_path):
    """A Latin-1 file of order lines, month-first dates and a column mapping: every reader of the bytes
    (dialect, encoding, both CSV readers) sees the content."""
    landing = tmp_path / "landing"
    landing.mkdir()
    export = tmp_path / "online_retail.csv"
    write_uci_file(export)
    shutil.copy(export, landing / "orders_online_retail.csv")
    gzip_file(landing / "orders_online_retail.csv")
    (landing / "retentio_sources.yml").write_text(MAPPING)

    _, result = ingest_orders(landing, tmp_path / "warehouse")

    assert loaded_orders(tmp_path / "warehouse") == expected_rows(export, "cp1252")
    assert result.rows_read == result.rows_loaded + result.rows_quarantined


def test_the_same_content_delivered_plain_and_gzipped_is_loaded_once(tmp_path):
    landing = tmp_path / "landing"
    generate(landing, customers=50, seed=3, progress=False)
    (landing / "customers_again.csv.gz").write_bytes(gzip.compress((landing / "customers.csv").read_bytes()))

    result = ingest_all(landing, tmp_path / "warehouse")["customers"]

    statuses = {f["source_file"]: (f["status"], f["duplicate_of"]) for f in result.files}
    assert statuses["customers_again.csv.gz"] == ("duplicate_file", "customers.csv")
    assert result.rows_loaded == 50


@pytest.mark.parametrize(("content", "problem"), [
    ("cut short", "ends before its end"),
    ("not gzip", "is not a readable gzip file"),
])
def test_a_damaged_gzip_file_is_named_in_the_error_with_what_to_do(tmp_path, content, problem):
    landing = tmp_path / "landing"
    generate(landing, customers=50, seed=3, progress=False)
    orders = sorted(landing.glob("orders*.csv"))[0]
    compressed = gzip.compress(orders.read_bytes())
    for path in landing.glob("orders*.csv"):
        path.unlink()
    damaged = landing / "orders_2025.csv.gz"
    damaged.write_bytes(compressed[: len(compressed) // 2] if content == "cut short"
                        else b"order_id,amount\n1,2\n")

    with pytest.raises(ExtractFileError, match=problem) as failure:
        ingest_orders(landing, tmp_path / "warehouse")
    assert "orders_2025.csv.gz" in str(failure.value)


def test_only_gzipped_text_files_are_extracts(tmp_path):
    names = ["orders_a.csv.gz", "orders_b.TSV.GZ", "orders_c.txt.gz", "orders_d.parquet.gz", "orders_e.gz",
             "orders_f.zip", "orders_g.csv"]
    for name in names:
        (tmp_path / name).write_bytes(b"")

    assert [p.name for p in discover_files(tmp_path, EXTRACTS["orders"])] == [
        "orders_a.csv.gz", "orders_b.TSV.GZ", "orders_c.txt.gz", "orders_g.csv"]
    assert [p.name for p in files_matching_no_extract(tmp_path)] == [
        "orders_d.parquet.gz", "orders_e.gz", "orders_f.zip"]


def test_check_extracts_says_a_file_is_gzipped_and_names_one_to_rename(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    orders = "order_id;customer_id;ordered_at;amount\nA1;C1;14/03/2025;12,50\nA2;C2;15/03/2025;8,00\n"
    (landing / "orders_2025.csv.gz").write_bytes(gzip.compress(orders.encode()))
    (landing / "sales.csv.gz").write_bytes(gzip.compress(orders.encode()))

    report, _ = preview(landing, currency="EUR")

    sections = {block.split(":", 1)[0].strip(): block for block in report.split("\n\n")}
    orders_2025 = sections["orders_2025.csv.gz"]
    assert "dialect: separator ';', encoding utf-8, decimal mark ',', gzip-compressed" in orders_2025
    assert "rows: 2 read, 2 would load" in orders_2025
    assert "rename it orders_sales.csv.gz (its columns are the orders extract's)" in sections["sales.csv.gz"]
