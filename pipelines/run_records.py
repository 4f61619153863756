"""What the run history says about a run, in the words a waiting or recovering run prints: "the run of
03:00 (1a2b3c4d)" and the steps it is in."""

from __future__ import annotations

from datetime import datetime


def started_at(instance, run_id: str) -> datetime | None:
    """When the run started (when it was created, if it never started), in local time."""
    record = instance.get_run_record_by_id(run_id)
    if record is None:
        return None
    if record.start_time is not None:
        return datetime.fromtimestamp(record.start_time)
    return record.create_timestamp.astimezone()


def run_name(run_id: str, started: datetime | None) -> str:
    """'the run of 03:00 (1a2b3c4d)', with the date when it is not today's."""
    if started is None:
        return f"the run {run_id[:8]}"
    today = started.date() == datetime.now().date()
    when = started.strftime("%H:%M" if today else "%Y-%m-%d %H:%M")
    return f"the run of {when} ({run_id[:8]})"


def steps_in_progress(instance, run_id: str) -> list[str]:
    """The steps the run started and did not finish, in the order they started."""
    from dagster import DagsterEventType

    ends = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE, DagsterEventType.STEP_SKIPPED}
    records = instance.get_records_for_run(
        run_id, of_type={DagsterEventType.STEP_START, *ends}, limit=10_000).records
    started = [r.event_log_entry.step_key for r in records
               if r.event_log_entry.dagster_event_type == DagsterEventType.STEP_START]
    finished = {r.event_log_entry.step_key for r in records if r.event_log_entry.dagster_event_type in ends}
    return [step for step in dict.fromkeys(started) if step not in finished]


def where_it_is(instance, run_id: str, preposition: str = "in") -> str:
    """'in retentio_dbt_models' (or 'during ...'), or where the run stands when no step is running."""
    steps = steps_in_progress(instance, run_id)
    if steps:
        return f"{preposition} {', '.join(steps)}"
    return "between steps" if _any_step_started(instance, run_id) else "before its first step"


def _any_step_started(instance, run_id: str) -> bool:
    from dagster import DagsterEventType

    return bool(instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_START, limit=1).records)
