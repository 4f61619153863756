"""Run `floor.sql` in one DuckDB process and time it, statement by statement.

    .venv/bin/python -m benchmarks.floor --landing LANDING_DIR --out floor.parquet [--json timings.json]

The harness (benchmarks/run.py) runs this as its own process so that its peak RSS is the floor's alone.
The database is in memory; DuckDB spills to `--temp-dir` beyond `--memory-limit`, as the pipeline's does.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

FLOOR_SQL = Path(__file__).with_name("floor.sql")


def statements(script: str) -> list[str]:
    """The script's statements: each ends with a semicolon at the end of a line."""
    return [s.strip() for s in re.split(r";[ \t]*\n", script + "\n") if s.strip() and not _only_comments(s)]


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())


def _first_line(statement: str) -> str:
    code = [line for line in statement.splitlines() if line.strip() and not line.strip().startswith("--")]
    return code[0].strip() if code else ""


def run_floor(
    landing_dir: Path,
    *,
    activity_window_days: int | None = None,
    as_of_date: str | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_dir: Path | None = None,
):
    """(retention_metrics as an Arrow table, [(statement's first line, seconds)])."""
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("set enable_progress_bar = false")
        con.execute("set preserve_insertion_order = false")
        if memory_limit:
            con.execute(f"set memory_limit = '{memory_limit}'")
        if threads:
            con.execute(f"set threads = {int(threads)}")
        if temp_dir:
            con.execute(f"set temp_directory = '{temp_dir}'")
        con.execute("set variable landing_dir = ?", [str(landing_dir)])
        con.execute("set variable activity_window_days = ?", [activity_window_days])
        con.execute("set variable as_of_date = ?", [as_of_date])
        timings, result = [], None
        for statement in statements(FLOOR_SQL.read_text()):
            started = time.perf_counter()
            if _first_line(statement).startswith(("select", "with")):
                result = con.sql(statement).to_arrow_table()
            else:
                con.execute(statement)
            timings.append((_first_line(statement), time.perf_counter() - started))
        return result, timings
    finally:
        con.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument(
        "--out", type=Path, required=True, help="Parquet file for the resulting retention_metrics"
    )
    parser.add_argument("--json", type=Path, help="where to write timings and peak RSS")
    parser.add_argument("--activity-window-days", type=int)
    parser.add_argument("--as-of-date")
    parser.add_argument("--memory-limit")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--temp-dir", type=Path)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    table, timings = run_floor(
        args.landing,
        activity_window_days=args.activity_window_days,
        as_of_date=args.as_of_date,
        memory_limit=args.memory_limit,
        threads=args.threads,
        temp_dir=args.temp_dir,
    )
    seconds = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, args.out)
    report = {
        "seconds": seconds,
        "statements": [{"statement": s, "seconds": t} for s, t in timings],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows": table.num_rows,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    for s, t in timings:
        print(f"{t:8.2f} s  {s}")
    print(f"{seconds:8.2f} s  total, peak RSS {report['peak_rss_mb']:.0f} MB, {table.num_rows} rows")


if __name__ == "__main__":
    main()
