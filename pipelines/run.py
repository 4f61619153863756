"""`python -m pipelines.run`: the main job from the command line, what `make run` calls.

Generates sample data when the landing directory has no extract, materializes every asset through
Dagster (recorded in DAGSTER_HOME, so the runs show in `make dev`), and prints what happened and where
the outputs are.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from pipelines.settings import Settings, SettingsError, export_to_environment

DEFAULT_SAMPLE_CUSTOMERS = 10_000
DEFAULT_SAMPLE_SEED = 7


def landing_has_extracts(landing_dir: Path) -> bool:
    from pipelines.ingestion.contracts import EXTRACTS
    from pipelines.ingestion.loader import discover_files

    return any(discover_files(landing_dir, extract) for extract in EXTRACTS.values())


@contextmanager
def exclusive_run(warehouse_dir: Path):
    """One run at a time per warehouse: a second `make run` waits for the first instead of colliding."""
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    with open(warehouse_dir / ".run.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"Another Retentio run is using {warehouse_dir}; waiting for it to finish...", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _step_failures(result) -> list[str]:
    messages = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            message = error.message.strip() if error else "unknown error"
            # A dagster Failure carries the description we wrote for the user; show it, not the traceback.
            messages.append(f"{event.step_key}: {message}")
    return messages


def _failed_checks(result) -> list[str]:
    failed = []
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            failed.append(f"{evaluation.asset_key.to_user_string()} / {evaluation.check_name}"
                          + (f": {evaluation.description}" if evaluation.description else ""))
    return failed


def print_ingestion_summary(settings: Settings) -> None:
    import duckdb

    ledgers = sorted(settings.raw_dir.glob("*/files.parquet"))
    if not ledgers:
        return
    rows = duckdb.sql(f"""
        select extract, count(*) as files, sum(rows_read), sum(rows_loaded), sum(rows_quarantined)
        from read_parquet({[str(p) for p in ledgers]}) group by all order by extract
    """).fetchall()
    print("\nIngestion (rows read = loaded + quarantined):")
    print(f"  {'extract':<18}{'files':>6}{'read':>12}{'loaded':>12}{'quarantined':>13}")
    for extract, files, read, loaded, quarantined in rows:
        print(f"  {extract:<18}{files:>6}{read:>12,}{loaded:>12,}{quarantined:>13,}")
    reasons = duckdb.sql(f"""
        select extract, reason, count(*) from read_parquet({[str(p.with_name('quarantine.parquet')) for p in ledgers]})
        group by all order by extract, reason
    """).fetchall()
    by_extract: dict[str, list[str]] = {}
    for extract, reason, count in reasons:
        by_extract.setdefault(extract, []).append(f"{reason} {count}")
    for extract, counts in by_extract.items():
        print(f"  quarantined {extract}: {', '.join(counts)}")


def print_retention_metrics(settings: Settings, months: int = 12) -> None:
    """The last `months` complete months of retention_metrics, as BI tools will see them."""
    import duckdb

    if not settings.bi_db.exists():
        return
    con = duckdb.connect(str(settings.bi_db), read_only=True)
    try:
        rows = con.execute(f"""
            select * from (
                select strftime(period_start, '%Y-%m') as month, customers_at_start, customers_at_end,
                       new_customers, retention_rate_pct, churned_customers, churn_rate_pct,
                       reactivated_customers, revenue, nps, cac, clv_to_cac
                from main.retention_metrics
                where period_grain = 'month' and is_complete
                order by period_start desc limit {months}
            ) order by month
        """).fetchall()
    finally:
        con.close()
    print(f"\nretention_metrics, last {len(rows)} complete months (activity window "
          f"{settings.activity_window_days} days):")
    header = ("month", "CS", "CE", "CN", "CRR %", "churned", "churn %", "react.", "revenue", "NPS", "CAC", "CLV:CAC")
    print("  " + "".join(f"{h:>10}" for h in header))

    def cell(value) -> str:
        if value is None:
            return f"{'-':>10}"
        if isinstance(value, str):
            return f"{value:>10}"
        if isinstance(value, int):
            return f"{value:>10,}"
        return f"{float(value):>10,.1f}"

    for row in rows:
        print("  " + "".join(cell(v) for v in row))


def print_outputs(settings: Settings) -> None:
    print("\nOutputs:")
    print(f"  raw layer (Parquet)      {settings.raw_dir}")
    print(f"  warehouse (dbt, DuckDB)  {settings.warehouse_db}")
    if settings.bi_db.exists():
        print(f"  BI file (read-only use)  {settings.bi_db}")
    if settings.exports_dir.exists():
        print(f"  Parquet exports          {settings.exports_dir}")
    print("  Dagster UI               make dev")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample-customers", type=int, default=DEFAULT_SAMPLE_CUSTOMERS,
                        help="size of the sample generated when the landing directory is empty")
    parser.add_argument("--seed", type=int, default=DEFAULT_SAMPLE_SEED)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    export_to_environment(settings)
    started = time.monotonic()
    with exclusive_run(settings.warehouse_dir):
        if not landing_has_extracts(settings.landing_dir):
            from pipelines.sample_data import generate

            print(f"No extract in {settings.landing_dir}: generating sample data "
                  f"({args.sample_customers:,} customers, seed {args.seed})...", flush=True)
            # A few bad rows of each kind, so the quarantine has something to show.
            generate(settings.landing_dir, customers=args.sample_customers, seed=args.seed, dirty=True,
                     progress=sys.stderr.isatty())
        from dagster import DagsterInstance

        from pipelines.definitions import defs

        instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()
        print(f"Materializing every asset (landing: {settings.landing_dir})...", flush=True)
        result = defs.resolve_job_def("retentio_all").execute_in_process(
            instance=instance, raise_on_error=False,
            # Step-by-step events are in the Dagster UI (make dev); the terminal gets warnings and the summary.
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    print_ingestion_summary(settings)
    if result.success:
        print_retention_metrics(settings)
    failures, failed_checks = _step_failures(result), _failed_checks(result)
    if failed_checks:
        print("\nFailed checks:")
        for line in failed_checks:
            print(f"  - {line}")
    print_outputs(settings)
    elapsed = time.monotonic() - started
    if not result.success:
        print(f"\nRun {result.run_id} FAILED after {elapsed:.1f} s:", file=sys.stderr)
        for line in failures:
            print(f"  - {line}", file=sys.stderr)
        return 1
    print(f"\nRun {result.run_id} succeeded in {elapsed:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
