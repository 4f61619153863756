"""A run's turn at the warehouse: one run at a time per warehouse directory, and nothing left by a dead one.

Before a run materializes anything it takes, in order:
1. the run lock, `<warehouse>/.run.lock` (fcntl): one `python -m pipelines.run` at a time. The holder writes
   which run it is into the file, so that a waiting run can say whom it waits for; the kernel releases the
   lock when its process ends, however it ends.
2. the run history (`clear_the_warehouse`): dead runs are marked failed and their pool slots freed
   (dead_runs.py); live runs launched from the UI are waited for, as their steps hold the warehouse pool.
3. the warehouse directory: once no live run is left, what dead runs left there is removed: half-built
   dot-named `.tmp` files and the processes they started (dbt outlives a killed run and goes on writing).
4. the warehouse DuckDB file, which takes one writer and may be open in a DuckDB shell.
Each wait sleeps, says whom it waits for every 30 s, and gives up after RETENTIO_MAX_WAIT_SECONDS.
"""

from __future__ import annotations

import errno
import fcntl
import json
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from pipelines.dead_runs import clean_up_dead_runs, unfinished_runs
from pipelines.instance_home import dagster_home, open_instance
from pipelines.run_processes import (
    ProcessState,
    RunProcess,
    process_of_run,
    processes_left_behind,
    still_running_after,
    stop_processes,
)
from pipelines.run_records import run_name, started_at, where_it_is
from pipelines.settings import Settings
from pipelines.waiting import Busy, Wait

# What a finished run leaves for a moment (Dagster's compute-log helpers) exits within a second or two by
# itself; only what is still there after this long is stopped. Unless one of them holds the warehouse file
# (dbt outliving a killed run goes on writing it): then they are all stopped at once.
SELF_EXIT_SECONDS = 3
# A run writes its name into the run lock within milliseconds of taking it; a waiting run that looks in
# between looks again for up to this long before it calls the holder "another Retentio run".
HOLDER_NAMES_ITSELF_SECONDS = 2.0

RUN_LOCK_NAME = ".run.lock"
# What the steps build beside what they replace, then rename into place (see pipelines/publish/bi_file.py).
HALF_BUILT_PATTERNS = (".*.tmp", ".*.tmp.wal", ".*.link")


class WarehouseUnusable(Exception):
    """The warehouse directory cannot be written; the message is the one line the user needs."""


@contextmanager
def warehouse_turn(settings: Settings, run_id: str, wait: Wait) -> Iterator:
    """Wait for the run lock, then yield the warehouse's Dagster instance. On the way out, whatever
    happened, the run `run_id` is not left unfinished in the history and holds no pool slot (a step
    stopped by a signal does not free its own)."""
    lock = _open_run_lock(settings.warehouse_dir)
    with lock:
        try:
            instance = open_instance(settings)
        except (OSError, *_database_errors()) as error:
            raise _history_unwritable(settings, error) from None
        try:
            wait.until_free(lambda: _run_lock_busy(lock, instance))
            _write_holder(lock, run_id)
            yield instance
        except _database_errors() as error:
            raise _history_unwritable(settings, error) from None
        finally:
            _close_the_books(instance, run_id)
            instance.dispose()


def clear_the_warehouse(instance, settings: Settings, wait: Wait, run_id: str) -> None:
    """Steps 2 to 4 above, printing a line for each dead run cleaned up."""

    def live_run() -> Busy | None:
        for dead in clean_up_dead_runs(instance):  # again at every look: the run waited for may die meanwhile
            print(dead.summary(), flush=True)
        for run in unfinished_runs(instance):
            return _describe(instance, run.run_id)
        return None

    wait.until_free(live_run)
    remove_half_built(settings.warehouse_dir, dagster_home(settings))
    left_behind = processes_left_behind(settings.warehouse_dir, except_run=run_id)
    holder = _lock_holder(settings.warehouse_db) if left_behind else None
    if holder is None or holder[0] not in left_behind:  # nothing left behind holds the warehouse file
        still_running = still_running_after(left_behind, SELF_EXIT_SECONDS)
        left_behind = {pid: command for pid, command in left_behind.items() if pid in still_running}
    if left_behind:
        print("Stopping what earlier runs left running: "
              + "; ".join(f"pid {pid} ({command[:60]})" for pid, command in left_behind.items()), flush=True)
        stop_processes(left_behind)
    wait.until_free(lambda: _database_busy(settings.warehouse_db))


def remove_half_built(warehouse_dir: Path, keep_under: Path) -> list[Path]:
    """Remove the dot-named half-built files and directories anywhere in the warehouse (its Dagster
    instance aside): with the run lock held and no live run left, a dead run left them."""
    removed = []
    for pattern in HALF_BUILT_PATTERNS:
        for path in warehouse_dir.rglob(pattern):
            if keep_under == path or keep_under in path.parents:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _close_the_books(instance, run_id: str) -> None:
    try:
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:  # stopped while Dagster was still setting the run up
            instance.report_run_failed(run, "Stopped (SIGTERM or Ctrl-C) before it could record its end.")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    except _database_errors():
        pass  # the run history cannot be written: the error that stopped the run says so


def _database_errors() -> tuple[type[Exception], ...]:
    """What Dagster's SQLite run history raises when it cannot write (disk full, file too big, read-only)."""
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    return DBAPIError, sqlite3.Error


def _history_unwritable(settings: Settings, error: Exception) -> WarehouseUnusable:
    reason = getattr(error, "orig", None) or getattr(error, "strerror", None) or error
    return WarehouseUnusable(f"cannot write the run history in {dagster_home(settings)} (DAGSTER_HOME, "
                             f"by default in the warehouse directory): {reason}")


def _open_run_lock(warehouse_dir: Path):
    try:
        warehouse_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=warehouse_dir):
            pass  # the directory takes new files (not read-only, not someone else's)
        return open(warehouse_dir / RUN_LOCK_NAME, "a+")
    except OSError as error:
        raise _unusable(warehouse_dir, error) from None


def _unusable(warehouse_dir: Path, error: OSError) -> WarehouseUnusable:
    problem = error.strerror or str(error)
    if error.errno in (errno.ENOTDIR, errno.EEXIST):
        candidates = (warehouse_dir, *warehouse_dir.parents)
        blocking = next((p for p in candidates if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            problem = f"{blocking} is a file, not a directory"
    return WarehouseUnusable(f"cannot write to the warehouse directory {warehouse_dir} "
                             f"(RETENTIO_WAREHOUSE_DIR): {problem}")


def _write_holder(lock, run_id: str) -> None:
    process = RunProcess.current()
    lock.seek(0)
    lock.truncate()
    lock.write(json.dumps({"run_id": run_id, "pid": process.pid, "host": process.host, "start": process.start,
                           "since": time.time()}))
    lock.flush()


def _run_lock_busy(lock, instance) -> Busy | None:
    """None once this process holds the run lock; else who holds it, as its run history tells."""
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return None
    except BlockingIOError:
        pass
    holder = _holder_of(Path(lock.name))
    if holder is None:
        ended = _named_in(Path(lock.name))
        if ended is not None:
            # The run named in the lock has ended, but a process it started still has the lock open (a run
            # just killed): that run is what is waited for, for the moment it takes its leftovers to go.
            return Busy(run_name(ended["run_id"], datetime.fromtimestamp(ended["since"])),
                        "ended, its last processes still holding the warehouse")
        return Busy("another Retentio run")  # it has not written its name within the patience above
    run_id, pid, since = holder["run_id"], holder["pid"], holder["since"]
    if instance.get_run_record_by_id(run_id) is None:  # it has not created its Dagster run yet
        return Busy(run_name(run_id, datetime.fromtimestamp(since)), f"pid {pid}, preparing")
    return _describe(instance, run_id)


def _holder_of(lock_path: Path, patience_seconds: float = HOLDER_NAMES_ITSELF_SECONDS) -> dict | None:
    """What the run holding the lock wrote into the lock file, or None if it has not written it within
    `patience_seconds`. A run takes the lock, then writes its name: a look in between finds the file empty,
    half-written, or still naming the previous holder (whose process has ended), so look again shortly."""
    deadline = time.monotonic() + patience_seconds
    while True:
        holder = _named_in(lock_path)
        if holder is not None and _still_running(holder):
            return holder
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def _named_in(lock_path: Path) -> dict | None:
    """The run the lock file names (run_id, pid, since, ...), whether its process runs or not; None when it
    names none (empty, half-written)."""
    try:
        holder = json.loads(lock_path.read_text())
        names_a_run = (holder["run_id"] and isinstance(holder["pid"], int)
                       and isinstance(holder["since"], (int, float)))
        return holder if names_a_run else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _still_running(holder: dict) -> bool:
    try:
        process = RunProcess(holder.get("host", socket.gethostname()), holder["pid"], holder.get("start"),
                             running_at=holder["since"])
        return process.state() != ProcessState.GONE
    except (ValueError, TypeError):
        return False  # not what a run writes: no one to name


def _describe(instance, run_id: str) -> Busy:
    doing = where_it_is(instance, run_id)
    process = process_of_run(instance, instance.get_run_by_id(run_id))
    if process is not None and process.state() == ProcessState.UNKNOWN:
        doing += f", on {process.host}, where this machine cannot tell whether it still runs"
    return Busy(run_name(run_id, started_at(instance, run_id)), doing)


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


def _lock_holder(database: Path) -> tuple[int, str] | None:
    """(pid, program) of the process that has the warehouse DuckDB file open, as DuckDB's lock error names
    it; None when the file can be opened (or is missing, or fails for another reason: dbt will say what)."""
    import duckdb

    if not database.exists():
        return None
    try:
        duckdb.connect(str(database)).close()
        return None
    except duckdb.Error as error:
        holder = _LOCK_HOLDER.search(str(error))
        return (int(holder[2]), holder[1]) if holder else None


def _database_busy(database: Path) -> Busy | None:
    """Who else has the warehouse DuckDB file open (a DuckDB shell, dbt left by a run launched from the UI),
    or None when it can be opened."""
    holder = _lock_holder(database)
    if holder is None:
        return None
    pid, program = holder
    return Busy(f"the process with PID {pid} ({program})", f"which has {database.name} open")
