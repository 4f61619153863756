"""The daemon's side (`make dev`): dagster.yaml turns on Dagster's run monitoring with a launcher that can
tell a dead run from a live one, and Dagster's own monitoring code then fails a killed run, and only that.

Real runs in a real instance: tests/holding_runs.py holds the warehouse pool in a process of its own, as a run
launched from the UI (pid in an engine event) or by `make run` (process tags).
"""

from __future__ import annotations

import logging
import shutil

import pytest
import yaml

from pipelines.dead_runs import clean_up_dead_runs
from pipelines.run_launcher import ProcessCheckingRunLauncher
from tests.conftest import PROJECT_ROOT
from tests.holding_runs import HoldingRun
from tests.pipeline_runs import claimed_warehouse_slots, warehouse_instance


@pytest.fixture
def warehouse(tmp_path):
    (tmp_path / "warehouse" / "dagster_home").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "dagster.yaml", tmp_path / "warehouse" / "dagster_home" / "dagster.yaml")
    return tmp_path / "warehouse"


def test_dagster_yaml_turns_on_run_monitoring_with_the_process_checking_launcher(warehouse):
    config = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    with warehouse_instance(warehouse) as instance:
        assert isinstance(instance.run_launcher, ProcessCheckingRunLauncher)
        assert instance.run_launcher.supports_check_run_worker_health
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_resume_run_attempts == 0
        assert config["run_monitoring"]["free_slots_after_run_end_seconds"] > 0


@pytest.mark.slow
def test_the_daemon_fails_a_killed_run_and_leaves_a_live_one_alone(tmp_path, warehouse):
    """A run launched from the UI: only its engine events say which process runs it. (Runs of `make run`
    carry process tags, the same check: tests/test_faults.py.)"""
    from dagster._daemon.monitoring.run_monitoring import monitor_started_run

    holder = HoldingRun(warehouse, tmp_path / "logs")
    try:
        with warehouse_instance(warehouse) as instance:

            def monitor() -> None:  # what the daemon does every poll_interval_seconds
                record = instance.get_run_record_by_id(holder.run_id)
                monitor_started_run(instance, None, record, logging.getLogger())

            monitor()
            assert instance.get_run_by_id(holder.run_id).status.value == "STARTED"
            holder.kill()
            monitor()
            run = instance.get_run_by_id(holder.run_id)
            assert run.status.value == "FAILURE"
            # Dagster frees the slots of an ended run `free_slots_after_run_end_seconds` later; `make run`
            # does not wait for that.
            assert claimed_warehouse_slots(warehouse) == [holder.run_id]
            assert clean_up_dead_runs(instance) == []  # nothing left to mark failed: the daemon did
            assert claimed_warehouse_slots(warehouse) == []
    finally:
        holder.kill()
