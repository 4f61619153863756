"""Start a run when a new or changed extract lands and has stopped growing."""


import hashlib
import json
import time

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from pipelines.ingestion.contracts import EXTRACTS
from pipelines.ingestion.landing import discover_files, landing_name
from pipelines.schedules import retentio_job
from pipelines.settings import Settings
from pipelines.shared import RetentioSettings

# A file modified less than this long ago may still be being copied in: wait for the next tick.
SETTLE_SECONDS = 30


def landing_snapshot(settings: Settings) -> dict[str, list[int]]:
    """{landing name: [size, mtime_ns]} for every extract file in the landing directory and its folders."""
    snapshot = {}
    for extract in EXTRACTS.values():
        for path in discover_files(settings.landing_dir, extract):
            stat = path.stat()
            snapshot[landing_name(path, settings.landing_dir)] = [stat.st_size, stat.st_mtime_ns]
    return snapshot


@sensor(
    job=retentio_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="Runs the pipeline when a file in RETENTIO_LANDING_DIR is new or changed and has settled.",
)
def new_extract_sensor(context: SensorEvaluationContext, retentio_settings: RetentioSettings):
    current = landing_snapshot(retentio_settings.get())
    previous = json.loads(context.cursor) if context.cursor else {}
    changed = sorted(name for name, state in current.items() if previous.get(name) != state)
    if not changed:
        return SkipReason("no new or changed extract")
    now_ns = time.time_ns()
    unsettled = [n for n in changed if now_ns - current[n][1] < SETTLE_SECONDS * 1_000_000_000]
    if unsettled:
        return SkipReason(f"waiting for {', '.join(unsettled)} to stop changing")
    context.update_cursor(json.dumps(current, sort_keys=True))
    run_key = hashlib.blake2b(json.dumps(current, sort_keys=True).encode(), digest_size=12).hexdigest()
    return RunRequest(run_key=run_key, tags={"retentio/trigger": "new_extract", "retentio/files": ", ".join(changed)[:200]})
