"""Daily runs: yesterday's warehouse plus a new day of orders gives what a full rebuild gives, and BI
clients reading the published file during the run neither fail nor block it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pipelines.ingestion.raw_layer import data_glob
from tests.conftest import Workspace, failed_checks, run_pipeline

pytestmark = pytest.mark.slow

COMPARED_TABLES = ("retention_metrics", "retention_metrics_by_segment", "customers", "customer_cohorts",
                   "rfm_scores", "nps_by_period", "acquisition_costs", "retention_drivers", "clv_model_fits")


def published(workspace: Workspace, table: str) -> list[tuple]:
    con = duckdb.connect(str(workspace.bi_db), read_only=True)
    try:
        return con.execute(f"select * from {table} order by all").fetchall()
    finally:
        con.close()


# Two BI clients, each in its own process (DuckDB shares one open database per path within a process,
# so a connection held open would make the same process's new connections see the old file too).
LOOPING_READER = textwrap.dedent("""
    import os, sys, time, duckdb
    bi, stop = sys.argv[1], sys.argv[2]
    seen, reads = [], 0
    while not os.path.exists(stop):
        con = duckdb.connect(bi, read_only=True)  # reconnects for every query, like a BI dashboard refresh
        value = con.execute("select sum(revenue) from retention_metrics where period_grain = 'year'").fetchall()[0][0]
        con.close()
        if not seen or seen[-1] != value:
            seen.append(value)
        reads += 1
        time.sleep(0.02)
    print(reads, len(seen))
""")
HOLDING_READER = textwrap.dedent("""
    import os, sys, time, duckdb
    bi, stop = sys.argv[1], sys.argv[2]
    held = duckdb.connect(bi, read_only=True)  # keeps its connection open through the whole run
    before = held.execute("select sum(revenue) from retention_metrics").fetchall()[0][0]
    while not os.path.exists(stop):
        time.sleep(0.05)
    assert held.execute("select sum(revenue) from retention_metrics").fetchall()[0][0] == before
    print("held")
""")



def move_last_day_to_its_own_file(landing, full: Workspace, destination) -> Path:
    """Moves the last day's orders out of the latest order file into `destination/orders_<day>.csv`.

    Only rows the full run accepted and whose order_id is nowhere else move: a dirty row or one half of a
    duplicated key would otherwise change which copy is first and so, rightly, the result.
    """
    order_files = sorted(landing.glob("orders_*.csv"))
    latest = order_files[-1]
    con = duckdb.connect()
    try:
        accepted = {row[0] for row in con.execute(
            "select order_id from read_parquet(?) where _source_file = ?",
            [data_glob(full.warehouse_dir / "raw" / "orders"), latest.name]).fetchall()}
    finally:
        con.close()
    occurrences = Counter(line.split(",")[0] for path in order_files
                          for line in path.read_text(encoding="utf-8").splitlines()[1:])
    lines = latest.read_text(encoding="utf-8").splitlines(keepends=True)
    movable = [line for line in lines[1:] if line.split(",")[0] in accepted and occurrences[line.split(",")[0]] == 1]
    last_day = max(line.split(",")[2][:10] for line in movable)
    day_lines = [line for line in movable if line.split(",")[2].startswith(last_day)]
    assert day_lines, "the sample has orders on its last day"
    moved = set(day_lines)
    latest.write_text("".join(line for line in lines if line not in moved), encoding="utf-8")
    day_file = Path(destination) / f"orders_{last_day}.csv"
    day_file.write_text(lines[0] + "".join(day_lines), encoding="utf-8")
    return day_file


@dataclass
class DailyRuns:
    full: Workspace
    daily: Workspace
    reader_outputs: list[tuple[int, str, str]]  # returncode, stdout, stderr of each BI reader


@pytest.fixture(scope="module")
def daily_runs(published_workspace, tmp_path_factory) -> DailyRuns:
    """Yesterday's run (everything but the last day), then today's with the last day's file, while two BI
    clients read the published file."""
    full, _ = published_workspace  # every file, processed in one run from an empty warehouse
    root = tmp_path_factory.mktemp("daily")
    landing = root / "landing"
    shutil.copytree(full.landing_dir, landing)
    day_file = move_last_day_to_its_own_file(landing, full, root)
    daily = Workspace(landing, root / "warehouse")
    yesterday = run_pipeline(daily)
    assert yesterday.success, failed_checks(yesterday)

    shutil.copy(day_file, landing / day_file.name)
    stop = root / "stop"
    readers = [subprocess.Popen([sys.executable, "-c", script, str(daily.bi_db), str(stop)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for script in (LOOPING_READER, HOLDING_READER)]
    try:
        time.sleep(1.5)
        today = run_pipeline(daily)
        time.sleep(0.5)
    finally:
        stop.touch()
        outputs = [(reader, *reader.communicate(timeout=60)) for reader in readers]
    assert today.success, failed_checks(today)
    return DailyRuns(full, daily, [(reader.returncode, out, err) for reader, out, err in outputs])


def test_a_new_day_of_orders_processed_by_the_next_run_equals_a_full_rebuild(daily_runs):
    for table in COMPARED_TABLES:
        assert published(daily_runs.daily, table) == published(daily_runs.full, table), table


def test_readers_of_the_bi_file_never_fail_or_block_a_run(daily_runs):
    for returncode, _, err in daily_runs.reader_outputs:
        assert returncode == 0, err
    looping, holding = (out for _, out, _ in daily_runs.reader_outputs)
    reads, distinct_values = map(int, looping.split())
    assert reads > 20
    assert distinct_values == 2, "the reader saw the old numbers, then the new ones, and nothing in between"
    assert holding.strip() == "held"


def test_the_daily_run_rebuilt_only_the_customers_of_the_new_day(daily_runs):
    con = duckdb.connect(str(daily_runs.daily.warehouse_db), read_only=True)
    try:
        rebuilt = dict(con.execute("""
            select rebuild_number, count(distinct customer_id)
            from intermediate.int_purchases_summed_by_customer_day group by all""").fetchall())
        day_customers = con.execute("""
            select count(distinct customer_id) from intermediate.int_purchases_summed_by_customer_day
            where purchase_date = (select as_of_date from intermediate.int_run_settings)""").fetchall()[0][0]
    finally:
        con.close()
    assert set(rebuilt) == {1, 2}, "yesterday's build, then one incremental build"
    assert rebuilt[2] == day_customers, "only the customers who bought on the new day were rebuilt"
    assert rebuilt[1] > 10 * rebuilt[2]
