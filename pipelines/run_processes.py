"""Which process executes a Dagster run, and whether that process is still alive.

A run killed by the OOM killer, a reboot or `kill -9` cannot say that it died: Dagster's run history keeps it
STARTED. Whether it is still running is a question about its process, so each run records which process
it is: `python -m pipelines.run` tags its runs with the host, the pid and the process's start time
(`RunProcess.current().as_tags()`); a run launched from the UI logs its pid in an engine event ("Started
process for run (pid: N)"), which is read when the tags are missing.

A pid alone proves nothing: once a process is gone its pid is given to the next one. The start time (clock
ticks since boot, with the boot's id, from /proc) tells the process that ran the run from a newcomer with
the same pid. For a pid read from an engine event only an upper bound is known: the process existed when
the event was written, so a process with that pid that started later is another one.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

HOST_TAG = "retentio/host"
PID_TAG = "retentio/pid"
PROCESS_START_TAG = "retentio/process_start"  # "<boot id>/<start time in clock ticks since boot>"
RUN_ID_VARIABLE = "RETENTIO_RUN_ID"  # set for every process a run starts (dbt inherits it)

_PROC = Path("/proc")
# The boot time in /proc/stat is whole seconds: a process start computed from it can be off by one.
_START_TIME_SLACK = 1.5  # seconds


class ProcessState(Enum):
    RUNNING = "running"
    GONE = "gone"
    UNKNOWN = "unknown"  # on another host, or nothing says which process it is


@dataclass(frozen=True)
class RunProcess:
    """The process executing a run: its host and pid, and either its exact start (`start`) or a time it was
    already running by (`running_at`, epoch seconds)."""

    host: str
    pid: int
    start: str | None = None
    running_at: float | None = None

    @classmethod
    def current(cls) -> RunProcess:
        return cls(socket.gethostname(), os.getpid(), _process_start(os.getpid()))

    def as_tags(self) -> dict[str, str]:
        return {HOST_TAG: self.host, PID_TAG: str(self.pid), PROCESS_START_TAG: self.start or ""}

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> RunProcess | None:
        if PID_TAG not in tags:
            return None
        return cls(tags.get(HOST_TAG, ""), int(tags[PID_TAG]), tags.get(PROCESS_START_TAG) or None)

    def state(self) -> ProcessState:
        if self.host != socket.gethostname():
            return ProcessState.UNKNOWN
        if not _PROC.is_dir():  # not Linux: only whether some process has the pid
            return ProcessState.RUNNING if _pid_exists(self.pid) else ProcessState.GONE
        status = _stat_fields(self.pid)
        if status is None or status[0] in ("Z", "X"):  # no such process, or exited and not yet reaped
            return ProcessState.GONE
        if self.start is not None:
            return ProcessState.RUNNING if _process_start(self.pid) == self.start else ProcessState.GONE
        if self.running_at is not None and _started_at(self.pid) > self.running_at + _START_TIME_SLACK:
            return ProcessState.GONE  # the pid was given to a newer process
        return ProcessState.RUNNING


def process_of_run(instance, run) -> RunProcess | None:
    """The process recorded for `run`: its tags, else the first engine event that logged a pid."""
    from dagster import DagsterEventType

    recorded = RunProcess.from_tags(run.tags)
    if recorded is not None:
        return recorded
    engine_events = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.ENGINE_EVENT, limit=20)
    for record in engine_events.records:
        entry = record.event_log_entry
        data = entry.dagster_event.engine_event_data if entry.dagster_event else None
        pid = data.metadata.get("pid") if data else None
        if pid is not None:
            # Runs launched from the UI run on the machine of the instance (a SQLite DAGSTER_HOME).
            return RunProcess(socket.gethostname(), int(pid.value), running_at=entry.timestamp)
    return None


def processes_left_behind(warehouse_dir: Path, except_run: str) -> dict[int, str]:
    """pid -> command line of the processes that earlier runs of this warehouse started and that outlived
    them (dbt goes on after its run is killed): their environment names this warehouse and a run other than
    `except_run`. Only meaningful once no other run of the warehouse is alive."""
    return _started_by_runs(warehouse_dir, lambda run_id: run_id != except_run)


def processes_of_run(warehouse_dir: Path, run_id: str) -> dict[int, str]:
    """pid -> command line of the processes the run `run_id` started that are still there (its dbt), the
    calling process aside."""
    return _started_by_runs(warehouse_dir, lambda started_by: started_by == run_id)


def _started_by_runs(warehouse_dir: Path, of_run: Callable[[str], bool]) -> dict[int, str]:
    """The processes whose environment names this warehouse and a run id `of_run` accepts."""
    warehouse = f"RETENTIO_WAREHOUSE_DIR={warehouse_dir}".encode()
    run_variable = f"{RUN_ID_VARIABLE}=".encode()
    found = {}
    for entry in _PROC.glob("[0-9]*"):
        try:
            if int(entry.name) == os.getpid():
                continue
            environment = (entry / "environ").read_bytes().split(b"\0")
            if warehouse not in environment:
                continue
            run_ids = [v[len(run_variable):].decode() for v in environment if v.startswith(run_variable)]
            if run_ids and of_run(run_ids[0]):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                found[int(entry.name)] = command.decode(errors="replace").strip()
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
    return found


def still_running_after(pids: Iterable[int], seconds: float) -> list[int]:
    """The processes of `pids` that have not exited by themselves within `seconds`. A run that has just
    finished leaves Dagster's compute-log helpers (`watch_orphans.py` and its `tail`) behind for up to a
    second, by design: they notice their parent is gone and exit. Signalling them would only print their
    KeyboardInterrupt into the finished run's output."""
    starts = {pid: _process_start(pid) for pid in pids}
    deadline = time.monotonic() + seconds
    while any(_alive(pid, start) for pid, start in starts.items()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [pid for pid, start in starts.items() if _alive(pid, start)]


def stop_processes(pids: Iterable[int], grace_seconds: float = 10) -> None:
    """SIGINT (dbt's own way to cancel: it stops its queries and closes the database), then SIGKILL for what
    is still there after `grace_seconds`. Each process is signalled only while it is the one found."""
    starts = {pid: _process_start(pid) for pid in pids}
    _signal_if_alive(starts, signal.SIGINT)
    deadline = time.monotonic() + grace_seconds
    while any(_alive(pid, start) for pid, start in starts.items()) and time.monotonic() < deadline:
        time.sleep(0.2)
    _signal_if_alive(starts, signal.SIGKILL)


def _alive(pid: int, start: str | None) -> bool:
    """The process `pid` that started at `start` is still running (not replaced, not exited)."""
    fields = _stat_fields(pid)
    exited = fields is None or fields[0] in ("Z", "X")
    return start is not None and not exited and _process_start(pid) == start


def _signal_if_alive(starts: dict[int, str | None], signum: int) -> None:
    for pid, start in starts.items():
        if _alive(pid, start):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (the first is the state)."""
    try:
        return (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _process_start(pid: int) -> str | None:
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return f"{_boot_id()}/{fields[19]}"  # field 22 of stat: start time in clock ticks since boot


def _started_at(pid: int) -> float:
    fields = _stat_fields(pid)
    if fields is None:
        return float("inf")
    return _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _boot_id() -> str:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown-boot"


def _boot_time() -> float:
    for line in (_PROC / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise RuntimeError("/proc/stat has no btime line")


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
