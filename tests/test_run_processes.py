"""Telling whether the process of a run is still alive, with real processes: a pid is not enough once the
process is gone and its pid given to another, so the start time is checked too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from pipelines.run_processes import (
    RUN_ID_VARIABLE,
    ProcessState,
    RunProcess,
    processes_left_behind,
    processes_of_run,
    still_running_after,
    stop_processes,
)


def started_and_ended() -> int:
    """The pid of a process that has come and gone."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_running_process_is_running_and_survives_its_tags():
    current = RunProcess.current()
    assert current.state() == ProcessState.RUNNING
    assert RunProcess.from_tags(current.as_tags()) == current


def test_a_process_that_ended_is_gone():
    gone = RunProcess(RunProcess.current().host, started_and_ended(), RunProcess.current().start)
    assert gone.state() == ProcessState.GONE


def test_a_pid_given_to_another_process_is_not_the_run_s_process():
    current = RunProcess.current()
    boot, ticks = current.start.rsplit("/", 1)
    earlier_process = RunProcess(current.host, current.pid, f"{boot}/{int(ticks) - 100}")
    before_a_reboot = RunProcess(current.host, current.pid, f"another-boot/{ticks}")
    assert earlier_process.state() == ProcessState.GONE
    assert before_a_reboot.state() == ProcessState.GONE


def test_a_pid_read_from_an_engine_event_is_checked_against_when_the_event_was_written():
    """Runs launched from the UI log only their pid: a process with that pid that started after the event
    was written is a newcomer."""
    current = RunProcess.current()
    ten_days_ago = time.time() - 10 * 24 * 3600
    assert RunProcess(current.host, current.pid, running_at=time.time()).state() == ProcessState.RUNNING
    assert RunProcess(current.host, current.pid, running_at=ten_days_ago).state() == ProcessState.GONE


def test_a_process_on_another_host_is_not_judged():
    assert RunProcess("another-host", os.getpid(), "boot/1").state() == ProcessState.UNKNOWN


def test_what_an_earlier_run_of_the_warehouse_left_running_is_found_and_stopped(tmp_path):
    warehouse, other_warehouse = tmp_path / "warehouse", tmp_path / "other"

    def sleeper(run_id: str, warehouse_dir) -> subprocess.Popen:
        environment = os.environ | {RUN_ID_VARIABLE: run_id, "RETENTIO_WAREHOUSE_DIR": str(warehouse_dir)}
        # SIGINT as a run's processes have it: a test started in the background by a shell without job
        # control inherits it ignored (and `sleep` would then only go with the SIGKILL that follows)
        return subprocess.Popen(["sleep", "60"], env=environment,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    left_behind, current, elsewhere = sleeper("dead-run", warehouse), sleeper("this-run", warehouse), \
        sleeper("dead-run", other_warehouse)
    try:
        found = processes_left_behind(warehouse, except_run="this-run")
        assert set(found) == {left_behind.pid}, found
        assert found[left_behind.pid] == "sleep 60"
        # What a run stopped by SIGTERM stops before it ends: its own (pipelines/run.py).
        assert set(processes_of_run(warehouse, "this-run")) == {current.pid}

        started = time.monotonic()
        stop_processes(found)
        assert left_behind.wait(timeout=5) != 0 and time.monotonic() - started < 5  # SIGINT was enough
        assert current.poll() is None and elsewhere.poll() is None
    finally:
        for process in (left_behind, current, elsewhere):
            process.kill()
            process.wait()


def test_what_exits_by_itself_is_left_to_exit():
    """A finished run's compute-log helpers exit a moment after it: they are not signalled."""
    leaving, staying = subprocess.Popen(["sleep", "0.5"]), subprocess.Popen(["sleep", "60"])
    try:
        assert still_running_after([leaving.pid, staying.pid], seconds=3) == [staying.pid]
        assert leaving.wait(timeout=1) == 0  # exited normally, never signalled
    finally:
        staying.kill()
        staying.wait()
