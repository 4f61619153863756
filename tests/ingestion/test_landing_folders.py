"""Extracts in folders of the landing directory, as a bucket sync or a partitioned export lays them out: which
extract a file belongs to, its landing name (path under the landing directory) in the ledger, the
quarantine, the messages and retentio_sources.yml, and a file moved into a folder loaded once."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, build_sensor_context

from pipelines.ingestion.contracts import EXTRACTS
from pipelines.ingestion.errors import ExtractFileError
from pipelines.ingestion.landing import discover_files, files_matching_no_extract, landing_name
from pipelines.ingestion.loader import ingest_extract
from pipelines.ingestion.preview import preview
from pipelines.sample_data import generate
from pipelines.sensors import SETTLE_SECONDS, new_extract_sensor
from pipelines.shared import RetentioSettings
from tests.catalogue.harness import query
from tests.conftest import Workspace, environment
from tests.ingestion.test_loader import ingest_all

HEADER = "order_id,customer_id,ordered_at,amount\n"
ONE_CAMPAIGN_DAY = "Campaign name,Amount spent (EUR)\nSpring,10.00\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def names(paths: list[Path], landing: Path) -> list[str]:
    return [landing_name(p, landing) for p in paths]


def ingest_orders(landing: Path, raw: Path, cache: Path):
    """The orders, after the customers (none here: the orders' own customers stand in)."""
    ingest_extract("customers", landing, raw, cache)
    return ingest_extract("orders", landing, raw, cache, currency="EUR", customers_dir=raw / "customers")


def ledger(raw: Path, extract: str) -> list[tuple]:
    return query(raw / extract,
                 "select source_file, status, rows_loaded, rows_quarantined from ledger order by 1")


def test_a_file_belongs_to_the_extract_its_own_name_tells_else_its_nearest_folder_s(tmp_path):
    for name in ("orders_2023.csv", "orders/2024-01.csv", "orders/dt=2024-02-01/part-0.parquet",
                 "shop/orders/2024-03.csv", "customers/export.csv", "customers/orders_late.csv",
                 "exports/survey_responses_q1.csv", "exports/notes.csv", "orders/readme.pdf",
                 ".sync/orders_partial.csv", "orders/.orders_2024-04.csv.part", "erasure_requests_june.csv",
                 "orders/erasure_requests_july.csv"):
        write(tmp_path / name, "")
    (tmp_path / "empty").mkdir()

    assert names(discover_files(tmp_path, EXTRACTS["orders"]), tmp_path) == [
        "customers/orders_late.csv",  # its own name says orders, whatever its folder
        "orders/2024-01.csv", "orders/dt=2024-02-01/part-0.parquet", "orders_2023.csv",
        "shop/orders/2024-03.csv"]
    assert names(discover_files(tmp_path, EXTRACTS["customers"]), tmp_path) == ["customers/export.csv"]
    assert names(discover_files(tmp_path, EXTRACTS["survey_responses"]), tmp_path) == [
        "exports/survey_responses_q1.csv"]
    # Hidden files and folders (a sync tool's state, a file being copied) are nobody's; control files neither,
    # but one in a folder is not acted on: it is named, as a file matching no extract is.
    assert names(files_matching_no_extract(tmp_path), tmp_path) == [
        "exports/notes.csv", "orders/erasure_requests_july.csv", "orders/readme.pdf"]


def test_a_linked_folder_is_read_in_place_and_a_loop_of_links_once(tmp_path):
    bucket, landing = tmp_path / "bucket", tmp_path / "landing"
    write(bucket / "orders" / "2024-01.csv", "")
    landing.mkdir()
    (landing / "orders").symlink_to(bucket / "orders", target_is_directory=True)
    (bucket / "orders" / "again").symlink_to(landing, target_is_directory=True)

    assert names(discover_files(landing, EXTRACTS["orders"]), landing) == ["orders/2024-01.csv"]


def test_files_of_one_name_in_two_folders_are_two_files_named_by_their_path(tmp_path):
    """Each month's part-0.csv: both load, the quarantine and the duplicate's message say which one."""
    landing, raw, cache = tmp_path / "landing", tmp_path / "raw", tmp_path / "cache"
    january, february = landing / "orders" / "2024-01", landing / "orders" / "2024-02"
    write(january / "part-0.csv", HEADER + "A1,C1,2024-01-05,10\nA2,C2,2024-01-07,oops\n")
    write(february / "part-0.csv", HEADER + "A3,C1,2024-02-05,12\nA1,C1,2024-01-05,10\n")

    result = ingest_orders(landing, raw, cache)

    assert ledger(raw, "orders") == [("orders/2024-01/part-0.csv", "loaded", 1, 1),
                                     ("orders/2024-02/part-0.csv", "loaded", 1, 1)]
    assert query(raw / "orders", "select _source_file, order_id from data order by 2") == [
        ("orders/2024-01/part-0.csv", "A1"), ("orders/2024-02/part-0.csv", "A3")]
    quarantined = query(raw / "orders",
                        "select source_file, source_row, reason, detail from quarantine order by 1")
    assert [row[:3] for row in quarantined] == [("orders/2024-01/part-0.csv", 2, "invalid_number"),
                                               ("orders/2024-02/part-0.csv", 2, "duplicate_row")]
    assert "row 1 of orders/2024-01/part-0.csv" in quarantined[1][3]
    assert any(w.startswith("orders/2024-02/part-0.csv: no status column") for w in result.warnings)


def test_a_file_moved_into_a_folder_is_loaded_once_under_its_new_name(tmp_path):
    landing, raw, cache = tmp_path / "landing", tmp_path / "raw", tmp_path / "cache"
    flat = write(landing / "orders_2024.csv", HEADER + "A1,C1,2024-01-05,10\nA2,C2,2024-01-07,12\n")
    ingest_orders(landing, raw, cache)

    (landing / "orders").mkdir()
    flat.rename(landing / "orders" / "2024.csv")
    ingest_orders(landing, raw, cache)

    assert ledger(raw, "orders") == [("orders/2024.csv", "loaded", 2, 0)]
    assert query(raw / "orders", "select count(*) from data") == [(2,)]


def test_an_unreadable_file_in_a_folder_is_named_by_its_path(tmp_path):
    landing = tmp_path / "landing"
    write(landing / "orders" / "2024-01" / "part-0.csv", "order_id,ordered_at,amount\nA1,2024-01-05,10\n")

    with pytest.raises(ExtractFileError, match=r"^file orders/2024-01/part-0.csv, column 'customer_id': "
                                               r"required column missing"):
        ingest_orders(landing, tmp_path / "raw", tmp_path / "cache")


def test_a_sources_rule_matches_a_file_s_landing_name_or_its_own_name(tmp_path):
    landing, raw, cache = tmp_path / "landing", tmp_path / "raw", tmp_path / "cache"
    write(landing / "legacy" / "orders" / "2019.csv", "Bon,Client,Date,Total TTC\nL1,C1,2019-03-01,10\n")
    write(landing / "orders" / "orders_old_2020.csv", "Bon,Client,Date,Montant\nL2,C1,2020-03-01,11\n")
    write(landing / "retentio_sources.yml",
          'files:\n'
          '  - match: "legacy/*"\n'
          '    columns: {Bon: order_id, Client: customer_id, Date: ordered_at, "Total TTC": amount}\n'
          '  - match: "orders_old_*.csv"\n'
          '    columns: {Bon: order_id, Client: customer_id, Date: ordered_at, Montant: amount}\n')

    ingest_orders(landing, raw, cache)

    assert ledger(raw, "orders") == [("legacy/orders/2019.csv", "loaded", 1, 0),
                                     ("orders/orders_old_2020.csv", "loaded", 1, 0)]


def test_a_partitioned_parquet_export_is_read_and_check_extracts_names_each_part(tmp_path):
    landing = tmp_path / "landing"
    for day, order in (("2024-01-01", "A1"), ("2024-01-02", "A2")):
        folder = landing / "orders" / f"dt={day}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"order_id": [order], "customer_id": ["C1"], "ordered_at": [f"{day} 10:00"],
                                 "amount": ["10.00"]}), folder / "part-0.parquet")
    write(landing / "customers" / "export.csv", "customer_id\nC1\n")

    report, ok = preview(landing, currency="EUR")

    assert ok, report
    for name in ("customers/export.csv:", "orders/dt=2024-01-01/part-0.parquet:",
                 "orders/dt=2024-01-02/part-0.parquet:"):
        assert f"\n{name}\n  recognised as:" in report, report
    assert "matches no extract" not in report


def test_the_sensor_sees_a_new_file_in_a_folder(tmp_path):
    workspace = Workspace(tmp_path / "landing", tmp_path / "warehouse")
    first = write(workspace.landing_dir / "orders" / "2026-07" / "part-0.csv", HEADER)
    settled = time.time() - SETTLE_SECONDS - 5
    os.utime(first, (settled, settled))
    resources = {"retentio_settings": RetentioSettings()}
    with environment(workspace), DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, resources=resources)
        request = new_extract_sensor(context)
        assert request.tags["retentio/files"] == "orders/2026-07/part-0.csv"

        second = write(workspace.landing_dir / "orders" / "2026-08" / "part-0.csv", HEADER)
        os.utime(second, (settled, settled))
        later = build_sensor_context(instance=instance, cursor=context.cursor, resources=resources)
        assert new_extract_sensor(later).tags["retentio/files"] == "orders/2026-08/part-0.csv"


def test_a_partitioned_dataset_s_folder_values_give_the_columns_its_files_leave_out(tmp_path):
    """Spark writes a dataset partitioned by order_date with the column in the path only; a dt= folder
    (the day of the export, or of the order: the shop says which) is read once mapped."""
    landing, raw, cache = tmp_path / "landing", tmp_path / "raw", tmp_path / "cache"
    for day, order in (("2024-01-01", "A1"), ("2024-01-02", "A2")):
        folder = landing / "orders" / f"order_date={day}"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"order_id": [order], "customer_id": ["C1"], "amount": ["10.00"]}),
                       folder / "part-0.parquet")
    write(landing / "orders" / "order_date=2024-01-03" / "part-0.csv",
          "order_id,customer_id,ordered_at,amount\nA3,C1,2024-01-03 18:30,5.00\n")  # its own column wins
    write(landing / "orders_tickets" / "dt=2024-02-01" / "country=C%C3%B4te%20d%27Ivoire" / "part-0.csv",
          "order_id,customer_id,amount\nT1,C2,3.20\n")

    with pytest.raises(ExtractFileError,
                       match=r"file orders_tickets/dt=2024-02-01/.*: required column missing"):
        ingest_orders(landing, raw, cache)
    write(landing / "retentio_sources.yml",
          'files:\n  - match: "orders_tickets/*"\n    columns: {dt: ordered_at}\n')
    ingest_orders(landing, raw, cache)

    assert query(raw / "orders", "select order_id, ordered_at::varchar, country from data order by 1") == [
        ("A1", "2024-01-01 00:00:00", None), ("A2", "2024-01-02 00:00:00", None),
        ("A3", "2024-01-03 18:30:00", None), ("T1", "2024-02-01 00:00:00", "Côte d'Ivoire")]
    report, ok = preview(landing, currency="EUR")
    assert ok and "ordered_at: 2024-01-01 on every row, as the folder order_date=2024-01-01 says" in report


def test_a_folder_key_mapped_to_another_extract_s_column_is_ignored(tmp_path):
    """A `files` rule applies to every extract: `dt: spend_date` means nothing to an orders file."""
    landing, raw, cache = tmp_path / "landing", tmp_path / "raw", tmp_path / "cache"
    write(landing / "orders" / "dt=2024-01-01" / "part-0.csv", HEADER + "A1,C1,2024-01-01 10:00,10\n")
    write(landing / "retentio_sources.yml", 'files:\n  - match: "*"\n    columns: {dt: spend_date}\n')

    ingest_orders(landing, raw, cache)

    assert ledger(raw, "orders") == [("orders/dt=2024-01-01/part-0.csv", "loaded", 1, 0)]

def test_partitions_of_the_same_bytes_are_two_deliveries_when_their_folders_differ(tmp_path):
    """One campaign's row, the same on two days: only the folder tells the days apart."""
    landing, raw, cache = tmp_path / "landing", tmp_path / "raw", tmp_path / "cache"
    for day in ("2024-03-01", "2024-03-02"):
        write(landing / "marketing_spend" / f"day={day}" / "meta.csv", ONE_CAMPAIGN_DAY)
    write(landing / "marketing_spend" / "day=2024-03-02" / "copy.csv", ONE_CAMPAIGN_DAY)

    result = ingest_extract("marketing_spend", landing, raw, cache, currency="EUR")

    assert [(f["source_file"], f["status"]) for f in result.files] == [
        ("marketing_spend/day=2024-03-01/meta.csv", "loaded"),
        ("marketing_spend/day=2024-03-02/copy.csv", "loaded"),
        ("marketing_spend/day=2024-03-02/meta.csv", "duplicate_file")]
    assert query(raw / "marketing_spend", "select spend_date::varchar, amount from data order by 1") == [
        ("2024-03-01", 10), ("2024-03-02", 10)]


def test_a_bucket_sync_of_the_sample_shop_loads_what_the_same_files_side_by_side_do(tmp_path):
    """The sample shop laid out by kind and year (orders/2024/part-0.csv): every year's file is called
    part-0.csv, so only its path tells them apart; the raw layer, which every later step reads, holds the
    same rows as from the files side by side."""
    flat = tmp_path / "flat"
    generate(flat, customers=300, seed=11, progress=False)
    synced = tmp_path / "synced"
    for path in flat.iterdir():  # orders_2024.csv -> orders/2024/part-0.csv, customers.csv -> customers/...
        kind, _, year = path.stem.partition("_2")
        target = synced / kind / f"2{year}" / "part-0.csv" if year else synced / kind / "export.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)

    side_by_side, in_folders = ingest_all(flat, tmp_path / "w1"), ingest_all(synced, tmp_path / "w2")

    for extract in ("customers", "orders", "survey_responses", "marketing_spend"):
        assert in_folders[extract].rows_loaded == side_by_side[extract].rows_loaded > 0, extract
        rows = [query(w / "raw" / extract,
                      "select * exclude (_source_file, _loaded_at) from data order by all")
                for w in (tmp_path / "w1", tmp_path / "w2")]
        assert rows[0] == rows[1], extract
    assert [f["source_file"] for f in in_folders["orders"].files] == [
        f"orders/{year}/part-0.csv" for year in (2023, 2024, 2025, 2026)]


def test_a_warehouse_inside_the_landing_directory_is_never_read_back(tmp_path):
    """RETENTIO_WAREHOUSE_DIR=<landing>/warehouse: its raw layer (raw/orders/…), parse cache and exports
    (exports/customers.parquet) are named like extracts, but are the pipeline's own output."""
    landing = tmp_path / "landing"
    write(landing / "orders.csv", HEADER + "A1,C1,2024-01-05,10\n")
    warehouse = landing / "warehouse"
    ingest_orders(landing, warehouse / "raw", warehouse / "cache" / "parsed")
    write(warehouse / "exports" / "customers.parquet", "")

    assert names(discover_files(landing, EXTRACTS["orders"]), landing) == ["orders.csv"]
    assert names(discover_files(landing, EXTRACTS["customers"]), landing) == []
    ingest_orders(landing, warehouse / "raw", warehouse / "cache" / "parsed")
    assert ledger(warehouse / "raw", "orders") == [("orders.csv", "loaded", 1, 0)]
