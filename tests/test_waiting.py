"""Waiting for the warehouse, with real processes: `python -m pipelines.run` while a real Dagster run holds
the warehouse pool (tests/holding_runs.py, standing in for a run launched from the UI).

A waiting run sleeps, names the run it waits for, gives up after RETENTIO_MAX_WAIT_SECONDS, stops at once on
SIGTERM, and goes on as soon as the run it waits for dies. A run on another warehouse does not wait at all.
`Wait` itself is tested first, on its own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from pipelines.waiting import Busy, Wait, WaitTimedOut
from pipelines.warehouse_turn import RUN_LOCK_NAME, _holder_of, _run_lock_busy
from tests.conftest import PROJECT_ROOT
from tests.holding_runs import HOLDING_STEP, HoldingRun
from tests.pipeline_runs import (
    RUN_STARTED,
    PipelineRun,
    claimed_warehouse_slots,
    published_bytes,
    run_history,
)

# --- Wait on its own ----------------------------------------------------------------------------------


def test_a_wait_returns_at_once_when_nothing_is_busy(capsys):
    Wait("the warehouse", 10, "SETTING").until_free(lambda: None)
    assert capsys.readouterr().out == ""


def test_a_wait_announces_a_new_holder_at_once_and_the_same_one_every_interval(capsys):
    looks = iter([Busy("run A", "in step 1"), Busy("run A", "in step 2"), *[Busy("run B")] * 14, None])
    Wait("the warehouse", 10, "SETTING", announce_every=0.5, look_every=0.05).until_free(lambda: next(looks))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" to release")[0] for line in lines] == [
        "Waiting for run A, in step 1,", "Waiting for run B", "Waiting for run B"]


def test_a_wait_gives_up_after_its_time_naming_what_it_waited_for():
    wait = Wait("the warehouse", 0.3, "RETENTIO_MAX_WAIT_SECONDS", look_every=0.05)
    with pytest.raises(WaitTimedOut, match=r"gave up after 0 s waiting for run A, in step 1, to release the "
                                           r"warehouse \(RETENTIO_MAX_WAIT_SECONDS=0.3\)"):
        wait.until_free(lambda: Busy("run A", "in step 1"))
    assert wait.waiting  # an exception ends the wait: the run was stopped while waiting


def test_a_run_that_has_just_taken_the_lock_is_named_once_it_writes_its_name(tmp_path):
    """Between taking the run lock and writing its name into it, the lock file names the previous holder
    (or nothing): a look in that moment waits for the new name instead of naming no one, or the dead."""
    lock_path = tmp_path / RUN_LOCK_NAME
    lock_path.write_text(json.dumps({"run_id": "the-previous-run", "pid": 2**22 + 1, "since": 0}))
    taker = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time\n"
        "from pipelines.warehouse_turn import _write_holder\n"
        f"lock = open({str(lock_path)!r}, 'a+')\n"
        "fcntl.flock(lock, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "time.sleep(0.5)\n"
        "_write_holder(lock, 'the-new-run')\n"
        "time.sleep(60)\n")], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert taker.stdout.readline() == "locked\n"
        assert _holder_of(lock_path)["run_id"] == "the-new-run"
        assert _holder_of(lock_path)["pid"] == taker.pid
    finally:
        taker.kill()
        taker.wait()
    assert _holder_of(lock_path, patience_seconds=0.2) is None  # its process has ended: no one to name


# --- pipelines.run waiting for a real run ----------------------------------------------------------------

WAITING = "Waiting for "


@pytest.fixture(scope="module")
def held(tmp_path_factory, published_workspace) -> tuple[Path, HoldingRun]:
    """A copy of a published warehouse, and a live run holding its pool, as a run launched from the UI would
    (only its engine events say which process runs it)."""
    published, _ = published_workspace
    root = tmp_path_factory.mktemp("held")
    warehouse = Path(shutil.copytree(published.warehouse_dir, root / "warehouse", symlinks=True))
    holder = HoldingRun(warehouse, root / "holder")
    yield warehouse, holder
    holder.kill()


def waiting_lines(run: PipelineRun) -> list[str]:
    return [line for line in run.stdout_path.read_text().splitlines() if line.startswith(WAITING)]


def test_a_lock_still_held_by_what_a_killed_run_started_names_that_run(tmp_path):
    """A run killed with SIGKILL leaves the lock to its children for a moment: the wait names the run that
    ended, not "another Retentio run" (a flaky line of test_faults' waiting run, before)."""
    lock_path = tmp_path / RUN_LOCK_NAME
    lock_path.write_text(json.dumps({"run_id": "0123456789abcdef-killed", "pid": 2**22 + 1, "since": 0}))
    child = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, time\n"
        f"lock = open({str(lock_path)!r}, 'a+')\n"
        "fcntl.flock(lock, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n")], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "locked\n"
        with lock_path.open("a+") as lock:
            busy = _run_lock_busy(lock, instance=None)
    finally:
        child.kill()
        child.wait()
    assert str(busy).startswith("the run of ") and "(01234567)" in str(busy), busy
    assert busy.doing == "ended, its last processes still holding the warehouse"


# Waits for the second line, 30 s: with `make test-slow`; `make test` sees the first line and the sleep
# (tests/test_faults.py).
@pytest.mark.slow
@pytest.mark.long
def test_a_run_waits_asleep_naming_the_live_run_every_30_seconds_and_stops_at_once_on_sigterm(
        tmp_path, sample_landing, held):
    warehouse, holder = held
    before = published_bytes(warehouse)
    waiting = PipelineRun(sample_landing, warehouse, tmp_path, "waiting")
    waiting.wait_for(lambda: waiting.said(WAITING), "a wait", every=0.05)
    began, cpu = time.monotonic(), waiting.cpu_seconds()
    waiting.wait_for(lambda: len(waiting_lines(waiting)) == 2, "the second line", timeout=60, every=0.2)
    between_lines = time.monotonic() - began
    cpu_share = (waiting.cpu_seconds() - cpu) / between_lines
    sent = time.monotonic()
    waiting.kill(signal.SIGTERM)
    finished = waiting.wait()
    stopped_after = time.monotonic() - sent

    assert 29 < between_lines < 35
    first, second = waiting_lines(waiting)
    assert re.search(r"\((\d+) s so far", second)[1] in ("30", "31", "32"), second
    for line in (first, second):
        assert re.fullmatch(rf"Waiting for the run of {RUN_STARTED} \({holder.run_id[:8]}\), "
                            rf"in {HOLDING_STEP}, "
                            rf"to release the warehouse {warehouse} \(\d+ s so far; giving up after 3600 s, "
                            r"RETENTIO_MAX_WAIT_SECONDS\)", line), line
    assert cpu_share < 0.05
    assert finished.returncode == 130 and stopped_after < 5
    assert finished.stderr.strip() == (
        f"Stopped by SIGTERM while waiting for the warehouse {warehouse}: nothing was run. "
        f"Nothing was published: {warehouse / 'bi.duckdb'} still holds the previous publication.")
    assert published_bytes(warehouse) == before
    assert holder.process.poll() is None, "the run waited for is left alone"


@pytest.mark.slow
def test_a_run_gives_up_waiting_after_retentio_max_wait_seconds(tmp_path, sample_landing, held):
    warehouse, holder = held
    impatient = PipelineRun(sample_landing, warehouse, tmp_path, "impatient", RETENTIO_MAX_WAIT_SECONDS="3")
    finished = impatient.wait()

    assert finished.returncode == 3, finished.output
    assert re.fullmatch(
        rf"error: gave up after 3 s waiting for the run of {RUN_STARTED} \({holder.run_id[:8]}\), "
        rf"in {HOLDING_STEP}, to release the warehouse {warehouse} \(RETENTIO_MAX_WAIT_SECONDS=3\)\. "
        rf"Nothing was published: {warehouse / 'bi.duckdb'} still holds the previous publication\.",
        finished.stderr.strip()), finished.stderr


@pytest.mark.slow
def test_runs_on_separate_warehouses_do_not_wait_for_each_other(tmp_path, sample_landing, held,
                                                                 published_workspace):
    warehouse, holder = held
    other = Path(shutil.copytree(published_workspace[0].warehouse_dir, tmp_path / "other", symlinks=True))
    run = PipelineRun(sample_landing, other, tmp_path, "other")
    run.wait_for(lambda: run.said("Materializing every asset"), "the run to start", every=0.05)
    run.kill(signal.SIGTERM)
    finished = run.wait()

    assert WAITING not in finished.stdout
    assert holder.run_id in [r.run_id for r in run_history(warehouse)]
    assert holder.run_id not in [r.run_id for r in run_history(other)]  # each warehouse, its own history
    instance_config = (other / "dagster_home" / "dagster.yaml").read_text()
    assert instance_config == (PROJECT_ROOT / "dagster.yaml").read_text()


@pytest.mark.slow
def test_when_the_run_waited_for_dies_the_waiting_run_cleans_up_and_goes_on(tmp_path, sample_landing, held):
    warehouse, holder = held
    waiting = PipelineRun(sample_landing, warehouse, tmp_path, "waiting")
    try:
        waiting.wait_for(lambda: waiting.said(WAITING), "a wait", every=0.05)
        holder.kill()
        died = time.monotonic()
        waiting.wait_for(lambda: waiting.said("Materializing every asset"), "the run to go on", every=0.05)
        went_on_after = time.monotonic() - died
        waiting.kill(signal.SIGTERM)  # it has made its point; stopped as it starts, it must stop cleanly too
        finished = waiting.wait()
    finally:
        waiting.end_orphans()

    assert f"({holder.run_id[:8]}) was interrupted during {HOLDING_STEP}; cleaned up" in finished.stdout
    assert went_on_after < 10
    assert finished.returncode == 130 and "Traceback" not in finished.output, finished.output
    history = {run.run_id: run for run in run_history(warehouse)}
    assert history[holder.run_id].status == "FAILURE" and "is gone" in history[holder.run_id].failure
    assert all(run.status in ("FAILURE", "CANCELED") for run in history.values())
    assert claimed_warehouse_slots(warehouse) == []


@pytest.mark.slow
def test_a_run_waits_for_a_process_that_has_the_warehouse_file_open(tmp_path, sample_landing,
                                                                      published_workspace):
    """A DuckDB shell left open on retentio.duckdb: named with its pid, waited for, then given up on."""
    warehouse = Path(shutil.copytree(published_workspace[0].warehouse_dir, tmp_path / "warehouse",
                                     symlinks=True))
    holds_it_open = ("import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
                     "print('open', flush=True); time.sleep(600)")
    shell = subprocess.Popen([sys.executable, "-c", holds_it_open, str(warehouse / "retentio.duckdb")],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert shell.stdout.readline().strip() == "open"
        run = PipelineRun(sample_landing, warehouse, tmp_path, "run", RETENTIO_MAX_WAIT_SECONDS="3")
        finished = run.wait()
    finally:
        shell.kill()
        shell.wait()

    assert finished.returncode == 3, finished.output
    assert f"Waiting for the process with PID {shell.pid} (" in finished.stdout
    assert f"which has retentio.duckdb open, to release the warehouse {warehouse}" in finished.stdout
    gave_up = f"error: gave up after 3 s waiting for the process with PID {shell.pid} ("
    assert finished.stderr.startswith(gave_up), finished.stderr


def test_make_dev_and_make_run_use_the_instance_of_the_same_warehouse(tmp_path, monkeypatch):
    """`make` exports DAGSTER_HOME for `make dev`; `python -m pipelines.run` finds the same home by itself."""
    from pipelines.instance_home import dagster_home
    from pipelines.settings import Settings

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("RETENTIO_WAREHOUSE_DIR", raising=False)

    def make_exports(**variables: str) -> Path:
        print_home = ["--eval", "home: ; @echo $(DAGSTER_HOME)", "home"]
        result = subprocess.run(["make", "-s", "--no-print-directory", *print_home], cwd=PROJECT_ROOT,
                                env=os.environ | variables, capture_output=True, text=True, check=True)
        return Path(result.stdout.strip())

    default = PROJECT_ROOT / "data" / "warehouse"
    assert make_exports() == default / "dagster_home"
    for warehouse in (default, tmp_path):
        settings = replace(Settings.from_env(), warehouse_dir=warehouse)
        assert dagster_home(settings) == warehouse / "dagster_home"
        assert make_exports(RETENTIO_WAREHOUSE_DIR=str(warehouse)) == warehouse / "dagster_home"
