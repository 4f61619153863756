"""`python -m pipelines.run` as a real subprocess: start it, watch the warehouse directory for the phase it
is in, kill it there, and read back what it published and what its run history says.

Each run uses its warehouse's own Dagster instance (`<warehouse>/dagster_home`, persistent, as `make run`
does): DAGSTER_HOME is left unset. Phases are recognised by what each one writes, not by timing:
- ingestion: a half-built parse (`cache/parsed/<extract>/.*.tmp`) or raw version (`raw/.versions/.*.tmp`);
- dbt: the warehouse DuckDB file being written (`retentio.duckdb.wal`, or the file itself changing);
- publish: the new BI file or exports being built beside the published ones (`.bi.duckdb.*.tmp`,
  `.exports-*.tmp`);
- any step: its STEP_START in the run history (`in_step`).
"""

from __future__ import annotations

import hashlib
import os
import re
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from tests.conftest import PROJECT_ROOT, SETTING_VARIABLES

LOCK_ERRORS = ("Could not set lock", "Conflicting lock", "database is locked")
# How a waiting or recovering run names another run when it started (pipelines/run_records.py): its time, and
# its date too when it started on another day (a test running across midnight).
RUN_STARTED = r"(?:\d{4}-\d\d-\d\d )?\d\d:\d\d"
# What a run cleaning up after a dead one prints about it (pipelines/dead_runs.py): "the run of 03:00
# (1a2b3c4d) was interrupted during ingest_orders; cleaned up", "the run 1a2b3c4d ..." when the history has no
# start time, and "was interrupted between steps" for a run killed after one step ended and before the next.
CLEANED_UP = re.compile(rf"the run (?:of {RUN_STARTED} )?\(?(\w{{8}})\)? was interrupted (?:during )?([^;]+); "
                        "cleaned up")


def cleaned_up(printed: str) -> dict[str, str]:
    """Run id prefix -> where its successor said it was interrupted (the step, "between steps", ...)."""
    return dict(CLEANED_UP.findall(printed))


@dataclass
class FinishedRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class PipelineRun:
    """One `python -m pipelines.run` in its own process group, output captured to files."""

    def __init__(self, landing: Path, warehouse: Path, log_dir: Path, name: str, preexec_fn=None, **env: str):
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stdout_path, self.stderr_path = log_dir / f"{name}.out", log_dir / f"{name}.err"
        # Without DAGSTER_HOME the run keeps its history in <warehouse>/dagster_home, as `make run` does.
        environment = {k: v for k, v in os.environ.items() if k not in (*SETTING_VARIABLES, "DAGSTER_HOME")}
        environment |= {"RETENTIO_LANDING_DIR": str(landing), "RETENTIO_WAREHOUSE_DIR": str(warehouse),
                        "RETENTIO_AS_OF_DATE": "", "PYTHONUNBUFFERED": "1"} | env
        with self.stdout_path.open("w") as out, self.stderr_path.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pipelines.run"], cwd=PROJECT_ROOT, env=environment, stdout=out,
                stderr=err, start_new_session=True, preexec_fn=preexec_fn)
        self.started = time.monotonic()
        self.orphans: dict[int, str] = {}  # pid -> command line of what a kill left running
        self._orphan_start_times: dict[int, str | None] = {}

    def wait(self, timeout: float = 300) -> FinishedRun:
        returncode = self.process.wait(timeout=timeout)
        return FinishedRun(returncode, self.stdout_path.read_text(), self.stderr_path.read_text())

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 240,
                 every: float = 0.005) -> None:
        """Poll `condition` every `every` seconds until it holds; fail if the run ends or time runs out
        first."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(f"the run ended (exit {self.process.returncode}) before {what}:\n"
                                     + self.stdout_path.read_text() + self.stderr_path.read_text())
            if time.monotonic() > deadline:
                raise AssertionError(f"no sign of {what} after {timeout} s")
            time.sleep(every)

    def kill(self, signum: int = signal.SIGKILL) -> None:
        """SIGKILL the run's own process, as the OOM killer or `kill -9` would; its children (dbt) live on.
        With SIGTERM (as `timeout` or systemd send), the run is expected to stop by itself."""
        self.orphans = descendants(self.process.pid)
        self._orphan_start_times = {pid: _start_time(pid) for pid in self.orphans}
        os.kill(self.process.pid, signum)
        self.process.wait(timeout=60)

    def wait_counting_cpu(self, timeout: float = 300) -> tuple[FinishedRun, float]:
        """Wait for the run; also return the CPU time (user + system) it and every process it started used:
        unlike the time it took, that does not depend on what else the machine is doing."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        finished = self.wait(timeout)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return finished, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the run's own process has used so far, from /proc."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def runs_child(self, command: str) -> bool:
        """A process below the run's has `command` in its command line (e.g. "dbt build")."""
        return any(command in line for line in descendants(self.process.pid).values())

    def said(self, text: str) -> bool:
        return text in self.stdout_path.read_text()

    def orphans_alive(self) -> bool:
        return any(started is not None and _start_time(pid) == started
                   for pid, started in self._orphan_start_times.items())

    def end_orphans(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pid, started in self._orphan_start_times.items():
            # Only the very process seen at the kill: its pid may have been given to another one since.
            if started is not None and _start_time(pid) == started:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


class RunSeries:
    """Runs of `python -m pipelines.run` on one landing and warehouse directory, started one after another
    or together, their logs side by side; `end()` leaves nothing they started running."""

    def __init__(self, landing: Path, warehouse: Path, log_dir: Path):
        self.landing, self.warehouse, self.log_dir = landing, warehouse, log_dir
        self.runs: list[PipelineRun] = []

    def start(self, name: str, **env: str) -> PipelineRun:
        self.runs.append(PipelineRun(self.landing, self.warehouse, self.log_dir, name, **env))
        return self.runs[-1]

    def said(self) -> str:
        """Everything the runs printed on stdout, in the order they were started."""
        return "".join(run.stdout_path.read_text() for run in self.runs)

    def end(self) -> None:
        for run in self.runs:
            run.end_orphans()


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> dict[int, str]:
    """pid -> command line of every process below `pid`."""
    found, pending = {}, [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            for child in children:
                try:
                    found[child] = Path(f"/proc/{child}/cmdline").read_text().replace("\0", " ").strip()
                except OSError:
                    found[child] = "?"
            pending += children
    return found


# --- Phases ------------------------------------------------------------------------------------------


def ingesting(warehouse: Path) -> Callable[[], bool]:
    return lambda: any(warehouse.glob("cache/parsed/*/.*.tmp")) or any(warehouse.glob("raw/.versions/.*.tmp"))


def running_dbt(warehouse: Path) -> Callable[[], bool]:
    database = warehouse / "retentio.duckdb"
    before = _stat(database)
    return lambda: (warehouse / "retentio.duckdb.wal").exists() or _stat(database) != before


def publishing(warehouse: Path) -> Callable[[], bool]:
    return lambda: any(warehouse.glob(".bi.duckdb.*.tmp")) or any(warehouse.glob(".exports-*.tmp"))


def in_step(run: PipelineRun, warehouse: Path, step: str) -> Callable[[], bool]:
    """`run` has started `step`: its STEP_START is in the warehouse's run history."""
    from dagster import DagsterEventType, RunsFilter

    opened = []

    def started() -> bool:
        if not opened:
            if not (warehouse / "dagster_home" / "history").exists():
                return False
            opened.append(warehouse_instance(warehouse))
        instance = opened[0]
        runs = instance.get_runs(RunsFilter(tags={"retentio/pid": str(run.process.pid)}), limit=1)
        if not runs:
            return False
        starts = instance.get_records_for_run(runs[0].run_id, of_type=DagsterEventType.STEP_START).records
        return any(record.event_log_entry.step_key == step for record in starts)

    return started


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        result = path.stat()
    except FileNotFoundError:
        return None
    return result.st_size, result.st_mtime_ns


# --- What was published ------------------------------------------------------------------------------


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published_bytes(warehouse: Path) -> dict[str, str]:
    """Digest of bi.duckdb and of every export, as a reader following the paths sees them."""
    files = [warehouse / "bi.duckdb", *sorted((warehouse / "exports").glob("*.parquet"))]
    return {str(p.relative_to(warehouse)): digest(p) for p in files}


def table_rows(bi_db: Path, table: str) -> list[tuple]:
    """A published table as a BI client reads it (read-only, which also proves the file opens)."""
    con = duckdb.connect(str(bi_db), read_only=True)
    try:
        return con.execute(f"select * from main.{table}").fetchall()
    finally:
        con.close()


def query(bi_db: Path, sql: str) -> list[dict]:
    """Rows of a query on a published file, read-only, as dictionaries."""
    con = duckdb.connect(str(bi_db), read_only=True)
    try:
        result = con.execute(sql)
        columns = [d[0] for d in result.description]
        return [dict(zip(columns, row)) for row in result.fetchall()]
    finally:
        con.close()


def export_rows(exports: Path) -> dict[str, list[dict]]:
    """Every Parquet export, rows in file order."""
    return {p.stem: pq.read_table(p).to_pylist() for p in sorted(exports.glob("*.parquet"))}


def leftovers(warehouse: Path) -> list[Path]:
    """Half-built files and directories, and temporary symlinks, anywhere in the warehouse."""
    return sorted([*warehouse.rglob("*.tmp"), *warehouse.rglob("*.tmp.wal"), *warehouse.rglob(".*.link")])


# --- The run history -----------------------------------------------------------------------------------


def warehouse_instance(warehouse: Path):
    """The warehouse's Dagster instance, as `make dev` opens it (DAGSTER_HOME, which the run history storage
    reads when it is created); usable as a context manager."""
    from dagster import DagsterInstance

    home, saved = str(warehouse / "dagster_home"), os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = home
    try:
        return DagsterInstance.get()
    finally:
        if saved is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = saved


@dataclass(frozen=True)
class RecordedRun:
    run_id: str
    status: str           # SUCCESS, FAILURE, STARTED, ...
    failure: str | None   # the message of its RUN_FAILURE event
    pid: int | None       # of the process that ran it, as pipelines.run records it


def run_history(warehouse: Path) -> list[RecordedRun]:
    """Every run of the warehouse's instance, oldest first, and the slots of the warehouse pool still held."""
    from dagster import DagsterEventType

    with warehouse_instance(warehouse) as instance:
        recorded = []
        for run in reversed(instance.get_runs()):
            failures = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.RUN_FAILURE).records
            message = failures[-1].event_log_entry.dagster_event.message if failures else None
            pid = run.tags.get("retentio/pid")
            recorded.append(RecordedRun(run.run_id, run.status.value, message, int(pid) if pid else None))
        return recorded


def claimed_warehouse_slots(warehouse: Path) -> list[str]:
    """Run ids holding (or queued for) a slot of the `warehouse` pool."""
    with warehouse_instance(warehouse) as instance:
        info = instance.event_log_storage.get_concurrency_info("warehouse")
        holders = {slot.run_id for slot in info.claimed_slots} | {step.run_id for step in info.pending_steps}
        return sorted(holders)

