"""When Retentio runs on its own: every morning, and when a new extract lands (sensors.py)."""


from dagster import AssetSelection, DefaultScheduleStatus, ScheduleDefinition, define_asset_job

from pipelines.transform.rebuilds import ORDER_DAY_REBUILDS_KEY

# Everything but the backfill requests (rebuilds/order_days), which only a backfill materializes.
retentio_job = define_asset_job(
    "retentio_all",
    selection=AssetSelection.all() - AssetSelection.keys(ORDER_DAY_REBUILDS_KEY),
    description="Ingest every extract, build the dbt models, check them and publish the BI file.",
)

daily_schedule = ScheduleDefinition(
    name="retentio_daily",
    job=retentio_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description="Daily refresh at 06:00 UTC, after the night's extracts have landed.",
)
