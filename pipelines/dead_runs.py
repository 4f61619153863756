"""Runs whose process died, recognised and cleaned up at the start of every run.

A run killed by the OOM killer, a reboot or `kill -9` never reports its end: the run history keeps it
STARTED and the slot it held in the `warehouse` pool stays claimed, so every later run would wait for it
forever. Dagster's daemon can clean up after such runs (run monitoring, in dagster.yaml), but `make run`,
like a cron job, runs without a daemon; so each run looks for them before it starts. A run is dead when
the process recorded for it (pipelines/run_processes.py) is gone: it is marked failed in the run history,
saying where it was interrupted, and the slots it held are freed. So are the slots still held by runs that
did finish: Dagster frees a step's slot when the step ends, and a step stopped by a signal never does.

What a dead run leaves in the warehouse (half-built files, a dbt process still writing) is the warehouse's
business: pipelines/warehouse_turn.py removes it once no live run is left.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.run_processes import ProcessState, process_of_run
from pipelines.run_records import run_name, started_at, where_it_is


@dataclass(frozen=True)
class DeadRun:
    run_id: str
    name: str   # "the run of 03:00 (1a2b3c4d)"
    where: str  # "during retentio_dbt_models"

    def summary(self) -> str:
        return f"{self.name} was interrupted {self.where}; cleaned up"


def unfinished_runs(instance) -> list:
    """Runs the history says have not ended: ours in any such state, the UI's once they have a process
    (queued or starting ones are the daemon's, which times them out)."""
    from dagster import DagsterRunStatus, RunsFilter
    from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES

    with_a_process = {DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING}
    runs = instance.get_runs(RunsFilter(statuses=NOT_FINISHED_STATUSES))
    return [run for run in runs if run.status in with_a_process or process_of_run(instance, run) is not None]


def is_dead(instance, run) -> bool:
    process = process_of_run(instance, run)
    return process is not None and process.state() == ProcessState.GONE


def clean_up_dead_runs(instance) -> list[DeadRun]:
    """Mark every dead run failed and free its slots, and the slots finished runs still hold."""
    dead = [_mark_failed(instance, run) for run in unfinished_runs(instance) if is_dead(instance, run)]
    free_slots_of_finished_runs(instance)
    return dead


def _mark_failed(instance, run) -> DeadRun:
    from dagster._core.events import JobFailureData, RunFailureReason

    process = process_of_run(instance, run)
    dead = DeadRun(run.run_id, run_name(run.run_id, started_at(instance, run.run_id)),
                   where_it_is(instance, run.run_id, "during"))
    instance.report_run_failed(
        run,
        f"The process of this run ({process.host}, pid {process.pid}) is gone: it was killed {dead.where}. "
        "The next run marked it failed and freed its slots in the warehouse pool.",
        JobFailureData(error=None, failure_reason=RunFailureReason.UNEXPECTED_TERMINATION),
    )
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return dead


def free_slots_of_finished_runs(instance) -> list[str]:
    """Free the pool slots (claimed or waited for) of runs that have ended or are no longer in the history;
    returns their run ids."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    holders = set(storage.get_concurrency_run_ids())
    for pool in storage.get_concurrency_keys():
        holders.update(slot.run_id for slot in storage.get_concurrency_info(pool).claimed_slots)
    ended = [run_id for run_id in sorted(holders)
             if (run := instance.get_run_by_id(run_id)) is None or run.is_finished]
    for run_id in ended:
        storage.free_concurrency_slots_for_run(run_id)
    return ended
