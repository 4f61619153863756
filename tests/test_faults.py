"""Faults, with real processes: `python -m pipelines.run` killed with SIGKILL in each phase and stopped with
SIGTERM during dbt, two runs started at once, a full disk and an unwritable warehouse, and two runs on the
same input compared.

Every run keeps its history in the warehouse's own, persistent Dagster instance, as `make run` does: a
killed run stays STARTED there, holding its slot of the `warehouse` pool, until the next run recognises that
its process is gone and cleans up after it. Full runs take most of a minute each, so they are shared: one
warehouse lives through an uninterrupted run, four interrupted ones (the last of them one of two runs
started at once) and the run that recovers (see `history`); the storage tests start from a copy of it.
"""

from __future__ import annotations

import re
import resource
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.pipeline_runs import (
    CLEANED_UP,
    LOCK_ERRORS,
    RUN_STARTED,
    FinishedRun,
    PipelineRun,
    RecordedRun,
    RunSeries,
    claimed_warehouse_slots,
    export_rows,
    ingesting,
    leftovers,
    published_bytes,
    publishing,
    run_history,
    running_dbt,
    table_rows,
)

pytestmark = pytest.mark.slow


def copy_of(warehouse: Path, destination: Path, without: tuple[str, ...] = ()) -> Path:
    shutil.copytree(warehouse, destination, symlinks=True, ignore=shutil.ignore_patterns(*without))
    return destination


PHASES = {"ingestion": ingesting, "dbt": running_dbt, "publish": publishing}
STEPS_OF_PHASE = {"ingestion": "ingest_", "dbt": "retentio_dbt_models", "publish": "bi__published_marts"}
WAITING = "Waiting for "
STOPPING_LEFTOVERS = "Stopping what earlier runs left running"


@dataclass
class KilledRun:
    pid: int
    published_before: dict[str, str]
    published_after: dict[str, str]
    metrics_after: list[tuple]
    leftovers: list[Path]
    orphans: list[str]  # command lines of the children the kill left running
    next_run_stopped_them: bool = False
    # (run id prefix, step) of each "... was interrupted during <step>; cleaned up" the next run printed
    cleaned_up_as: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class TerminatedRun:
    """A run sent SIGTERM during dbt."""

    finished: FinishedRun
    seconds_to_exit: float
    children_left: bool
    published_before: dict[str, str]
    published_after: dict[str, str]


@dataclass
class History:
    """One warehouse through everything that can happen to it (see `history`)."""

    warehouse: Path
    baseline_metrics: list[tuple]
    baseline_exports: dict[str, list[dict]]
    killed: dict[str, KilledRun]
    terminated: TerminatedRun
    holder: FinishedRun   # of the two runs started at once, the one that got the lock (killed in publish)
    waiter: FinishedRun   # the one that waited for it, then recovered
    waiter_cpu_share: float       # of one core, while it waited
    seconds_to_publish: float     # how long the holder took from its start to publishing
    seconds_to_recover: float     # how long the waiter took from the holder's death to its end
    cpu_to_publish: float         # the CPU time the holder (and dbt) used until then
    cpu_to_recover: float         # the CPU time the waiter (and dbt) used in all
    runs: list[RecordedRun]       # the warehouse's run history at the end


def _start_together(start) -> tuple[PipelineRun, PipelineRun]:
    """Two runs started at once; returns (the one holding the run lock, the one waiting for it)."""
    runs = (start("together-a"), start("together-b"))
    deadline = time.monotonic() + 120
    while not any(run.said(WAITING) for run in runs):
        if any(run.process.poll() is not None for run in runs) or time.monotonic() > deadline:
            raise AssertionError("of two runs started at once, neither waited for the other")
        time.sleep(0.01)
    return (runs[1], runs[0]) if runs[0].said(WAITING) else runs


def _cpu_of_reaped_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _children_end(run: PipelineRun, seconds: float) -> bool:
    """Whether what the run had started (dbt, and multiprocessing's resource tracker, which follows its
    parent a moment later) is gone within `seconds`."""
    deadline = time.monotonic() + seconds
    while run.orphans_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not run.orphans_alive()


def _cleaned_up(run: PipelineRun) -> list[tuple[str, str]]:
    return CLEANED_UP.findall(run.stdout_path.read_text())


@pytest.fixture(scope="module")
def history(tmp_path_factory, sample_landing, published_workspace) -> History:
    """Full runs take most of a minute, so one warehouse lives through all of it, in this order:

    1. an uninterrupted run on a fresh warehouse (a copy of the session's `published_workspace`, the same
       pipeline on the same sample): the last good publication, and the result every later run must
       reproduce;
    2. with its raw layer and parse cache removed (so that ingestion has work to be killed in), a run
       killed with SIGKILL during ingestion; then one killed with SIGKILL during dbt (dbt outlives it and
       goes on writing the warehouse file, and the run stays STARTED in the run history with the warehouse
       pool's slot claimed: what used to block every later run forever); then one stopped with SIGTERM
       during dbt, after it has stopped the dbt left running;
    3. two runs started at once: the one that gets the lock is killed during publish, and the one
       waiting for it (its CPU time measured) then recovers from everything before it.
    Each run starts on what the previous one left behind.
    """
    root = tmp_path_factory.mktemp("history")
    warehouse = root / "warehouse"
    series = RunSeries(sample_landing, warehouse, root / "logs")
    start = series.start
    try:
        published, _ = published_workspace
        assert published.landing_dir == sample_landing
        shutil.copytree(published.warehouse_dir, warehouse, symlinks=True)
        baseline_metrics = table_rows(warehouse / "bi.duckdb", "retention_metrics")
        baseline_exports = export_rows(warehouse / "exports")

        shutil.rmtree(warehouse / "raw")
        shutil.rmtree(warehouse / "cache")
        killed: dict[str, KilledRun] = {}

        def kill(phase: str, run: PipelineRun, before: dict[str, str]) -> PipelineRun:
            run.wait_for(PHASES[phase](warehouse), f"the {phase} phase")
            run.kill()
            killed[phase] = KilledRun(run.process.pid, before, published_bytes(warehouse),
                                      table_rows(warehouse / "bi.duckdb", "retention_metrics"),
                                      leftovers(warehouse), list(run.orphans.values()))
            return run

        def note_cleanup(phase: str, by: PipelineRun) -> None:
            killed[phase].cleaned_up_as = _cleaned_up(by)

        kill("ingestion", start("killed-in-ingestion"), published_bytes(warehouse))
        killed_in_dbt = kill("dbt", start("killed-in-dbt"), published_bytes(warehouse))
        note_cleanup("ingestion", by=killed_in_dbt)

        before = published_bytes(warehouse)
        terminated_run = start("terminated-in-dbt")
        terminated_run.wait_for(
            lambda: terminated_run.said(STOPPING_LEFTOVERS) or not killed_in_dbt.orphans_alive(),
            "the dbt left running by the killed run to be stopped")
        killed["dbt"].next_run_stopped_them = terminated_run.said(STOPPING_LEFTOVERS)
        terminated_run.wait_for(lambda: terminated_run.runs_child("dbt build"), "dbt", every=0.05)
        note_cleanup("dbt", by=terminated_run)
        sent = time.monotonic()
        terminated_run.kill(signal.SIGTERM)
        seconds_to_exit = time.monotonic() - sent
        # dbt stops at its next node, which takes longer on a loaded machine
        children_left = not _children_end(terminated_run, 15)
        terminated = TerminatedRun(terminated_run.wait(), seconds_to_exit, children_left, before,
                                   published_bytes(warehouse))

        before = published_bytes(warehouse)
        holder_run, waiter_run = _start_together(start)
        waited_from, cpu_from = time.monotonic(), waiter_run.cpu_seconds()
        reaped_before = _cpu_of_reaped_children()
        kill("publish", holder_run, before)
        holder_cpu = _cpu_of_reaped_children() - reaped_before
        waiter_cpu_share = (waiter_run.cpu_seconds() - cpu_from) / (time.monotonic() - waited_from)
        holder_died = time.monotonic()
        recovery, recovery_cpu = waiter_run.wait_counting_cpu()
        seconds_to_recover = time.monotonic() - holder_died
        note_cleanup("publish", by=waiter_run)
    finally:
        series.end()  # if the fixture fails half-way, nothing it started may outlive the tests
    seconds_to_publish = holder_died - holder_run.started
    return History(warehouse, baseline_metrics, baseline_exports, killed, terminated, holder_run.wait(),
                   recovery, waiter_cpu_share, seconds_to_publish, seconds_to_recover, holder_cpu,
                   recovery_cpu, run_history(warehouse))


@pytest.mark.parametrize("phase", list(PHASES))
def test_a_run_killed_mid_phase_leaves_the_last_publication_readable_and_byte_identical(history, phase):
    killed = history.killed[phase]
    assert killed.published_after == killed.published_before
    assert killed.metrics_after == history.baseline_metrics
    if phase == "dbt":
        # The hard case: dbt outlives the run that started it and goes on writing the warehouse file; the
        # next run stops it (knowing it by the run id in its environment) rather than fail on DuckDB's lock.
        assert any("dbt" in command for command in killed.orphans), killed.orphans
        assert killed.next_run_stopped_them
    if phase == "publish":
        # The kill landed while the new publication was being built, not after it was swapped in.
        assert any(p.name.startswith((".bi.duckdb.", ".exports-")) for p in killed.leftovers), killed.leftovers


@pytest.mark.parametrize("phase", list(PHASES))
def test_the_next_run_marks_a_killed_run_failed_and_says_where_it_was_interrupted(history, phase):
    killed = history.killed[phase]
    recorded = next(run for run in history.runs if run.pid == killed.pid)
    assert recorded.status == "FAILURE"
    assert "is gone: it was killed during" in recorded.failure, recorded.failure
    assert [prefix for prefix, _ in killed.cleaned_up_as] == [recorded.run_id[:8]], killed.cleaned_up_as
    assert killed.cleaned_up_as[0][1].startswith(STEPS_OF_PHASE[phase])


def test_after_the_kills_the_run_history_is_settled_and_no_slot_is_held(history):
    assert [run.status for run in history.runs if run.status not in ("SUCCESS", "FAILURE")] == []
    assert history.runs[-1].status == "SUCCESS"
    assert claimed_warehouse_slots(history.warehouse) == []


def test_sigterm_during_dbt_stops_the_run_promptly_and_keeps_the_publication(history):
    terminated = history.terminated
    assert terminated.finished.returncode == 130, terminated.finished.output
    assert terminated.seconds_to_exit < 30
    lines = [line for line in terminated.finished.stderr.splitlines() if "stopped by SIGTERM" in line]
    assert len(lines) == 1 and "during retentio_dbt_models" in lines[0], terminated.finished.output
    assert "Traceback" not in terminated.finished.output
    assert not terminated.children_left, "dbt was stopped with its run"
    assert terminated.published_after == terminated.published_before
    recorded = [run for run in history.runs if run.failure and "interrupted" in run.failure]
    assert len(recorded) == 1 and recorded[0].status == "FAILURE"


def test_two_runs_started_at_once_queue_instead_of_colliding(history):
    holder, waiter = history.holder, history.waiter
    assert WAITING in waiter.stdout and WAITING not in holder.stdout
    assert waiter.returncode == 0, waiter.output
    for run in (holder, waiter):
        assert not any(error in run.output for error in LOCK_ERRORS), run.output
        assert "Traceback" not in run.output
    # The BI file is the waiting run's publication, whole.
    publication = dict(table_rows(history.warehouse / "bi.duckdb", "publication"))
    assert f"Run {publication['dagster_run_id']} succeeded" in waiter.stdout


def test_a_run_shows_progress_and_keeps_the_full_log_in_a_file(history):
    """The terminal gets a line per step, warnings and the summary; dbt's node log goes to the run's file."""
    shown = history.waiter.stdout
    log = Path(re.search(r"this run's full log\s+(\S+)", shown).group(1))
    full = log.read_text()
    assert re.search(r"\[\s*\d+/\d+\] retentio_dbt_models\s+\d+\.\d s", shown), shown
    assert "Running with dbt" in full and "OK created sql table model" in full
    assert "Running with dbt" not in shown and "OK created" not in history.waiter.output
    assert len(shown.splitlines()) <= 80, shown
    assert "Traceback" not in full


def test_a_waiting_run_names_whom_it_waits_for_and_sleeps(history):
    """(Its line every 30 s, naming the step the run waited for is in: tests/test_waiting.py.)"""
    print(f"waiting run's CPU share: {history.waiter_cpu_share:.2%}")
    holder_id = next(run.run_id for run in history.runs if run.pid == history.killed["publish"].pid)[:8]
    lines = [line for line in history.waiter.stdout.splitlines() if line.startswith(WAITING)]
    named = [re.match(rf"Waiting for the run of {RUN_STARTED} \({holder_id}\), ", line) for line in lines]
    assert lines and all(named), lines
    assert history.waiter_cpu_share < 0.05


def test_the_next_run_cleans_up_after_the_kills_and_converges(history):
    assert history.waiter.returncode == 0, history.waiter.output
    assert leftovers(history.warehouse) == []
    assert table_rows(history.warehouse / "bi.duckdb", "retention_metrics") == history.baseline_metrics
    # Its turn came as soon as the holder died, and it did the work of one run: compared in CPU time, which
    # other work on the machine does not stretch (the wall-clock bound only catches a run that waited).
    print(f"recovery: {history.seconds_to_recover:.1f} s, {history.cpu_to_recover:.1f} s CPU; the run killed "
          f"in publish: {history.seconds_to_publish:.1f} s, {history.cpu_to_publish:.1f} s CPU until then")
    assert history.cpu_to_recover < 1.25 * history.cpu_to_publish + 5
    assert history.seconds_to_recover < 2 * history.seconds_to_publish + 20


def test_runs_on_the_same_input_publish_the_same_rows_in_the_same_order(history):
    exports = export_rows(history.warehouse / "exports")
    assert exports.keys() == history.baseline_exports.keys() and "retention_metrics" in exports
    differing = [table for table, rows in exports.items() if rows != history.baseline_exports[table]]
    assert differing == [], f"differ between two runs on the same input: {differing}"
    metrics = table_rows(history.warehouse / "bi.duckdb", "retention_metrics")
    assert metrics == history.baseline_metrics and len(metrics) > 0
    assert [tuple(row.values()) for row in exports["retention_metrics"]] == metrics


# --- Storage problems ----------------------------------------------------------------------------------


def assert_one_clear_line(run: FinishedRun, directory: Path, problem: str) -> None:
    expected = f"error: cannot write to the warehouse directory {directory}"
    lines = [line for line in run.stderr.splitlines() if line.startswith(expected)]
    assert len(lines) == 1 and problem in lines[0], run.output
    assert "Traceback" not in run.output and "Stack Trace" not in run.output


def test_a_warehouse_directory_under_a_file_fails_with_one_clear_line(tmp_path, sample_landing):
    (tmp_path / "not-a-directory").write_text("")
    warehouse = tmp_path / "not-a-directory" / "warehouse"

    run = PipelineRun(sample_landing, warehouse, tmp_path / "logs", "run").wait()

    assert run.returncode == 2
    assert run.stderr.strip() == (f"error: cannot write to the warehouse directory {warehouse} "
                                  f"(RETENTIO_WAREHOUSE_DIR): {tmp_path / 'not-a-directory'} is a file, not a directory")


def mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here ({result.stderr.strip() or 'mount failed'}): needs root outside a "
                    "restricted container")


def test_a_read_only_warehouse_fails_with_one_clear_line_and_keeps_the_publication(tmp_path, sample_landing,
                                                                                    history):
    source = copy_of(history.warehouse, tmp_path / "source")
    before = published_bytes(source)
    warehouse = tmp_path / "read-only"
    warehouse.mkdir()
    mount("--bind", str(source), str(warehouse))
    try:
        mount("-o", "remount,bind,ro", str(warehouse))
        run = PipelineRun(sample_landing, warehouse, tmp_path / "logs", "run").wait()
    finally:
        subprocess.run(["umount", str(warehouse)], check=True)

    assert run.returncode == 2
    assert_one_clear_line(run, warehouse, "Read-only file system")
    assert published_bytes(source) == before


def limit_file_size(max_bytes: int):
    """For the child: writes past `max_bytes` fail with EFBIG (File too large), as on a full disk."""
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return apply


def test_a_file_size_limit_fails_with_one_clear_line_and_keeps_the_publication(tmp_path, sample_landing,
                                                                                 history):
    """The run history (in the warehouse, SQLite) is the first file to grow past the limit: the run stops
    before its first step, saying so in one line."""
    warehouse = copy_of(history.warehouse, tmp_path / "warehouse", without=("raw", "cache"))
    before = published_bytes(warehouse)

    run = PipelineRun(sample_landing, warehouse, tmp_path / "logs", "run",
                      preexec_fn=limit_file_size(64 << 10)).wait()

    assert run.returncode == 2
    assert run.stderr.strip() == (
        f"error: cannot write the run history in {warehouse / 'dagster_home'} "
        "(DAGSTER_HOME, by default in the warehouse directory): disk I/O error"), run.output
    assert published_bytes(warehouse) == before
    assert leftovers(warehouse) == [], "a failed write leaves nothing half-built"


def test_a_full_disk_during_ingestion_fails_with_one_clear_line_and_keeps_the_publication(
        tmp_path, sample_landing, history):
    warehouse = tmp_path / "small-disk"
    warehouse.mkdir()
    mount("-t", "tmpfs", "-o", "size=32m", "tmpfs", str(warehouse))
    try:
        copy_of(history.warehouse, warehouse / "copy", without=("raw", "cache", "dagster_home"))
        for entry in (warehouse / "copy").iterdir():
            entry.rename(warehouse / entry.name)
        (warehouse / "copy").rmdir()
        before = published_bytes(warehouse)
        free = shutil.disk_usage(warehouse).free
        (warehouse / "ballast").write_bytes(b"\0" * (free - (64 << 10)))  # room for a first file or two

        # The run history on another disk (DAGSTER_HOME), so that ingestion is the first to find it full.
        run = PipelineRun(sample_landing, warehouse, tmp_path / "logs", "run",
                          DAGSTER_HOME=str(tmp_path / "dagster_home")).wait()

        assert run.returncode == 1
        assert_one_clear_line(run, warehouse, "No space left on device")
        assert published_bytes(warehouse) == before
        assert leftovers(warehouse) == [], "a failed write leaves nothing half-built"
    finally:
        subprocess.run(["umount", str(warehouse)], check=True)


# What each library says when the disk is full, as seen in real runs: the summary names the directory.
DISK_FULL_MESSAGES = [
    ('_duckdb.IOException: IO Error: Async write failed for range [offset=59665, size=13718]: {"exception_type":'
     '"IO","exception_message":"Could not write file \\"{warehouse}/cache/parsed/orders/.d034-7e99.tmp/rows.parquet'
     '\\": File too large"}', "cannot write to the warehouse directory {warehouse}: File too large"),
    ("The dbt CLI process with command\n\n`/venv/bin/dbt build --vars {\"activity_window_days\": 365} --target "
     "duckdb`\n\nfailed with exit code `1`. [...] view the dbt debug log: /project/dbt_project/target/x/dbt.log."
     "\n\n  TransactionContext Error: Failed to commit: Could not write file \"{warehouse}/retentio.duckdb.wal\": "
     "No space left on device", "cannot write to the warehouse directory {warehouse}: No space left on device"),
    ("OSError: [Errno 28] No space left on device: '/project/dbt_project/target/x/manifest.json'",
     "cannot write to /project/dbt_project/target/x: No space left on device"),
    ("PermissionError: [Errno 13] Permission denied: '{landing}/orders.csv'",
     "cannot read {landing}/orders.csv: Permission denied"),
    ("KeyError: 'amount'", None),
]


@pytest.mark.parametrize(("message", "summary"), DISK_FULL_MESSAGES,
                         ids=["duckdb", "dbt", "python", "landing", "other"])
def test_the_summary_names_the_directory_a_storage_error_is_about(tmp_path, message, summary):
    from pipelines.run import storage_problem
    from pipelines.settings import Settings

    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    settings = Settings(landing, warehouse, None, 365, 91, "EUR", "1GB", 1, "duckdb")
    def placed(text: str) -> str:
        return text.replace("{warehouse}", str(warehouse)).replace("{landing}", str(landing))

    assert storage_problem(settings, [("step", placed(message))]) == (placed(summary) if summary else None)


def test_the_summary_says_which_settings_give_duckdb_more_memory(tmp_path):
    """The 10M benchmark's ingest_orders failed at the default 3GB with DuckDB's own advice ("SET
    memory_limit"); the summary names the settings a user changes."""
    from pipelines.run import memory_problem
    from pipelines.settings import Settings

    settings = Settings(tmp_path / "landing", tmp_path / "warehouse", None, 365, 91, "EUR", "3GB", 2, "duckdb")
    message = ("_duckdb.OutOfMemoryException: Out of Memory Error: failed to allocate data of size 1.0 GiB "
               "(2.1 GiB/2.7 GiB used)\n\nPossible solutions:\n* Reducing the number of threads (SET threads=X)")
    problem = memory_problem(settings, [("ingest_customers", "KeyError: 'amount'"), ("ingest_orders", message)])
    assert "RETENTIO_DUCKDB_MEMORY_LIMIT=3GB" in problem and "RETENTIO_DUCKDB_THREADS=2" in problem
    assert "raise the limit" in problem
    assert memory_problem(settings, [("ingest_orders", "KeyError: 'amount'")]) is None
