"""`python -m pipelines.run`: the main job from the command line, what `make run` calls.

Waits for its turn at the warehouse (cleaning up after runs that died, pipelines/warehouse_turn.py),
generates sample data when the landing directory is empty, materializes every asset through Dagster
(recorded in the warehouse's Dagster instance, so the runs show in `make dev`), and prints what happened
and where the outputs are.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import signal
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from pipelines.run_console import console_logger, full_stream_to, log_file_logger, run_log_path
from pipelines.run_processes import (
    RUN_ID_VARIABLE,
    RunProcess,
    processes_of_run,
    still_running_after,
    stop_processes,
)
from pipelines.run_summary import print_checks, print_ingestion_summary, print_outputs, print_retention_metrics
from pipelines.settings import Settings, SettingsError, export_to_environment
from pipelines.waiting import Wait, WaitTimedOut
from pipelines.warehouse_turn import SELF_EXIT_SECONDS, WarehouseUnusable, clear_the_warehouse, warehouse_turn

DEFAULT_SAMPLE_CUSTOMERS = 10_000
DEFAULT_SAMPLE_SEED = 7


class LandingUnrecognised(Exception):
    """The landing directory holds files but no extract: sample data is only ever generated into an empty one,
    never beside someone's own files."""


def landing_is_empty(landing_dir: Path) -> bool:
    """Nothing but hidden files (or no directory yet): where `make run` generates sample data. A folder
    counts, even an empty one: a bucket sync laying out `orders/2024-01.csv` must never get sample data
    published beside it."""
    return not landing_dir.is_dir() or not any(not p.name.startswith(".") for p in landing_dir.iterdir())


def unread_landing_files(landing_dir: Path, sources_config: Path | None = None) -> list[str]:
    """The landing files that match no extract by name and type, which the run does not read (an export called
    order_lines.csv, sales.csv, orders.numbers, ...); LandingUnrecognised, saying what to change, when no file
    is an extract."""
    from pipelines.ingestion.contracts import EXTRACTS
    from pipelines.ingestion.landing import SUPPORTED_SUFFIXES, discover_files, extract_file_patterns, \
        files_matching_no_extract, landing_name

    unread = [landing_name(p, landing_dir) for p in files_matching_no_extract(landing_dir)]
    if any(discover_files(landing_dir, extract) for extract in EXTRACTS.values()):
        return unread
    found = (_match_no_extract(unread) + _renames_that_fit(landing_dir, unread, sources_config) if unread
             else "it holds no extract")
    raise LandingUnrecognised(
        f"no extract in {landing_dir}: {found}. Extracts are recognised by their file names, "
        f"{extract_file_patterns()} (or their folders', e.g. orders/2024-01.csv), and types, "
        f"{', '.join(SUPPORTED_SUFFIXES)} (a .zip archive: by its name or its one text file's; another "
        "spreadsheet, such as Apple Numbers: export it as .xlsx or CSV); an export of order lines "
        "is an orders* file too. Rename the files (`make check-extracts` then shows what the ingestion makes "
        "of each); sample data is only generated into an empty landing directory")


# Files named in a message about the landing directory: a folder of other files (a backup, a copied project)
# should not bury the message, nor be opened file by file for a rename that fits.
NAMED_AT_MOST = 10


def _match_no_extract(names: list[str]) -> str:
    """'order_lines.csv matches no extract'; 'a.csv, …, j.csv and 3 other files match no extract'"""
    named = ", ".join(names[:NAMED_AT_MOST])
    if len(names) > NAMED_AT_MOST:
        named += f" and {len(names) - NAMED_AT_MOST} other files"
    return f"{named} {'matches' if len(names) == 1 else 'match'} no extract"


def _renames_that_fit(landing_dir: Path, names: list[str], sources_config: Path | None) -> str:
    """' (rename clients.xlsx to customers_clients.xlsx: its columns are the customers extract's)' for the
    files whose header maps onto an extract; '' when none does."""
    from pipelines.ingestion.readers import extract_whose_columns_fit, renamed_for
    from pipelines.ingestion.source_config import SourceConfigError, load_source_config

    try:
        config = load_source_config(landing_dir, sources_config)
    except SourceConfigError:
        return ""  # the run's ingestion says what is wrong with it
    renames = []
    for name in names[:NAMED_AT_MOST]:
        fits = extract_whose_columns_fit(landing_dir / name, config)
        if fits is not None:
            renamed = PurePosixPath(name).with_name(renamed_for(landing_dir / name, fits))
            renames.append(f"rename {name} to {renamed}: its columns are the "
                           f"{fits.name} extract's")
    return f" ({'; '.join(renames)})" if renames else ""


# What a full disk or a read-only directory looks like in an error message, whichever library raised it.
STORAGE_PROBLEMS = tuple(os.strerror(code) for code in
                         (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM))

# The exit status of a run stopped by SIGTERM or Ctrl-C (Dagster takes both signals over while it executes,
# so which one came is not known there).
EXIT_STOPPED = 130


class RunStopped(KeyboardInterrupt):
    """SIGTERM or Ctrl-C before Dagster's execution began (while waiting, or preparing). A KeyboardInterrupt,
    so that no `except Exception` on the way mistakes it for an error."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)


@contextmanager
def stop_on_signals():
    """SIGTERM stops the run as Ctrl-C does, promptly and with a message, also while it waits. During
    execution Dagster handles both itself: the step running is interrupted (dbt is sent SIGINT), the run
    is marked failed, and these handlers are put back."""

    def stop(signum, _frame):
        raise RunStopped(signum)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


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
            if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
                # Dagster's own words ("1 blocking asset check failed with ERROR severity: ...") say less
                # than the check's message, printed under "Failed checks".
                message = "a blocking check failed (its message is under \"Failed checks\" above): nothing " \
                          "downstream of it ran"
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


# DuckDB's out-of-memory error (in a step's own connection or in dbt's); its advice ("SET memory_limit") is
# for a DuckDB session, not for someone running the pipeline
_DUCKDB_OUT_OF_MEMORY = "Out of Memory Error"


def memory_problem(settings: Settings, failures: list[tuple[str, str]]) -> str | None:
    """One line for a step that ran out of the memory the settings give DuckDB, saying which settings to
    change."""
    if not any(_DUCKDB_OUT_OF_MEMORY in message for _, message in failures):
        return None
    return (f"DuckDB ran out of the memory this run gives it (RETENTIO_DUCKDB_MEMORY_LIMIT="
            f"{settings.duckdb_memory_limit}, RETENTIO_DUCKDB_THREADS={settings.duckdb_threads}): raise the "
            "limit to what the machine can spare (e.g. RETENTIO_DUCKDB_MEMORY_LIMIT=8GB for ten million "
            "customers on 16 GB or more) or lower the threads, then run again; the data need no change")


def _published(result) -> bool:
    from pipelines.publish.assets import published_marts

    return any(event.asset_key == published_marts.key for event in result.get_asset_materialization_events())


def _interrupted(result) -> bool:
    """Whether the run ended because SIGTERM or Ctrl-C interrupted it."""
    from dagster import DagsterEventType
    from dagster._core.events import RunFailureReason

    return any(event.event_type == DagsterEventType.RUN_FAILURE and event.event_specific_data is not None
               and event.event_specific_data.failure_reason == RunFailureReason.UNEXPECTED_TERMINATION
               for event in result.all_events)


def _run_in_turn(settings: Settings, args: argparse.Namespace, wait: Wait, run_id: str, log_path: Path | None):
    """Materialize every asset once the warehouse is this run's (warehouse_turn.py), recording in the run
    which process runs it, so that the next run can tell if it died. The full log goes to `log_path`
    (None: to the terminal), the terminal gets progress and warnings (run_console.py)."""
    with warehouse_turn(settings, run_id, wait) as instance:
        clear_the_warehouse(instance, settings, wait, run_id)
        if landing_is_empty(settings.landing_dir):
            from pipelines.sample_data import generate

            print(f"The landing directory {settings.landing_dir} is empty: generating sample data "
                  f"({args.sample_customers:,} customers, seed {args.seed})...", flush=True)
            # A few bad rows of each kind, so the quarantine has something to show.
            generate(settings.landing_dir, customers=args.sample_customers, seed=args.seed, dirty=True,
                     progress=sys.stderr.isatty())
        unread = unread_landing_files(settings.landing_dir, settings.sources_config_file)
        if unread:
            renames = _renames_that_fit(settings.landing_dir, unread, settings.sources_config_file)
            print(f"warning: {settings.landing_dir}: {_match_no_extract(unread)}{renames}, not read "
                  "(make check-extracts)", file=sys.stderr, flush=True)
        from pipelines.definitions import defs

        os.environ[RUN_ID_VARIABLE] = run_id  # dbt inherits it: the next run can find it if it outlives us
        job = defs.resolve_job_def("retentio_all")
        steps_total = len(job.graph.nodes)  # one step per node: an op, a multi-asset or a check
        print(f"Materializing every asset (landing: {settings.landing_dir}; "
              f"{'full log: ' + str(log_path) if log_path else 'full log below'})...", flush=True)
        with full_stream_to(log_path) as terminal:
            # Step-by-step events are in the Dagster UI (make dev) and the log; the terminal gets progress.
            job = job.with_logger_defs({"terminal": console_logger(terminal, steps_total),
                                        "full_log": log_file_logger()})
            result = job.execute_in_process(instance=instance, raise_on_error=False, run_id=run_id,
                                            tags=RunProcess.current().as_tags(),
                                            run_config={"loggers": {"terminal": {}, "full_log": {}}})
        if _interrupted(result):
            # dagster-dbt forwards the interrupt to dbt from its output loop and waits at most 25 s for it:
            # dbt can still be writing the warehouse when the run ends.
            stop_processes(still_running_after(processes_of_run(settings.warehouse_dir, run_id),
                                               SELF_EXIT_SECONDS))
        return result


def _stopped_during(settings: Settings, result) -> str:
    """The one line for a run SIGTERM or Ctrl-C interrupted: where, and what became of the publication."""
    steps = sorted({step for step, _ in _step_failures(result)})
    where = f"during {', '.join(steps)}" if steps else "between steps"
    outcome = "It had published." if _published(result) else _nothing_published(settings)
    return f"Run {result.run_id} stopped by SIGTERM or Ctrl-C {where}. {outcome}"


def _nothing_published(settings: Settings) -> str:
    state = "still holds the previous publication" if settings.bi_db.exists() else "was not created"
    return f"Nothing was published: {settings.bi_db} {state}."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample-customers", type=int, default=DEFAULT_SAMPLE_CUSTOMERS,
                        help="size of the sample generated when the landing directory is empty")
    parser.add_argument("--seed", type=int, default=DEFAULT_SAMPLE_SEED)
    parser.add_argument("--verbose", action="store_true",
                        help="stream dbt's and Dagster's full log to the terminal instead of the run's log file")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    export_to_environment(settings)
    started = time.monotonic()
    run_id = str(uuid.uuid4())  # as Dagster makes them; chosen here to name the run's log file
    log_path = None if args.verbose else run_log_path(settings.warehouse_dir, run_id)
    wait = Wait(f"the warehouse {settings.warehouse_dir}", settings.max_wait_seconds,
                "RETENTIO_MAX_WAIT_SECONDS")
    try:
        with stop_on_signals():
            result = _run_in_turn(settings, args, wait, run_id, log_path)
    except WarehouseUnusable as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    except LandingUnrecognised as problem:
        print(f"error: {problem}. {_nothing_published(settings)}", file=sys.stderr)
        return 2
    except WaitTimedOut as problem:
        print(f"error: {problem}. {_nothing_published(settings)}", file=sys.stderr)
        return 3
    except RunStopped as stop:
        doing = f"waiting for {wait.what}" if wait.waiting else "preparing the run"
        print(f"Stopped by {stop} while {doing}: nothing was run. {_nothing_published(settings)}",
              file=sys.stderr)
        return EXIT_STOPPED
    if _interrupted(result):
        print(_stopped_during(settings, result), file=sys.stderr)
        return EXIT_STOPPED
    print_ingestion_summary(settings)
    if result.success:
        print_retention_metrics(settings)
    print_checks(result)
    print_outputs(settings, log_path)
    failures = _step_failures(result)
    elapsed = time.monotonic() - started
    if not result.success:
        print(f"\nRun {result.run_id} FAILED after {elapsed:.1f} s:", file=sys.stderr)
        problem = storage_problem(settings, failures) or memory_problem(settings, failures)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
        for step, message in failures:
            print(f"  - {step}: {message}", file=sys.stderr)
        if not _published(result):
            print(_nothing_published(settings), file=sys.stderr)
        return 1
    print(f"\nRun {result.run_id} succeeded in {elapsed:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
