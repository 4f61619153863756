"""Faults, with real processes: `python -m pipelines.run` killed with SIGKILL in each phase, two runs
started at once, a full disk and an unwritable warehouse, and two runs on the same input compared.

Full runs take most of a minute each, so they are shared: one warehouse lives through an uninterrupted
run, three killed ones (the last of them one of two runs started at once) and the run that recovers (see
`history`); the storage tests start from a copy of it.
"""

from __future__ import annotations

import resource
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pipeline_runs import (
    LOCK_ERRORS,
    FinishedRun,
    PipelineRun,
    export_rows,
    ingesting,
    leftovers,
    published_bytes,
    publishing,
    running_dbt,
    table_rows,
)

pytestmark = pytest.mark.slow


def copy_of(warehouse: Path, destination: Path, without: tuple[str, ...] = ()) -> Path:
    shutil.copytree(warehouse, destination, symlinks=True, ignore=shutil.ignore_patterns(*without))
    return destination


PHASES = {"ingestion": ingesting, "dbt": running_dbt, "publish": publishing}
WAITING_FOR_ORPHAN = "retentio.duckdb is open in another process"
WAITING_FOR_LOCK = "waiting for it to finish"


@dataclass
class KilledRun:
    published_before: dict[str, str]
    published_after: dict[str, str]
    metrics_after: list[tuple]
    leftovers: list[Path]
    orphans: list[str]  # command lines of the children the kill left running
    next_run_waited_for_them: bool = False


@dataclass
class History:
    """One warehouse through everything that can happen to it (see `history`)."""

    warehouse: Path
    baseline_metrics: list[tuple]
    baseline_exports: dict[str, list[dict]]
    killed: dict[str, KilledRun]
    holder: FinishedRun   # of the two runs started at once, the one that got the lock (killed in publish)
    waiter: FinishedRun   # the one that waited for it, then recovered


def _start_together(start) -> tuple[PipelineRun, PipelineRun]:
    """Two runs started at once; returns (the one holding the run lock, the one waiting for it)."""
    runs = (start("together-a"), start("together-b"))
    deadline = time.monotonic() + 120
    while not any(run.said(WAITING_FOR_LOCK) for run in runs):
        if any(run.process.poll() is not None for run in runs) or time.monotonic() > deadline:
            raise AssertionError("of two runs started at once, neither waited for the other")
        time.sleep(0.01)
    return (runs[1], runs[0]) if runs[0].said(WAITING_FOR_LOCK) else runs


@pytest.fixture(scope="module")
def history(tmp_path_factory, sample_landing, published_workspace) -> History:
    """Full runs take most of a minute, so one warehouse lives through all of it, in this order:

    1. an uninterrupted run on a fresh warehouse (a copy of the session's `published_workspace`, the same
       pipeline on the same sample): the last good publication, and the result every later run must
       reproduce;
    2. with its raw layer and parse cache removed (so that ingestion has work to be killed in), a run
       killed with SIGKILL during ingestion, then one killed during dbt (dbt outlives it and goes on
       writing the warehouse file);
    3. two runs started at once: the one that gets the lock is killed during publish, and the one
       waiting for it then recovers from everything before it.
    Each run starts on what the previous one left behind.
    """
    root = tmp_path_factory.mktemp("history")
    warehouse, logs = root / "warehouse", root / "logs"
    runs: list[PipelineRun] = []

    def start(name: str) -> PipelineRun:
        runs.append(PipelineRun(sample_landing, warehouse, logs, name))
        return runs[-1]

    try:
        published, _ = published_workspace
        assert published.landing_dir == sample_landing
        shutil.copytree(published.warehouse_dir, warehouse, symlinks=True)
        baseline_metrics = table_rows(warehouse / "bi.duckdb", "retention_metrics")
        baseline_exports = export_rows(warehouse / "exports")

        shutil.rmtree(warehouse / "raw")
        shutil.rmtree(warehouse / "cache")
        killed: dict[str, KilledRun] = {}
        previous: PipelineRun | None = None
        waiter = None
        for phase, started in PHASES.items():
            before = published_bytes(warehouse)
            if phase == "publish":
                run, waiter = _start_together(start)
            else:
                run = start(f"killed-in-{phase}")
            if previous is not None and any("dbt" in command for command in previous.orphans.values()):
                # dbt left behind by the kill during dbt: the new run must wait for it, not collide with it.
                run.wait_for(lambda: run.said(WAITING_FOR_ORPHAN) or not previous.orphans_alive(), "a wait")
                killed["dbt"].next_run_waited_for_them = run.said(WAITING_FOR_ORPHAN)
                previous.end_orphans()  # it has made its point; killed mid-write, it tests recovery too
            run.wait_for(started(warehouse), f"the {phase} phase")
            run.kill()
            killed[phase] = KilledRun(before, published_bytes(warehouse),
                                      table_rows(warehouse / "bi.duckdb", "retention_metrics"),
                                      leftovers(warehouse), list(run.orphans.values()))
            previous = run
        holder = previous.wait()
        recovery = waiter.wait()
    finally:
        for run in runs:  # if the fixture fails half-way, nothing it started may outlive the tests
            run.end_orphans()
    return History(warehouse, baseline_metrics, baseline_exports, killed, holder, recovery)


@pytest.mark.parametrize("phase", list(PHASES))
def test_a_run_killed_mid_phase_leaves_the_last_publication_readable_and_byte_identical(history, phase):
    killed = history.killed[phase]
    assert killed.published_after == killed.published_before
    assert killed.metrics_after == history.baseline_metrics
    if phase == "dbt":
        # The hard case: dbt outlives the run that started it and goes on writing the warehouse file;
        # the next run waits for it instead of failing on DuckDB's lock.
        assert any("dbt" in command for command in killed.orphans), killed.orphans
        assert killed.next_run_waited_for_them
    if phase == "publish":
        # The kill landed while the new publication was being built, not after it was swapped in.
        assert any(p.name.startswith((".bi.duckdb.", ".exports-")) for p in killed.leftovers), killed.leftovers


def test_two_runs_started_at_once_queue_instead_of_colliding(history):
    holder, waiter = history.holder, history.waiter
    assert WAITING_FOR_LOCK in waiter.stdout and WAITING_FOR_LOCK not in holder.stdout
    assert waiter.returncode == 0, waiter.output
    for run in (holder, waiter):
        assert not any(error in run.output for error in LOCK_ERRORS), run.output
        assert "Traceback" not in run.output
    # The BI file is the waiting run's publication, whole.
    publication = dict(table_rows(history.warehouse / "bi.duckdb", "publication"))
    assert f"Run {publication['dagster_run_id']} succeeded" in waiter.stdout


def test_the_next_run_cleans_up_after_the_kills_and_converges(history):
    assert history.waiter.returncode == 0, history.waiter.output
    assert leftovers(history.warehouse) == []
    assert table_rows(history.warehouse / "bi.duckdb", "retention_metrics") == history.baseline_metrics


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


def test_a_file_size_limit_hit_during_ingestion_fails_with_one_clear_line_and_keeps_the_publication(
        tmp_path, sample_landing, history):
    warehouse = copy_of(history.warehouse, tmp_path / "warehouse", without=("raw", "cache"))
    before = published_bytes(warehouse)

    run = PipelineRun(sample_landing, warehouse, tmp_path / "logs", "run",
                      preexec_fn=limit_file_size(64 << 10)).wait()

    assert run.returncode == 1
    assert_one_clear_line(run, warehouse, "File too large")
    assert f"Nothing was published: {warehouse / 'bi.duckdb'} still holds the previous publication." in run.stderr
    assert published_bytes(warehouse) == before
    assert leftovers(warehouse) == [], "a failed write leaves nothing half-built"


def test_a_full_disk_during_ingestion_fails_with_one_clear_line_and_keeps_the_publication(
        tmp_path, sample_landing, history):
    warehouse = tmp_path / "small-disk"
    warehouse.mkdir()
    mount("-t", "tmpfs", "-o", "size=16m", "tmpfs", str(warehouse))
    try:
        copy_of(history.warehouse, warehouse / "copy", without=("raw", "cache"))
        for entry in (warehouse / "copy").iterdir():
            entry.rename(warehouse / entry.name)
        (warehouse / "copy").rmdir()
        before = published_bytes(warehouse)
        free = shutil.disk_usage(warehouse).free
        (warehouse / "ballast").write_bytes(b"\0" * (free - (64 << 10)))  # room for a first file or two

        run = PipelineRun(sample_landing, warehouse, tmp_path / "logs", "run").wait()

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
