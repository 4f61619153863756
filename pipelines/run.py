"""`python -m pipelines.run`: the main job from the command line, what `make run` calls.

Generates sample data when the landing directory has no extract, materializes every asset through
Dagster (recorded in DAGSTER_HOME, so the runs show in `make dev`), and prints what happened and where
the outputs are.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import logging
import os
import re
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from pipelines.settings import Settings, SettingsError, export_to_environment

DEFAULT_SAMPLE_CUSTOMERS = 10_000
DEFAULT_SAMPLE_SEED = 7


def landing_has_extracts(landing_dir: Path) -> bool:
    from pipelines.ingestion.contracts import EXTRACTS
    from pipelines.ingestion.landing import discover_files

    return any(discover_files(landing_dir, extract) for extract in EXTRACTS.values())


class WarehouseUnusable(Exception):
    """The warehouse directory cannot be written; the message is the one line the user needs."""


# What a full disk or a read-only directory looks like in an error message, whichever library raised it.
STORAGE_PROBLEMS = tuple(os.strerror(code) for code in
                         (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM))


def _unusable(warehouse_dir: Path, error: OSError) -> WarehouseUnusable:
    problem = error.strerror or str(error)
    if error.errno in (errno.ENOTDIR, errno.EEXIST):
        candidates = (warehouse_dir, *warehouse_dir.parents)
        blocking = next((p for p in candidates if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            problem = f"{blocking} is a file, not a directory"
    return WarehouseUnusable(f"cannot write to the warehouse directory {warehouse_dir} "
                             f"(RETENTIO_WAREHOUSE_DIR): {problem}")


@contextmanager
def exclusive_run(warehouse_dir: Path, warehouse_db: Path):
    """One run at a time per warehouse: a second `make run` waits for the first instead of colliding."""
    try:
        warehouse_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=warehouse_dir):
            pass  # the directory takes new files (not read-only, not someone else's)
        lock = open(warehouse_dir / ".run.lock", "w")
    except OSError as error:
        raise _unusable(warehouse_dir, error) from None
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"Another Retentio run is using {warehouse_dir}; waiting for it to finish...", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        wait_until_no_other_process_has(warehouse_db)
        yield


def wait_until_no_other_process_has(database: Path, poll_seconds: float = 0.5) -> None:
    """Wait until no other process holds the warehouse DuckDB file, rather than fail on its lock.

    The run lock dies with its run, but a run killed during dbt leaves dbt behind, still writing the
    file for a few seconds; someone may also have the file open in a DuckDB shell.
    """
    import duckdb

    announced = False
    while database.exists():
        try:
            duckdb.connect(str(database)).close()
            return
        except duckdb.Error as error:
            holder = re.search(r"Conflicting lock is held in (.*?) \(PID (\d+)\)", str(error))
            if holder is None:
                return  # not a lock: dbt will say what is wrong with the file
            if not announced:
                print(f"{database.name} is open in another process (PID {holder[2]}, {holder[1]}); "
                      "waiting for it to close it...", flush=True)
                announced = True
            time.sleep(poll_seconds)


_ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
_QUOTED_PATH = re.compile(r"(?<=[\"'])/[^\"'\\\n]+")


def _step_failures(result) -> list[tuple[str, str]]:
    """(step, message) for every failed step: the description we wrote for a dagster Failure, else the error
    that caused it (not Dagster's wrapper around it), never a stack trace."""
    failures = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            data = event.event_specific_data
            description = data.user_failure_data.description if data.user_failure_data else None
            error = data.error
            while error is not None and (error.cause or error.context) is not None:
                error = error.cause or error.context
            message = description or (error.message if error else "") or "unknown error"
            failures.append((event.step_key, _ANSI_COLOUR.sub("", message).strip()))
    return failures


def storage_problem(settings: Settings, failures: list[tuple[str, str]]) -> str | None:
    """One line for the OS error (disk full, read-only, ...) behind a failed step, whichever step and
    library hit it, naming the directory it could not write to."""
    for _, message in failures:
        problem = next((p for p in STORAGE_PROBLEMS if p in message), None)
        if problem is None:
            continue
        at = message.index(problem)
        nearest = min(_QUOTED_PATH.finditer(message), key=lambda m: abs(m.start() - at), default=None)
        path = nearest.group() if nearest else None
        if path is not None and settings.landing_dir in Path(path).parents:
            return f"cannot read {path}: {problem}"
        if path is None or settings.warehouse_dir == Path(path) or settings.warehouse_dir in Path(path).parents:
            return f"cannot write to the warehouse directory {settings.warehouse_dir}: {problem}"
        return f"cannot write to {Path(path).parent}: {problem}"
    return None


class _OneLineWarnings(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        message = (meta.get("orig_message") or record.getMessage()).strip().splitlines()[0]
        return f"warning: {meta['step_key']}: {message}" if meta.get("step_key") else f"warning: {message}"


def _terminal_logger():
    """Warnings as they happen, one line each. Errors are left out: the run's end lists every failure
    once, without Dagster's stack traces."""
    from dagster import logger

    @logger(description="Warnings for the terminal, one line each.")
    def terminal(_init_context) -> logging.Logger:
        log = logging.Logger("retentio.run", logging.WARNING)
        handler = logging.StreamHandler(sys.stdout)
        handler.addFilter(lambda record: record.levelno == logging.WARNING)
        handler.setFormatter(_OneLineWarnings())
        log.addHandler(handler)
        return log

    return terminal


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
    report = settings.warehouse_dir / "report" / "retention_report.html"
    if report.exists():
        print(f"  HTML report              {report}")
    audiences = settings.warehouse_dir / "audiences"
    if audiences.exists():
        print(f"  marketing audiences      {audiences}")
    print(f"  dbt docs                 make docs, then dbt_project/target/index.html")
    print("  Dagster UI               make dev")


def _published(result) -> bool:
    from pipelines.publish.assets import published_marts

    return any(event.asset_key == published_marts.key for event in result.get_asset_materialization_events())


def _run_locked(settings: Settings, args: argparse.Namespace):
    with exclusive_run(settings.warehouse_dir, settings.warehouse_db):
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
        # Step-by-step events are in the Dagster UI (make dev); the terminal gets warnings and the summary.
        job = defs.resolve_job_def("retentio_all").with_logger_defs({"terminal": _terminal_logger()})
        return job.execute_in_process(instance=instance, raise_on_error=False,
                                      run_config={"loggers": {"terminal": {}}})


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
    try:
        result = _run_locked(settings, args)
    except WarehouseUnusable as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
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
        problem = storage_problem(settings, failures)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
        for step, message in failures:
            print(f"  - {step}: {message}", file=sys.stderr)
        if not _published(result):
            state = "still holds the previous publication" if settings.bi_db.exists() else "was not created"
            print(f"Nothing was published: {settings.bi_db} {state}.", file=sys.stderr)
        return 1
    print(f"\nRun {result.run_id} succeeded in {elapsed:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
