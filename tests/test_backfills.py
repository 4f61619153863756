"""A backfill of order days, from Dagster's CLI, re-derives the customers who ordered on them and changes
nothing else: the data did not change, so neither does anything published."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PROJECT_ROOT, copy_workspace

pytestmark = pytest.mark.slow

FIRST_DAY, LAST_DAY = "2026-06-01", "2026-06-03"
PUBLISHED = ("retention_metrics", "customers", "rfm_scores", "customer_cohorts", "acquisition_costs")


def rows(database: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def backfilled(published_workspace, tmp_path_factory):
    source, _ = published_workspace
    workspace = copy_workspace(source, tmp_path_factory.mktemp("backfill"))
    home = workspace.warehouse_dir.parent / "dagster_home"
    home.mkdir()
    env = os.environ | workspace.environment() | {"DAGSTER_HOME": str(home)}
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "pipelines.definitions",
         "--select", "rebuilds/order_days*", "--partition-range", f"{FIRST_DAY}...{LAST_DAY}"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    return source, workspace, completed


def test_a_range_of_order_days_backfills_in_one_run_from_the_cli(backfilled):
    _, workspace, completed = backfilled
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "RUN_SUCCESS" in completed.stdout + completed.stderr
    log = workspace.warehouse_dir / "rebuilds" / "order_days.parquet"
    assert duckdb.sql(f"select request_number, first_day::varchar, last_day::varchar from '{log}'").fetchall() == [
        (1, FIRST_DAY, LAST_DAY)]


def test_the_backfill_rebuilt_the_customers_who_ordered_on_those_days_and_only_them(backfilled):
    _, workspace, _ = backfilled
    rebuilt = {row[0] for row in rows(workspace.warehouse_db, """
        select distinct customer_id from intermediate.int_customer_purchase_days
        where rebuild_number = (select max(rebuild_number) from intermediate.int_customer_purchase_days)""")}
    ordered = {row[0] for row in rows(workspace.warehouse_db, f"""
        select distinct customer_id from staging.stg_shop__orders
        where order_date between '{FIRST_DAY}' and '{LAST_DAY}'
          and customer_id in (select customer_id from intermediate.int_customer_purchase_days)""")}
    assert rebuilt == ordered and len(rebuilt) > 10


def test_what_a_backfill_of_unchanged_data_publishes_is_what_was_published(backfilled):
    source, workspace, _ = backfilled
    for table in PUBLISHED:
        query = f"select * from {table} order by all"
        assert rows(workspace.bi_db, query) == rows(source.bi_db, query), table
