"""Great Expectations suites run as blocking Dagster asset checks on each raw extract."""


from dagster import AssetCheckResult, AssetChecksDefinition, AssetCheckSeverity, MetadataValue, asset_check

from pipelines.checks.gx_suites import raw_suite_name
from pipelines.checks.gx_validation import SuiteOutcome, validate_raw_extract
from pipelines.ingestion.contracts import EXTRACTS
from pipelines.shared import RetentioSettings, raw_asset_key


def outcome_result(outcome: SuiteOutcome) -> AssetCheckResult:
    described = "; ".join(
        f"{f['expectation']}({', '.join(f'{k}={v}' for k, v in f['kwargs'].items())}): "
        f"{f['unexpected_count']} unexpected, e.g. {f['examples'][:3]}"
        for f in outcome.failures
    )
    return AssetCheckResult(
        passed=outcome.success,
        severity=AssetCheckSeverity.ERROR,
        description=described or None,
        metadata={
            "suite": outcome.suite_name,
            "expectations_evaluated": outcome.evaluated,
            "rows_validated": outcome.rows_validated,
            "rows_in_table": outcome.rows_total,
            "failures": MetadataValue.json(outcome.failures),
        },
    )


def _build_contract_check(extract_name: str) -> AssetChecksDefinition:
    suite = raw_suite_name(extract_name)

    @asset_check(
        asset=raw_asset_key(extract_name),
        name="great_expectations_contract",
        blocking=True,
        description=f"Great Expectations suite `{suite}` (expectations/gx) on a fixed-seed sample of each batch of the "
                    "raw table (a batch it passed on before is not validated again).",
    )
    def _check(retentio_settings: RetentioSettings) -> AssetCheckResult:
        settings = retentio_settings.get()
        return outcome_result(validate_raw_extract(suite, settings.raw_dir / extract_name,
                                                   settings.warehouse_dir / "cache" / "great_expectations"))

    return _check


raw_contract_checks = [_build_contract_check(name) for name in EXTRACTS]
