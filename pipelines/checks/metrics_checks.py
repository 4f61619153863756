"""The Great Expectations suite on `retention_metrics`, a blocking check in front of publish."""

from dagster import AssetCheckResult, asset_check

from pipelines.checks.contract_checks import outcome_result
from pipelines.checks.gx_suites import RETENTION_METRICS_SUITE
from pipelines.checks.gx_validation import load_sample, validate_frame
from pipelines.shared import RetentioSettings
from pipelines.transform.assets import dbt_model_key


@asset_check(
    asset=dbt_model_key("retention_metrics"),
    name="great_expectations_retention_metrics",
    blocking=True,
    description="Great Expectations suite `retention_metrics` (expectations/gx): ranges, grains, uniqueness.",
)
def retention_metrics_expectations(retentio_settings: RetentioSettings) -> AssetCheckResult:
    import duckdb  # loads when a step runs, not with the code location

    con = duckdb.connect(str(retentio_settings.get().warehouse_db), read_only=True)
    try:
        frame, total = load_sample("marts.retention_metrics", con)
    finally:
        con.close()
    return outcome_result(validate_frame(RETENTION_METRICS_SUITE, frame, total))
