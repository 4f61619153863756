"""Compressed text extracts, gzipped (orders_2024.csv.gz) or in a zip archive of one file (orders.zip holding
orders_2024.csv): read as the file they hold, dirty rows and all; a damaged archive, or one that is not a
single text file, is named in the error with what to change; other compressed files are not taken for
extracts."""

from __future__ import annotations

import gzip
import json
import shutil
import zipfile
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


def zip_file(path: Path, archive_name: str | None = None) -> Path:
    """An archive holding path (named path.zip, or `archive_name`) in place of path, as a shop's admin or an
    e-mailed report delivers it."""
    target = path.with_name(archive_name or path.stem + ".zip")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(path, path.name)
    path.unlink()
    return target


def raw_rows(warehouse: Path, extract: str, names: dict[str, str] | None = None) -> tuple[list, list]:
    """The extract's loaded rows and its quarantine, without what names the file (.gz or not) or the load;
    `names` are the archives' names to read as the names of the files they hold, in the details."""
    raw = warehouse / "raw" / extract
    loaded = duckdb.sql(f"select * exclude (_source_file, _loaded_at) "
                        f"from read_parquet('{data_glob(raw)}', union_by_name=true) order by all").fetchall()
    quarantined = duckdb.sql(f"select source_row, reason, column_name, replace(detail, '.gz', ''), "
                             f"raw_record from '{raw / 'quarantine.parquet'}' order by all").fetchall()
    for archive, name in (names or {}).items():
        quarantined = [(*row[:3], row[3].replace(archive, name), row[4]) for row in quarantined]
    return loaded, sorted(quarantined)


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


def test_only_gzipped_text_files_and_zip_archives_are_extracts(tmp_path):
    names = ["orders_a.csv.gz", "orders_b.TSV.GZ", "orders_c.txt.gz", "orders_d.parquet.gz", "orders_e.gz",
             "orders_f.zip", "orders_g.csv", "orders_h.7z"]
    for name in names:
        (tmp_path / name).write_bytes(b"")

    assert [p.name for p in discover_files(tmp_path, EXTRACTS["orders"])] == [
        "orders_a.csv.gz", "orders_b.TSV.GZ", "orders_c.txt.gz", "orders_f.zip", "orders_g.csv"]
    assert [p.name for p in files_matching_no_extract(tmp_path)] == [
        "orders_d.parquet.gz", "orders_e.gz", "orders_h.7z"]


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


@pytest.mark.parametrize("archives", ["named like the extract", "named like none"])
def test_zipped_dirty_extracts_load_and_quarantine_exactly_what_the_files_themselves_do(tmp_path, archives):
    """orders_2024.zip holding orders_2024.csv, or download_03.zip holding it (a shop's admin names its
    downloads so): the archive's one file tells its extract. The archives sort as the files do, so the same
    duplicate wins."""
    plain = tmp_path / "plain"
    generate(plain / "landing", customers=300, seed=11, dirty=True, progress=False)
    zipped = tmp_path / "zipped"
    shutil.copytree(plain / "landing", zipped / "landing")
    files = sorted(p for p in (zipped / "landing").iterdir() if p.suffix in (".csv", ".txt", ".tsv"))
    names = {}
    for number, path in enumerate(files):
        download = None if archives == "named like the extract" else f"download_{number:02d}.zip"
        archive = zip_file(path, download)
        names[archive.name] = path.name

    expected, results = ingest_all(plain / "landing", plain / "warehouse"), ingest_all(
        zipped / "landing", zipped / "warehouse")

    assert len(files) >= 4
    for name in EXTRACTS:
        assert results[name].quarantined_by_reason == expected[name].quarantined_by_reason, name
        assert raw_rows(zipped / "warehouse", name, names) == raw_rows(plain / "warehouse", name), name
        assert len(results[name].files) == len(expected[name].files), name
        for ledger, plain_ledger in zip(results[name].files, expected[name].files):
            assert names[ledger["source_file"]] == plain_ledger["source_file"]
            assert ledger["checksum"] == plain_ledger["checksum"]
            zip_dialect = json.loads(plain_ledger["dialect"]) | {
                "compression": "zip", "archived_file": plain_ledger["source_file"]}
            assert json.loads(ledger["dialect"]) == zip_dialect
    quarantine = zipped / "warehouse" / "raw" / "orders" / "quarantine.parquet"
    quarantined_files = duckdb.sql(f"select distinct source_file from '{quarantine}'").fetchall()
    assert quarantined_files and {f for (f,) in quarantined_files} <= set(names), "rows are found by archive"


def test_a_zipped_uci_export_loads_the_same_orders_as_an_independent_computation(tmp_path):
    """Latin-1, month-first order lines in a zip: both CSV readers and the encoding's detection read the
    archived file."""
    landing = tmp_path / "landing"
    landing.mkdir()
    export = tmp_path / "online_retail.csv"
    write_uci_file(export)
    shutil.copy(export, landing / "orders_online_retail.csv")
    zip_file(landing / "orders_online_retail.csv", "Online Retail.zip")
    (landing / "retentio_sources.yml").write_text(MAPPING.replace("orders_online_retail.csv",
                                                                  "Online Retail.zip"))

    _, result = ingest_orders(landing, tmp_path / "warehouse")

    assert loaded_orders(tmp_path / "warehouse") == expected_rows(export, "cp1252")
    assert result.rows_read == result.rows_loaded + result.rows_quarantined


def test_a_zip_archive_belongs_to_the_extract_its_name_says_or_else_its_one_files(tmp_path):
    orders = b"order_id,customer_id,ordered_at,amount\nA1,C1,2025-03-14,12.50\n"
    archives = {"orders_march.zip": {"march.csv": orders},
                "Export 2025-03.zip": {"exports/survey_responses_march.csv": b"",
                                       "__MACOSX/exports/._survey_responses_march.csv": b""},
                "download.zip": {"orders_2025.csv": orders, "orders_2024.csv": orders},
                "damaged.zip": None}
    for name, files in archives.items():
        if files is None:
            (tmp_path / name).write_bytes(b"PK\x03\x04 cut short")
            continue
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            for member, content in files.items():
                archive.writestr(member, content)

    assert [p.name for p in discover_files(tmp_path, EXTRACTS["orders"])] == ["orders_march.zip"]
    assert [p.name for p in discover_files(tmp_path, EXTRACTS["survey_responses"])] == ["Export 2025-03.zip"]
    assert [p.name for p in files_matching_no_extract(tmp_path)] == ["damaged.zip", "download.zip"]
    report, _ = preview(tmp_path, currency="EUR")
    assert ("download.zip: matches no extract\n  to change: the zip archive holds 2 files (orders_2025.csv, "
            "orders_2024.csv): deliver one file per archive, or extract them into the landing directory"
            ) in report


def _archive(path: Path, files: dict[str, bytes], encrypted: bool = False) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    if encrypted:
        # Python writes no encrypted archive: set the flag a password-protected file carries, in the file's
        # local header and the archive's directory (the content itself is never reached).
        data = bytearray(path.read_bytes())
        for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = data.find(signature) + flag_offset
            data[at] |= 0x1
        path.write_bytes(bytes(data))


ORDERS_CSV = b"order_id,customer_id,ordered_at,amount\n" + b"".join(
    b"A%d,C1,2025-03-14,%d.50\n" % (i, i) for i in range(2000))


@pytest.mark.parametrize(("delivery", "problem"), [
    ("several files", "the zip archive holds 3 files (orders_jan.csv, orders_feb.csv, orders_mar.csv): "
                      "deliver one file per archive, or extract them into the landing directory"),
    ("no file", "the zip archive holds no file"),
    ("a workbook", "the zip archive holds orders.xlsx, not a text file (.csv, .txt, .tsv): extract it into "
                   "the landing directory"),
    ("a password", "orders.csv in the zip archive is password-protected: deliver the archive without a "
                   "password"),
    ("cut short", "is not a readable zip archive"),
    ("damaged bytes", "is not a readable zip archive"),
])
def test_a_zip_archive_that_is_not_one_readable_text_file_is_named_with_what_to_change(
        tmp_path, delivery, problem):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "customers.csv").write_text("customer_id,signup_date\nC1,2024-01-01\n")
    archive = landing / "orders_2025.zip"
    if delivery == "several files":
        _archive(archive, {f"orders_{month}.csv": ORDERS_CSV for month in ("jan", "feb", "mar")})
    elif delivery == "no file":
        _archive(archive, {"exports/": b""})
    elif delivery == "a workbook":
        _archive(archive, {"orders.xlsx": b"PK not really a workbook"})
    elif delivery == "a password":
        _archive(archive, {"orders.csv": ORDERS_CSV}, encrypted=True)
    else:
        _archive(archive, {"orders.csv": ORDERS_CSV})
        whole = archive.read_bytes()
        if delivery == "cut short":
            archive.write_bytes(whole[: len(whole) // 2])
        else:  # a byte of the compressed data changed in transit: the archive's directory is intact
            damaged = bytearray(whole)
            damaged[200] ^= 0xFF
            archive.write_bytes(bytes(damaged))

    with pytest.raises(ExtractFileError) as failure:
        ingest_orders(landing, tmp_path / "warehouse", currency="EUR")
    assert problem in str(failure.value) and "file orders_2025.zip" in str(failure.value)
    report, ok = preview(landing, currency="EUR")
    assert not ok and problem in report


def test_a_changed_archive_is_read_again_and_the_same_content_zipped_and_plain_is_loaded_once(tmp_path):
    landing = tmp_path / "landing"
    generate(landing, customers=50, seed=3, progress=False)
    _archive(landing / "customers_crm.zip", {"customers.csv": (landing / "customers.csv").read_bytes()})
    orders = landing / "orders_2026.zip"
    content = ORDERS_CSV.replace(b"C1,", b"C-0000001,")
    _archive(orders, {"orders_2026.csv": content})

    first = ingest_all(landing, tmp_path / "warehouse")
    _archive(orders, {"orders_2026.csv": content + b"B1,C-0000001,2025-03-15,1\n"})
    second = ingest_all(landing, tmp_path / "warehouse")

    statuses = {f["source_file"]: (f["status"], f["duplicate_of"]) for f in first["customers"].files}
    assert statuses["customers_crm.zip"] == ("duplicate_file", "customers.csv")
    loaded = [{f["source_file"]: f["rows_loaded"] for f in run["orders"].files} for run in (first, second)]
    assert loaded[0]["orders_2026.zip"] == 2000 and loaded[1]["orders_2026.zip"] == 2001


def test_check_extracts_names_the_file_a_zip_archive_holds(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    orders = "order_id;customer_id;ordered_at;amount\nA1;C1;14/03/2025;12,50\nA2;C2;15/03/2025;8,00\n"
    _archive(landing / "Shopify export.zip", {"orders_export_1.csv": orders.encode()})

    report, _ = preview(landing, currency="EUR")

    section = next(block for block in report.split("\n\n") if block.startswith("Shopify export.zip:"))
    assert "recognised as: orders" in section
    assert ("dialect: separator ';', encoding utf-8, decimal mark ',', zip archive of orders_export_1.csv"
            in section)
    assert "rows: 2 read, 2 would load" in section
