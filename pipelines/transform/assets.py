"""Every dbt model, seed and test as Dagster assets and asset checks.

Tests with severity `error` become blocking asset checks: a failing one stops what depends on the model,
publish included. Models write into the warehouse DuckDB file, which has a single writer, so they share
the `warehouse` pool with every other step that opens it.
"""


import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetObservation, Output
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
    get_asset_key_for_model,
)

from pipelines.partitions import IN_ONE_RUN
from pipelines.settings import Settings, export_to_environment
from pipelines.shared import WAREHOUSE_POOL, RetentioSettings, applied_state, erasures_in_raw_layer, record_state
from pipelines.transform.incremental import (
    current_inputs,
    full_refresh_reason,
    read_history_inputs,
    record_history_inputs,
)
from pipelines.transform.metrics_preview import retention_metrics_metadata
from pipelines.transform.parse_cache import keep_parse_state, seeded_target_path
from pipelines.transform.project import retentio_dbt_project
from pipelines.transform.rebuilds import ensure_request_log
from pipelines.transform.spark_mirror import mirror_spark_tables, runs_on_spark


class RetentioDbtTranslator(DagsterDbtTranslator):
    """Groups assets by dbt layer (staging, intermediate, marts, reference) so the UI reads like the folders."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


# The predictive CLV and feedback assets read dbt models and write sources that later models read back. Two dbt
# asset definitions keep that a straight line (models -> predictions -> enriched models) that runs as two
# dbt invocations, rather than one definition Dagster would have to cut into many steps.
ENRICHED_SELECTION = "source:predictions+ source:feedback+"
_TRANSLATOR = RetentioDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


# dagster-dbt gives each dbt invocation its own target directory (logs, run results, compiled SQL); the
# newest few are kept for debugging, the rest would grow the project directory by megabytes a run.
INVOCATIONS_KEPT = 6


def _remove_old_invocations(target_dir: Path) -> None:
    invocations = sorted((d for d in target_dir.glob("retentio_dbt_models*") if d.is_dir()),
                         key=lambda d: d.stat().st_mtime, reverse=True)
    for old in invocations[INVOCATIONS_KEPT:]:
        shutil.rmtree(old, ignore_errors=True)


def _forget_erased_customers(context: AssetExecutionContext, settings: Settings) -> None:
    """After a new erasure request, rebuild the warehouse file from scratch: a file DuckDB rewrote in place
    could keep the erased customer's old values in its free blocks."""
    erasures = erasures_in_raw_layer(settings.raw_dir)
    state = settings.warehouse_dir / "private" / "warehouse_erasure_state.json"
    if applied_state(state) != erasures and settings.warehouse_db.exists():
        context.log.info("erasure requests changed: rebuilding the warehouse file from scratch")
        for path in (settings.warehouse_db, settings.warehouse_db.with_name(settings.warehouse_db.name + ".wal")):
            path.unlink(missing_ok=True)
    record_state(state, erasures)


def _build(context: AssetExecutionContext, dbt: DbtCliResource, settings: Settings,
           builds_histories: bool = False):
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    _forget_erased_customers(context, settings)
    export_to_environment(settings)  # the one way settings reach dbt (pipelines/settings.py, as_environment)
    # Unit tests check the SQL, not the data: CI runs them (tests/test_dbt_unit_tests.py), a production run
    # does not pay for them again.
    arguments = ["build", "--exclude", "resource_type:unit_test"]
    histories = None
    if builds_histories:
        ensure_request_log(settings.warehouse_dir)  # a dbt source, even before the first backfill
        histories = current_inputs(settings, retentio_dbt_project.manifest_path, retentio_dbt_project.project_dir)
        reason = full_refresh_reason(read_history_inputs(settings.warehouse_dir), histories, settings.warehouse_db)
        if reason:
            context.log.info(f"rebuilding the customer histories from scratch: {reason}")
            arguments.append("--full-refresh")
    target = seeded_target_path(retentio_dbt_project.project_dir, f"{context.op_execution_context.op.name}-"
                                f"{context.run.run_id[:7]}", settings.warehouse_dir)
    previewed = []
    for event in dbt.cli(arguments, context=context, target_path=target).stream():
        if isinstance(event, Output) and _model_name(context, event) == "retention_metrics":
            previewed.append(context.asset_key_for_output(event.output_name))
        yield event
    keep_parse_state(target, settings.warehouse_dir)
    if histories is not None:
        record_history_inputs(settings.warehouse_dir, histories)
    if runs_on_spark(settings):
        built = {key.path[-1] for key in context.selected_asset_keys}  # a dbt asset key ends with its model's name
        copied = mirror_spark_tables(settings, built)
        context.log.info(f"copied {len(copied)} Spark tables into {settings.warehouse_db} for the steps after dbt")
    # The preview is read once dbt has let go of the warehouse file, by then the materialization is out:
    # Dagster takes a dbt multi-asset's outputs in dependency order, as dbt finishes them. So it is an
    # observation on the same asset page.
    for key in previewed:
        yield AssetObservation(asset_key=key, metadata=retention_metrics_metadata(settings.warehouse_db))
    _remove_old_invocations(retentio_dbt_project.project_dir / "target")


def _model_name(context: AssetExecutionContext, output: Output) -> str:
    return context.asset_key_for_output(output.output_name).path[-1]  # a dbt asset key ends with the model


@dbt_assets(
    manifest=retentio_dbt_project.manifest_path,
    project=retentio_dbt_project,
    exclude=ENRICHED_SELECTION,
    dagster_dbt_translator=_TRANSLATOR,
    pool=WAREHOUSE_POOL,
    backfill_policy=IN_ONE_RUN,
)
def retentio_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, retentio_settings: RetentioSettings):
    """Staging, intermediate (the customer histories incrementally) and the marts that do not need predictions."""
    yield from _build(context, dbt, retentio_settings.get(), builds_histories=True)


@dbt_assets(
    manifest=retentio_dbt_project.manifest_path,
    project=retentio_dbt_project,
    select=ENRICHED_SELECTION,
    dagster_dbt_translator=_TRANSLATOR,
    pool=WAREHOUSE_POOL,
    backfill_policy=IN_ONE_RUN,
)
def retentio_dbt_models_with_predictions(context: AssetExecutionContext, dbt: DbtCliResource,
                                         retentio_settings: RetentioSettings):
    """The marts that carry predicted CLV and health: customers, retention_metrics, customers_at_risk, ..."""
    yield from _build(context, dbt, retentio_settings.get())


DBT_ASSETS = [retentio_dbt_models, retentio_dbt_models_with_predictions]


def dbt_model_key(model_name: str) -> AssetKey:
    """The asset key of a dbt model, whichever of the two definitions holds it: what the steps after dbt name
    their inputs by (here, beside the definitions that answer it; the other shared pieces are in
    pipelines/shared.py)."""
    for definition in DBT_ASSETS:
        try:
            return get_asset_key_for_model([definition], model_name)
        except KeyError:
            continue
    raise KeyError(f"no dbt model named {model_name!r}")
