"""A version that only adds rows is built by appending, and holds exactly what a full rebuild holds.

Each case delivers files in steps; after each step the warehouse that saw every step is compared with a
fresh warehouse that ingests the same landing directory at once: the same rows, the same quarantine (in
the same order), the same ledger.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from pipelines.ingestion.loader import IngestionResult, ingest_extract
from pipelines.ingestion.raw_layer import VersionState, data_glob

HEADER = "order_id,customer_id,ordered_at,amount,currency,status\n"


def ingest(landing: Path, warehouse: Path) -> dict[str, IngestionResult]:
    raw, cache = warehouse / "raw", warehouse / "cache"
    results = {"customers": ingest_extract("customers", landing, raw, cache)}
    results["orders"] = ingest_extract("orders", landing, raw, cache, customers_dir=raw / "customers")
    return results


def contents(warehouse: Path, extract: str) -> dict:
    extract_dir = warehouse / "raw" / extract
    con = duckdb.connect()
    try:
        return {
            "data": con.execute(f"select * exclude (_loaded_at, _batch) from read_parquet('{data_glob(extract_dir)}') "
                                "order by _source_file, _source_row").fetchall(),
            "quarantine": con.execute(f"select * exclude (loaded_at) from '{extract_dir}/quarantine.parquet'").fetchall(),
            "ledger": con.execute(f"select * exclude (loaded_at) from '{extract_dir}/files.parquet'").fetchall(),
        }
    finally:
        con.close()


def deliver(landing: Path, files: dict[str, str]) -> None:
    landing.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (landing / name).write_text(text)


def assert_same_as_a_full_rebuild(landing: Path, warehouse: Path, tmp_path: Path, step: int) -> None:
    fresh = tmp_path / f"fresh-{step}"
    ingest(landing, fresh)
    for extract in ("customers", "orders"):
        assert contents(warehouse, extract) == contents(fresh, extract), (step, extract)


CUSTOMERS = "customer_id,signup_date\nC1,2024-01-01\nC2,2024-01-02\n"
STEPS = [
    {"customers.csv": CUSTOMERS,
     "orders_2024-01-01.csv": HEADER + "O1,C1,2024-01-01 10:00:00,10.00,EUR,completed\n"
                                       "O2,C9,2024-01-01 11:00:00,20.00,EUR,completed\n"   # customer not yet known
                                       "O3,C2,2024-01-01 12:00:00,abc,EUR,completed\n"},  # rejected on its own
    {"orders_2024-01-02.csv": HEADER + "O4,C2,2024-01-02 10:00:00,15.00,EUR,completed\n"
                                       "O1,C1,2024-01-01 10:00:00,10.00,EUR,completed\n"   # same row again
                                       "O2,C1,2024-01-02 11:00:00,25.00,EUR,completed\n"   # key taken by a waiting row
                                       "O5,C1,2024-01-02 12:00:00,5.00,EUR,completed\n"
                                       "O5,C2,2024-01-02 13:00:00,6.00,EUR,completed\n"},  # repeats within the file
    {"customers_2.csv": "customer_id,signup_date\nC9,2024-01-01\nC1,2023-12-31\n",  # C9 arrives; C1 again
     "orders_2024-01-03.csv": HEADER + "O6,C9,2024-01-03 10:00:00,30.00,EUR,completed\n"
                                       "O7,C8,2024-01-03 11:00:00,1.00,EUR,completed\n"},
]


def test_daily_files_are_appended_as_new_batches_and_equal_a_full_rebuild(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    first_parts = None
    for step, files in enumerate(STEPS, 1):
        deliver(landing, files)
        results = ingest(landing, warehouse)
        orders = results["orders"]
        assert orders.batch == step
        assert orders.appended == (step > 1), step
        if step == 1:
            first_parts = {p.name: p.stat().st_ino for p in Path(orders.version_dir).glob("data/_batch=1/*.parquet")}
        else:  # the history is not rewritten: the first batch's parts are the same files (hard links)
            kept = {p.name: p.stat().st_ino for p in Path(orders.version_dir).glob("data/_batch=1/*.parquet")}
            assert kept == first_parts
        assert_same_as_a_full_rebuild(landing, warehouse, tmp_path, step)

    final = contents(warehouse, "orders")
    assert sorted(row[0] for row in final["data"]) == ["O1", "O2", "O4", "O5", "O6"]
    reasons = {(row[1], row[2], row[4]) for row in final["quarantine"]}
    assert reasons == {
        ("orders_2024-01-01.csv", 3, "invalid_number"),
        ("orders_2024-01-02.csv", 2, "duplicate_row"),
        ("orders_2024-01-02.csv", 3, "duplicate_key"),
        ("orders_2024-01-02.csv", 5, "duplicate_key"),
        ("orders_2024-01-03.csv", 2, "unknown_customer"),
    }
    con = duckdb.connect()
    batches = dict(con.execute(f"select order_id, _batch from read_parquet('{data_glob(warehouse / 'raw' / 'orders')}')")
                   .fetchall())
    assert batches == {"O1": 1, "O4": 2, "O5": 2, "O2": 3, "O6": 3}, "O2 waited for its customer until batch 3"


def test_anything_but_an_append_starts_a_new_generation(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    deliver(landing, STEPS[0] | STEPS[1])
    generation = VersionState.read(ingest(landing, warehouse)["orders"].version_dir).generation

    deliver(landing, {"orders_2023-12-30.csv": HEADER + "O8,C1,2023-12-30 10:00:00,1.00,EUR,completed\n"})
    new_keys_first = ingest(landing, warehouse)["orders"]  # sorts first, but takes no key a later file holds
    assert new_keys_first.appended
    assert_same_as_a_full_rebuild(landing, warehouse, tmp_path, 0)

    deliver(landing, {"orders_2023-12-31.csv": HEADER + "O4,C1,2023-12-31 10:00:00,1.00,EUR,completed\n"})
    before_the_others = ingest(landing, warehouse)["orders"]  # sorts before O4's first copy: it wins now
    assert not before_the_others.appended
    assert VersionState.read(before_the_others.version_dir).generation != generation
    assert_same_as_a_full_rebuild(landing, warehouse, tmp_path, 1)
    con = duckdb.connect()
    assert con.execute(f"select _source_file from read_parquet('{data_glob(warehouse / 'raw' / 'orders')}') "
                       "where order_id = 'O4'").fetchall() == [("orders_2023-12-31.csv",)]

    generation = VersionState.read(before_the_others.version_dir).generation
    (landing / "orders_2024-01-01.csv").write_text(HEADER + "O1,C1,2024-01-01 10:00:00,11.00,EUR,completed\n")
    corrected = ingest(landing, warehouse)["orders"]
    assert not corrected.appended and VersionState.read(corrected.version_dir).generation != generation
    assert_same_as_a_full_rebuild(landing, warehouse, tmp_path, 2)


@pytest.mark.skipif(not hasattr(os, "link"), reason="hard links")
def test_a_clean_file_is_not_copied_into_the_raw_layer(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    deliver(landing, {"customers.csv": CUSTOMERS,
                      "orders_a.csv": HEADER + "O1,C1,2024-01-01 10:00:00,10.00,EUR,completed\n"})
    orders = ingest(landing, warehouse)["orders"]
    (part,) = Path(orders.version_dir).glob("data/_batch=1/*.parquet")
    (parse,) = (warehouse / "cache" / "orders").glob("*/accepted.parquet")
    assert part.stat().st_ino == parse.stat().st_ino


def test_an_appended_spend_file_repeating_keys_with_empty_columns_is_rejected_as_a_full_rebuild_would(tmp_path):
    """An ad platform's export has no channel, and a plain spend file no campaign: a key with an empty
    column, repeated by a later file, is taken all the same (empty equals empty)."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    raw, cache = warehouse / "raw", warehouse / "cache"
    steps = [{"marketing_spend_2024_01.csv": "Campaign name,Day,Cost\nRetargeting,2024-01-01,10.00\n"
                                             "Prospecting,2024-01-01,12.00\n"},
             {"marketing_spend_2024_02.csv": "Campaign name,Day,Cost\nRetargeting,2024-01-01,11.00\n"
                                             "Retargeting,2024-02-01,13.00\n"}]
    for step, files in enumerate(steps, 1):
        deliver(landing, files)
        result = ingest_extract("marketing_spend", landing, raw, cache)
        assert result.appended == (step > 1)
    fresh = ingest_extract("marketing_spend", landing, tmp_path / "fresh" / "raw", tmp_path / "fresh" / "cache")

    assert result.quarantined_by_reason == fresh.quarantined_by_reason == {"duplicate_key": 1}
    assert contents(warehouse, "marketing_spend") == contents(tmp_path / "fresh", "marketing_spend")
