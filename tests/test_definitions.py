"""The graph users rely on: asset keys, blocking checks, the job, the schedule and the sensor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from dagster import AssetKey, DagsterInstance, DailyPartitionsDefinition, SkipReason, build_sensor_context

from pipelines.definitions import defs
from pipelines.sensors import SETTLE_SECONDS, new_extract_sensor
from pipelines.shared import RetentioSettings
from tests.conftest import PROJECT_ROOT, Workspace, environment

EXTRACTS = ("customers", "orders", "survey_responses", "marketing_spend")
MARTS = ("customers", "customer_cohorts", "rfm_scores", "nps_by_period", "acquisition_costs", "retention_metrics")


def test_every_extract_mart_and_the_publication_is_an_asset():
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    for extract in EXTRACTS:
        assert {f"raw/{extract}", f"raw/{extract}_quarantine", f"raw/{extract}_files"} <= keys
    assert {f"marts/{mart}" for mart in MARTS} <= keys
    assert "bi/published_marts" in keys


def test_dbt_sources_depend_on_the_ingestion_assets():
    graph = defs.resolve_asset_graph()
    parents = graph.get(AssetKey(["staging", "stg_shop__orders"])).parent_keys
    assert AssetKey(["raw", "orders"]) in parents


def test_publish_sits_behind_blocking_checks():
    graph = defs.resolve_asset_graph()
    checks = {key: graph.get_check_spec(key) for key in graph.asset_check_keys}
    names = {(key.asset_key.to_user_string(), key.name): spec.blocking for key, spec in checks.items()}
    for extract in EXTRACTS:
        assert names[(f"raw/{extract}", "every_row_loaded_or_quarantined")] is True
        assert names[(f"raw/{extract}", "great_expectations_contract")] is True
    assert names[("marts/retention_metrics", "great_expectations_retention_metrics")] is True
    dbt_tests = [name for (asset, name), blocking in names.items() if asset == "marts/retention_metrics" and blocking]
    assert any(name.startswith("expression_is_true") for name in dbt_tests), "the CE identity is a blocking check"


def test_the_job_schedule_and_sensor_users_start_from():
    assert defs.resolve_job_def("retentio_all") is not None
    assert defs.resolve_schedule_def("retentio_daily").cron_schedule == "0 6 * * *"
    assert defs.resolve_sensor_def("new_extract_sensor") is not None


def test_order_days_are_daily_partitions_and_every_asset_backfills_in_one_run():
    graph = defs.resolve_asset_graph()
    rebuilds = graph.get(AssetKey(["rebuilds", "order_days"]))
    assert isinstance(rebuilds.partitions_def, DailyPartitionsDefinition)
    assert AssetKey(["rebuilds", "order_days"]) in graph.get(AssetKey(["staging", "stg_rebuilds__order_days"])).parent_keys
    assert AssetKey(["staging", "stg_rebuilds__order_days"]) in graph.get(
        AssetKey(["intermediate", "int_purchases_summed_by_customer_day"])).parent_keys
    for key in graph.get_all_asset_keys():
        policy = graph.get(key).backfill_policy
        assert policy is not None and policy.max_partitions_per_run is None, key.to_user_string()
    job_keys = set(defs.resolve_job_def("retentio_all").asset_layer.selected_asset_keys)
    assert AssetKey(["rebuilds", "order_days"]) not in job_keys, "only backfills ask for rebuilds"


def test_the_sensor_waits_for_a_new_file_to_settle_then_requests_one_run(tmp_path):
    workspace = Workspace(tmp_path / "landing", tmp_path / "warehouse")
    workspace.landing_dir.mkdir()
    extract = workspace.landing_dir / "orders_2026_07.csv"
    extract.write_text("order_id,customer_id,ordered_at,amount,currency,status\n")
    resources = {"retentio_settings": RetentioSettings()}
    with environment(workspace), DagsterInstance.ephemeral() as instance:
        fresh = new_extract_sensor(build_sensor_context(instance=instance, resources=resources))
        assert isinstance(fresh, SkipReason) and "waiting" in fresh.skip_message
        settled = time.time() - SETTLE_SECONDS - 5
        os.utime(extract, (settled, settled))
        context = build_sensor_context(instance=instance, resources=resources)
        request = new_extract_sensor(context)
        assert request.run_key and "orders_2026_07.csv" in request.tags["retentio/files"]
        again = new_extract_sensor(build_sensor_context(instance=instance, cursor=context.cursor,
                                                        resources=resources))
        assert isinstance(again, SkipReason)
        assert json.loads(context.cursor) == {"orders_2026_07.csv": [extract.stat().st_size, extract.stat().st_mtime_ns]}


def test_the_code_location_loads_without_parsing_dbt_or_importing_great_expectations():
    code = ("import sys, time; t = time.perf_counter(); import pipelines.definitions; "
            "print(time.perf_counter() - t, 'great_expectations' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    seconds, imported_gx = out.stdout.split()
    assert imported_gx == "False"
    print(f"code location import: {float(seconds):.2f} s")


def test_the_dbt_resource_skips_only_what_dagster_dbt_still_calls():
    """The resource overrides two private dagster-dbt members to save ~10 s a run; if dagster-dbt renames
    them the override silently stops working, so this says so."""
    from dagster_dbt import DbtCliResource

    from pipelines.transform.project import DbtBesideThisPython, dbt_cli_resource

    assert {"_cli_version", "_initialize_dbt_core_adapter"} <= set(dir(DbtCliResource))
    resource = dbt_cli_resource()
    assert isinstance(resource, DbtBesideThisPython)
    installed = subprocess.run([resource.dbt_executable, "--version"], capture_output=True, text=True).stdout
    assert f"installed: {resource._cli_version}" in installed
