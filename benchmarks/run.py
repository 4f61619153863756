"""`python -m benchmarks.run`: the whole pipeline against the DuckDB floor, pandas and lifetimes, per size.

    .venv/bin/python -m benchmarks.run --tiers 10k,100k,1M            # make benchmark
    .venv/bin/python -m benchmarks.run --tiers 10k --code HEAD        # the last commit, not the working tree
    .venv/bin/python -m benchmarks.run --tiers 10k --code HEAD --experiment dbt-preparse   # a proposed fix

For each tier (customers; about ten orders each): generate clean sample data (reused while it matches),
run the pipeline as `make run` does into a fresh warehouse (timing each stage, sampling the RSS of its
process tree), run floor.sql, the pandas peer and the CLV comparison with lifetimes, check that the floor
and pandas give the published retention_metrics, and write benchmarks/results/benchmarks.{md,json}.
Exits non-zero when a run failed or a result differs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import clv_peer, compare, report
from benchmarks.pipeline_run import code_description, prepare_manifest, run_pipeline, snapshot
from benchmarks.process_tree import run_measured
from benchmarks.tier_data import Tier, daily_split, parse_tiers, tier_data

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = Path(__file__).resolve().parent
PEERS = ("pipeline", "daily", "floor", "pandas", "clv")


def log(message: str) -> None:
    print(f"{datetime.now():%H:%M:%S} {message}", file=sys.stderr, flush=True)


def warm_page_cache(landing: Path) -> None:
    """Read the landing files once, so that every contender starts with them in the page cache."""
    for path in landing.iterdir():
        with open(path, "rb") as handle:
            while handle.read(16 << 20):
                pass


def quarantined_rows(warehouse: Path) -> int | None:
    import duckdb

    ledgers = sorted((warehouse / "raw").glob("*/files.parquet"))
    if not ledgers:
        return None
    return int(
        duckdb.sql(
            f"select coalesce(sum(rows_quarantined), 0) from read_parquet({[str(p) for p in ledgers]})"
        ).fetchall()[0][0]
    )


def _run_peer(
    what: str, name: str, command: list[str], out: Path, timings: Path, interval: float,
    max_rss_gb: float | None = None,
) -> dict:
    """Runs a peer script measured (output beside `out` as <name>.stdout/.stderr) and merges what it
    timed itself (`timings`) with what was measured from outside; a peer stopped for using more than
    `max_rss_gb` is reported as skipped."""
    tree = run_measured(
        command,
        cwd=REPO_ROOT,
        env=dict(os.environ),
        stdout=out.parent / f"{name}.stdout",
        stderr=out.parent / f"{name}.stderr",
        interval=interval,
        max_rss_mb=None if max_rss_gb is None else max_rss_gb * 1024,
    )
    if tree.killed_for_memory:
        return {
            "skipped": f"stopped at {tree.peak_rss_mb / 1024:.1f} GB, over the {max_rss_gb:g} GB allowed",
            "seconds_until_stopped": tree.seconds,
            "peak_rss_mb": tree.peak_rss_mb,
        }
    if tree.returncode != 0:
        raise RuntimeError(f"{what} failed: {(out.parent / f'{name}.stderr').read_text()[-2000:]}")
    inside = json.loads(timings.read_text())
    # The process's own time for the script (without Python's start-up); RSS: the larger of the sampled
    # peak and the kernel's own high-water mark.
    return inside | {
        "process_seconds": tree.seconds,
        "cpu_seconds": tree.cpu_seconds,
        "peak_rss_mb": max(inside["peak_rss_mb"], tree.peak_rss_mb),
        "output": str(out),
    }


def run_floor(tier_dir: Path, landing: Path, python: Path, settings: dict, interval: float) -> dict:
    out, timings, temp = (
        tier_dir / "floor" / "retention_metrics.parquet",
        tier_dir / "floor" / "floor.json",
        tier_dir / "floor" / "tmp",
    )
    shutil.rmtree(out.parent, ignore_errors=True)
    temp.mkdir(parents=True)
    command = [
        str(python),
        "-m",
        "benchmarks.floor",
        "--landing",
        str(landing),
        "--out",
        str(out),
        "--json",
        str(timings),
        "--activity-window-days",
        str(settings["activity_window_days"]),
        "--memory-limit",
        settings["duckdb_memory_limit"],
        "--threads",
        str(settings["duckdb_threads"]),
        "--temp-dir",
        str(temp),
    ]
    if settings["as_of_date"]:
        command += ["--as-of-date", settings["as_of_date"]]
    return _run_peer("floor.sql", "floor", command, out, timings, interval)


def run_pandas(
    tier_dir: Path, landing: Path, python: Path, settings: dict, interval: float, max_rss_gb: float
) -> dict:
    out, timings = tier_dir / "pandas" / "retention_metrics.parquet", tier_dir / "pandas" / "pandas.json"
    shutil.rmtree(out.parent, ignore_errors=True)
    out.parent.mkdir(parents=True)
    command = [
        str(python),
        "-m",
        "benchmarks.pandas_peer",
        "--landing",
        str(landing),
        "--out",
        str(out),
        "--json",
        str(timings),
        "--activity-window-days",
        str(settings["activity_window_days"]),
    ]
    if settings["as_of_date"]:
        command += ["--as-of-date", settings["as_of_date"]]
    return _run_peer("pandas peer", "pandas", command, out, timings, interval, max_rss_gb)


def run_tier(tier: Tier, args: argparse.Namespace, code_root: Path, settings: dict) -> dict:
    python = Path(sys.executable)
    tier_dir = args.work_dir / "runs" / tier.label
    tier_dir.mkdir(parents=True, exist_ok=True)
    data = tier_data(args.work_dir, tier, args.seed, log=log)
    totals = data.generation["totals"]
    result: dict = {
        "label": tier.label,
        "customers": tier.customers,
        "seed": args.seed,
        "problems": [],
        "load_average": {},
        "data": {
            "landing_dir": str(data.landing_dir),
            "size_bytes": data.size_bytes,
            "generated_seconds": data.generated_seconds,
            **totals,
        },
    }
    warm_page_cache(data.landing_dir)
    published = None
    pipeline_settings = {
        "RETENTIO_ACTIVITY_WINDOW_DAYS": str(settings["activity_window_days"]),
        "RETENTIO_AS_OF_DATE": settings["as_of_date"] or "",
        "RETENTIO_DUCKDB_MEMORY_LIMIT": settings["duckdb_memory_limit"],
        "RETENTIO_DUCKDB_THREADS": str(settings["duckdb_threads"]),
    }
    if "pipeline" in args.run:
        log(f"[{tier.label}] pipeline (python -m pipelines.run) from {code_root}...")
        pipeline = run_pipeline(
            code_root,
            data.landing_dir,
            tier_dir,
            python,
            interval=args.sample_interval,
            parse_with_run_environment=code_root != REPO_ROOT,
            dbt_preparse="dbt-preparse" in args.experiment,
            settings=pipeline_settings,
        )
        result["load_average"]["pipeline"] = _load()
        warehouse = Path(pipeline["warehouse_dir"])
        pipeline["quarantined_rows"] = quarantined_rows(warehouse)
        result["pipeline"] = pipeline
        log(
            f"[{tier.label}] pipeline {'succeeded' if pipeline['succeeded'] else 'FAILED'} in "
            f"{pipeline['end_to_end_seconds']:.1f} s, peak RSS {pipeline['peak_rss_mb']:,.0f} MB"
        )
        if not pipeline["succeeded"]:
            result["problems"].append(
                f"the pipeline failed (exit {pipeline['returncode']}); see {tier_dir / 'pipeline.stderr'}"
            )
        elif pipeline["quarantined_rows"]:
            result["problems"].append(
                f"{pipeline['quarantined_rows']} rows were quarantined: the floor and pandas "
                "read them, the pipeline did not"
            )
        if (warehouse / "bi.duckdb").exists():
            published = compare.published_metrics(warehouse / "bi.duckdb")
    if "daily" in args.run:
        result["daily"] = run_daily(tier, args, code_root, data, tier_dir, python, pipeline_settings, published)
        result["load_average"]["daily"] = _load()
        daily = result["daily"]
        if not daily["run"]["succeeded"]:
            result["problems"].append(f"the daily run failed; see {tier_dir / 'daily' / 'pipeline.stderr'}")
        elif daily.get("comparison") and not daily["comparison"]["equal"]:
            result["problems"].append("the daily run's retention_metrics differ from the full rebuild's")
    if "floor" in args.run:
        log(f"[{tier.label}] floor.sql...")
        floor = run_floor(tier_dir, data.landing_dir, python, settings, args.sample_interval)
        result["load_average"]["floor"] = _load()
        if published is not None:
            floor["comparison"] = compare.compare(published, compare.parquet_metrics(Path(floor["output"])))
            if not floor["comparison"]["equal"]:
                result["problems"].append("the floor's retention_metrics differ from the published ones")
        result["floor"] = floor
        log(
            f"[{tier.label}] floor {floor['seconds']:.1f} s, peak RSS {floor['peak_rss_mb']:,.0f} MB"
            + (f", equal to the pipeline's: {floor['comparison']['equal']}" if "comparison" in floor else "")
        )
    if "pandas" in args.run:
        log(f"[{tier.label}] pandas...")
        pandas = run_pandas(
            tier_dir, data.landing_dir, python, settings, args.sample_interval, args.pandas_max_rss_gb
        )
        result["load_average"]["pandas"] = _load()
        if published is not None and not pandas.get("skipped"):
            pandas["comparison"] = compare.compare(published, compare.parquet_metrics(Path(pandas["output"])))
            if not pandas["comparison"]["equal"]:
                result["problems"].append(
                    "the pandas peer's retention_metrics differ from the published ones"
                )
        result["pandas"] = pandas
        log(
            f"[{tier.label}] pandas "
            + (
                pandas["skipped"]
                if pandas.get("skipped")
                else f"{pandas['seconds']:.1f} s, peak RSS {pandas['peak_rss_mb']:,.0f} MB"
            )
        )
    warehouse_db = Path(result.get("pipeline", {}).get("warehouse_dir", "-")) / "retentio.duckdb"
    if "clv" in args.run and warehouse_db.exists():
        log(f"[{tier.label}] CLV fit: ours vs lifetimes...")
        histories = tier_dir / "clv_histories.npz"
        clv_peer.save_histories(warehouse_db, histories)
        result["clv"] = clv_peer.compare(histories, repeats=args.clv_repeats)
        result["load_average"]["clv"] = _load()
        if not result["clv"]["agree_to_1e-4"]:
            result["problems"].append("our CLV fit and lifetimes' differ by more than 1e-4")
        log(
            f"[{tier.label}] CLV ours {result['clv']['ours']['total_seconds']:.2f} s, lifetimes "
            f"{result['clv']['lifetimes']['total_seconds']:.2f} s"
        )
    return result


def run_daily(tier: Tier, args: argparse.Namespace, code_root: Path, data, tier_dir: Path, python: Path,
              pipeline_settings: dict, published) -> dict:
    """A warehouse that processed everything but the last order day (measured, as "yesterday"), then that
    day's orders arrive as their own file and the next run processes them (measured: the daily run)."""
    split = daily_split(data, log=lambda message: log(f"[{tier.label}] {message}"))
    run_dir = tier_dir / "daily"
    landing = run_dir / "landing"
    shutil.rmtree(landing, ignore_errors=True)
    landing.mkdir(parents=True)
    for path in split.history_dir.iterdir():
        (landing / path.name).symlink_to(path.resolve())
    log(f"[{tier.label}] daily: yesterday's run (everything before {split.day})...")
    common = dict(interval=args.sample_interval, parse_with_run_environment=code_root != REPO_ROOT,
                  settings=pipeline_settings)
    yesterday = run_pipeline(code_root, landing, run_dir, python, **common)
    if not yesterday["succeeded"]:
        return {"day": split.day, "run": yesterday, "yesterday_seconds": yesterday["end_to_end_seconds"]}
    (landing / split.day_file.name).symlink_to(split.day_file.resolve())
    log(f"[{tier.label}] daily: today's run ({split.day_orders:,} new orders)...")
    today = run_pipeline(code_root, landing, run_dir, python, fresh_warehouse=False, **common)
    log(f"[{tier.label}] daily run {'succeeded' if today['succeeded'] else 'FAILED'} in "
        f"{today['end_to_end_seconds']:.1f} s, peak RSS {today['peak_rss_mb']:,.0f} MB")
    result = {
        "day": split.day,
        "day_orders": split.day_orders,
        "all_orders": split.all_orders,
        "day_share_pct": 100 * split.day_orders / split.all_orders,
        "yesterday_seconds": yesterday["end_to_end_seconds"],
        "run": today,
    }
    bi = Path(today["warehouse_dir"]) / "bi.duckdb"
    full_bi = tier_dir / "warehouse" / "bi.duckdb"
    if published is not None and today["succeeded"] and bi.exists():
        result["comparison"] = compare.published_tables_identical(full_bi, bi)
    return result


# What a code server does before it can answer the webserver: import the definitions, build the repository
# and its snapshot. It then stays up, so the interpreter's teardown (~0.4 s of module finalisation here) is
# not part of loading: os._exit skips it.
LOAD_CODE = (
    "import os\n"
    "from dagster._core.remote_representation.external_data import RepositorySnap\n"
    "from pipelines.definitions import defs\n"
    "RepositorySnap.from_def(defs.get_repository_def())\n"
    "os._exit(0)\n"
)


def code_location_load(code_root: Path, python: Path, repeats: int = 5) -> dict:
    """Seconds for a fresh Python process to load the Dagster code location (import the definitions, build
    the repository and its snapshot, as `dagster dev`'s code server does), the median of `repeats` runs."""
    env = os.environ | {"DAGSTER_DISABLE_TELEMETRY": "true", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([str(python), "-c", LOAD_CODE], cwd=code_root, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - started)
    return {"median_seconds": sorted(seconds)[len(seconds) // 2], "seconds": seconds}


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def environment() -> dict:
    import dagster
    import duckdb
    import pandas
    from dbt.version import __version__ as dbt_version

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "dagster": dagster.__version__,
        "dbt": dbt_version,
        "pandas": pandas.__version__,
        "cpus": os.cpu_count(),
        "memory_gb": memory / 2**30,
        "machine": platform.machine(),
    }


def write_results(results: dict, results_dir: Path) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "benchmarks.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (results_dir / "benchmarks.md").write_text(report.markdown(results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiers", default="10k,100k,1M", help="customer counts, e.g. 10k,100k,1M")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--run", default=",".join(PEERS), help=f"which of {','.join(PEERS)} to run")
    parser.add_argument(
        "--code",
        default="worktree",
        help="'worktree' (this checkout as it is, like make run) or a git revision to snapshot",
    )
    parser.add_argument("--work-dir", type=Path, default=BENCHMARKS / "work")
    parser.add_argument("--results-dir", type=Path, default=BENCHMARKS / "results")
    parser.add_argument(
        "--activity-window-days",
        type=int,
        default=int(os.environ.get("RETENTIO_ACTIVITY_WINDOW_DAYS") or 365),
    )
    parser.add_argument("--as-of-date", default=os.environ.get("RETENTIO_AS_OF_DATE") or None)
    parser.add_argument(
        "--pandas-max-rss-gb",
        type=float,
        default=8.0,
        help="stop the pandas peer beyond this (it is then reported as skipped)",
    )
    parser.add_argument(
        "--clv-repeats", type=int, default=1, help="runs per CLV implementation; the fastest is kept"
    )
    parser.add_argument("--sample-interval", type=float, default=0.2, help="seconds between RSS samples")
    parser.add_argument(
        "--experiment",
        action="append",
        default=[],
        choices=["dbt-preparse"],
        help="measure a proposed change instead of the pipeline as it is: dbt-preparse parses "
        "the dbt project beforehand with the run's settings, so dbt can parse partially",
    )
    args = parser.parse_args(argv)
    args.run = {name.strip() for name in args.run.split(",") if name.strip()}
    if unknown := args.run - set(PEERS):
        parser.error(f"--run: unknown {', '.join(sorted(unknown))}; choose from {', '.join(PEERS)}")
    try:
        tiers = parse_tiers(args.tiers)
    except ValueError as exc:
        parser.error(str(exc))
    args.work_dir = args.work_dir.resolve()
    python = Path(sys.executable)
    if args.code == "worktree":
        if args.experiment:
            parser.error("--experiment changes dbt's target directory: use it with --code REV (a snapshot)")
        code_root = REPO_ROOT
        if "pipeline" in args.run:
            prepare_manifest(code_root, python)
    else:
        code_root = snapshot(
            REPO_ROOT, args.code, args.work_dir, python, variant="-".join(sorted(args.experiment))
        )
    settings = {
        "activity_window_days": args.activity_window_days,
        "as_of_date": args.as_of_date,
        "duckdb_memory_limit": os.environ.get("RETENTIO_DUCKDB_MEMORY_LIMIT") or "3GB",
        "duckdb_threads": int(os.environ.get("RETENTIO_DUCKDB_THREADS") or os.cpu_count() or 2),
        "sample_interval": args.sample_interval,
        "experiments": args.experiment,
    }
    results = {
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": settings,
        "code": code_description(code_root, REPO_ROOT),
        "environment": environment(),
        "tiers": [],
    }
    started = time.perf_counter()
    if "pipeline" in args.run:
        log("code location load (5 fresh processes)...")
        results["code_location_load"] = code_location_load(code_root, python)
    for tier in tiers:
        results["tiers"].append(run_tier(tier, args, code_root, settings))
        results["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        results["seconds"] = time.perf_counter() - started
        write_results(results, args.results_dir)  # after each tier: a long run's first tiers are not lost
    print(report.markdown(results))
    print(f"Written: {args.results_dir / 'benchmarks.md'} and benchmarks.json", file=sys.stderr)
    problems = [f"{t['label']}: {p}" for t in results["tiers"] for p in t["problems"]]
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
