"""`python -m benchmarks.incremental --customers 1000000`: a new day of orders, processed by the next run,
against a full rebuild of the same data.

1. Splits the tier's orders of its last day into their own file, `orders_<day>.csv` (≈0.3 % of the history).
2. Full rebuild: an empty warehouse, every file (timed).
3. Daily run: a warehouse that has processed everything but that day (untimed), then the day's file lands
   and the next run processes it (timed). Parses of unchanged files come from the parse cache.
4. Checks that both publish the same retention_metrics, and writes the times to results/incremental.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from benchmarks.tier_data import Tier, tier_data

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"


def split_last_day(source: Path, destination: Path) -> tuple[str, int, int]:
    """Copy the landing directory, moving the last order day into its own file; (day, day rows, all rows)."""
    shutil.rmtree(destination, ignore_errors=True)
    shutil.copytree(source, destination)
    con = duckdb.connect()
    orders = f"read_csv('{destination}/orders_*.csv', all_varchar = true, header = true)"
    last_day = con.execute(f"select max(left(ordered_at, 10)) from {orders}").fetchall()[0][0]
    year_files = sorted(destination.glob(f"orders_{last_day[:4]}*.csv"))
    con.execute(f"create table year_orders as select * from read_csv({[str(p) for p in year_files]}, "
                "all_varchar = true, header = true)")
    for path in year_files:
        path.unlink()
    con.execute(f"copy (select * from year_orders where left(ordered_at, 10) <> '{last_day}') "
                f"to '{destination}/orders_{last_day[:4]}.csv' (header)")
    day_file = destination.parent / f"orders_{last_day}.csv"
    con.execute(f"copy (select * from year_orders where left(ordered_at, 10) = '{last_day}') to '{day_file}' (header)")
    day_rows = con.execute(f"select count(*) from read_csv('{day_file}')").fetchall()[0][0]
    all_rows = con.execute(f"select count(*) from {orders}").fetchall()[0][0] + day_rows
    return last_day, day_rows, all_rows


def run(landing: Path, warehouse: Path) -> float:
    env = os.environ | {"RETENTIO_LANDING_DIR": str(landing), "RETENTIO_WAREHOUSE_DIR": str(warehouse)}
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "pipelines.run"], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def published_metrics(warehouse: Path) -> list[tuple]:
    con = duckdb.connect(str(warehouse / "bi.duckdb"), read_only=True)
    try:
        return con.execute("select * from retention_metrics order by all").fetchall()
    finally:
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--work-dir", type=Path, default=ROOT / "work" / "incremental")
    args = parser.parse_args()
    work = args.work_dir / str(args.customers)
    landing = work / "landing"
    source = tier_data(ROOT / "work", Tier(str(args.customers), args.customers), seed=7).landing_dir
    day, day_rows, all_rows = split_last_day(source, landing)
    day_file = work / f"orders_{day}.csv"

    full_landing = work / "landing-full"
    shutil.rmtree(full_landing, ignore_errors=True)
    shutil.copytree(landing, full_landing)
    shutil.copy(day_file, full_landing / day_file.name)
    shutil.rmtree(work / "warehouse-full", ignore_errors=True)
    full_seconds = run(full_landing, work / "warehouse-full")

    shutil.rmtree(work / "warehouse-daily", ignore_errors=True)
    run(landing, work / "warehouse-daily")
    shutil.copy(day_file, landing / day_file.name)
    daily_seconds = run(landing, work / "warehouse-daily")

    identical = published_metrics(work / "warehouse-full") == published_metrics(work / "warehouse-daily")
    result = {"customers": args.customers, "day": day, "day_orders": day_rows, "all_orders": all_rows,
              "day_share_pct": round(100 * day_rows / all_rows, 3), "full_rebuild_s": round(full_seconds, 1),
              "daily_run_s": round(daily_seconds, 1), "daily_over_full_pct": round(100 * daily_seconds / full_seconds, 1),
              "identical_retention_metrics": identical}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "incremental.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
