"""The one entry point Dagster loads (`workspace.yaml`, `dagster dev`, `python -m pipelines.run`)."""


from dagster import Definitions, in_process_executor

from pipelines.checks.alert_checks import retention_alerts
from pipelines.checks.as_of_checks import as_of_date_not_before_the_first_order
from pipelines.checks.contract_checks import raw_contract_checks
from pipelines.checks.metrics_checks import retention_metrics_expectations
from pipelines.checks.survey_checks import survey_answers_reach_customers
from pipelines.feedback.assets import feedback_themes_asset
from pipelines.ingestion.assets import raw_extract_assets
from pipelines.ingestion.checks import anonymous_share_checks, rejection_share_checks, row_accounting_checks
from pipelines.predictions.assets import customer_clv_models
from pipelines.privacy.assets import customer_pseudonyms
from pipelines.publish.assets import audiences, published_marts
from pipelines.report.assets import report_assets
from pipelines.schedules import daily_schedule, retentio_job
from pipelines.sensors import new_extract_sensor
from pipelines.shared import RetentioSettings
from pipelines.transform.assets import DBT_ASSETS
from pipelines.transform.project import dbt_cli_resource
from pipelines.transform.rebuilds import order_day_rebuilds

defs = Definitions(
    assets=[*raw_extract_assets, customer_pseudonyms, order_day_rebuilds, *DBT_ASSETS, customer_clv_models, feedback_themes_asset, published_marts, audiences, *report_assets],
    asset_checks=[
        *row_accounting_checks, *rejection_share_checks, *anonymous_share_checks, *raw_contract_checks,
        retention_metrics_expectations, retention_alerts, survey_answers_reach_customers,
        as_of_date_not_before_the_first_order,
    ],
    jobs=[retentio_job],
    schedules=[daily_schedule],
    sensors=[new_extract_sensor],
    # Settings are read from the environment once per run (pipelines/settings.py), as this resource.
    resources={"dbt": dbt_cli_resource(), "retentio_settings": RetentioSettings()},
    # Every step that opens the warehouse file runs alone anyway (the `warehouse` pool): one process for
    # the whole run, instead of one per step, each paying for Dagster's and dbt's imports.
    executor=in_process_executor,
)
