"""The whole graph materialized in-process: publish, idempotence and the gate (readers during a run: test_daily_runs)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from pipelines.publish.bi_file import PUBLISHED_TABLES
from tests.conftest import copy_workspace, failed_checks, run_pipeline
from tests.pipeline_runs import table_rows

PERSONAL_DATA_COLUMNS = {"email", "full_name", "comment", "customer_id"}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_run_publishes_every_mart_with_every_check_passing(published_workspace):
    workspace, result = published_workspace
    assert not failed_checks(result)
    evaluated = {e.check_name for e in result.get_asset_check_evaluations()}
    assert {"every_row_loaded_or_quarantined", "no_file_mostly_rejected", "great_expectations_contract",
            "great_expectations_retention_metrics"} <= evaluated
    con = duckdb.connect(str(workspace.bi_db), read_only=True)
    try:
        tables = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
        assert set(PUBLISHED_TABLES) | {"publication"} <= tables
        columns = {row[0] for row in con.execute("select column_name from information_schema.columns").fetchall()}
        assert not columns & PERSONAL_DATA_COLUMNS, "no CRM id, e-mail, name or free text is published"
        grains = dict(con.execute("select period_grain, count(*) from retention_metrics group by 1").fetchall())
        assert set(grains) == {"month", "quarter", "year"} and grains["month"] >= 24
    finally:
        con.close()
    for table in PUBLISHED_TABLES:
        assert (workspace.warehouse_dir / "exports" / f"{table}.parquet").exists()


def test_a_second_run_on_the_same_input_changes_nothing(published_workspace, tmp_path):
    workspace = copy_workspace(published_workspace[0], tmp_path)
    raw_before = {p.name: digest(p.resolve()) for p in (workspace.warehouse_dir / "raw").glob("*/*.parquet")}
    versions_before = sorted(p.resolve().name for p in (workspace.warehouse_dir / "raw").iterdir() if p.is_symlink())
    metrics_before = table_rows(workspace.bi_db, "retention_metrics")
    customers_before = table_rows(workspace.bi_db, "customers")

    result = run_pipeline(workspace)

    assert result.success, failed_checks(result)
    versions_after = sorted(p.resolve().name for p in (workspace.warehouse_dir / "raw").iterdir() if p.is_symlink())
    assert versions_after == versions_before
    assert {p.name: digest(p.resolve()) for p in (workspace.warehouse_dir / "raw").glob("*/*.parquet")} == raw_before
    assert table_rows(workspace.bi_db, "retention_metrics") == metrics_before
    assert table_rows(workspace.bi_db, "customers") == customers_before


def test_a_broken_extract_stops_publish_and_leaves_the_bi_file_byte_identical(published_workspace, tmp_path):
    workspace = copy_workspace(published_workspace[0], tmp_path)
    published = [workspace.bi_db, *sorted((workspace.warehouse_dir / "exports").glob("*.parquet"))]
    before = {p.name: digest(p) for p in published}
    # A re-export with the wrong settings: every amount unreadable, so every row is quarantined.
    lines = ["order_id,customer_id,ordered_at,amount,currency,status"]
    lines += [f"O-BROKEN-{i},C-0000001,2026-06-30 10:00:00,n/a,EUR,completed" for i in range(40)]
    (workspace.landing_dir / "orders_2026_07_reexport.csv").write_text("\n".join(lines) + "\n")

    result = run_pipeline(workspace)

    assert not result.success
    assert "raw/orders:no_file_mostly_rejected" in failed_checks(result)
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "bi/published_marts" not in materialized
    assert {p.name: digest(p) for p in published} == before


def test_an_as_of_date_before_the_first_order_stops_publish_and_says_so(published_workspace, tmp_path):
    """Every mart would be empty: the last publication stays, and the failed check names both dates."""
    workspace = copy_workspace(published_workspace[0], tmp_path)
    published = [workspace.bi_db, *sorted((workspace.warehouse_dir / "exports").glob("*.parquet"))]
    before = {p.name: digest(p) for p in published}

    result = run_pipeline(workspace, RETENTIO_AS_OF_DATE="2001-01-31")

    assert not result.success
    [check] = [e for e in result.get_asset_check_evaluations()
               if e.check_name == "as_of_date_not_before_the_first_order"]
    assert not check.passed
    assert check.description.startswith("the as-of date 2001-01-31 (RETENTIO_AS_OF_DATE) is before the first "
                                        "order, of 20")
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "bi/published_marts" not in materialized
    assert {p.name: digest(p) for p in published} == before


def test_the_publication_records_the_as_of_date_the_marts_were_computed_as_of(published_workspace):
    workspace, _ = published_workspace  # RETENTIO_AS_OF_DATE unset: the latest order date, resolved by dbt
    con = duckdb.connect(str(workspace.warehouse_db), read_only=True)
    try:
        resolved, latest_order = con.execute(
            "select as_of_date, latest_order_date from intermediate.int_run_settings").fetchall()[0]
    finally:
        con.close()
    con = duckdb.connect(str(workspace.bi_db), read_only=True)
    try:
        recorded = dict(con.execute("select key, value from publication").fetchall())
    finally:
        con.close()
    assert resolved == latest_order
    assert recorded["as_of_date"] == resolved.isoformat()
    assert recorded["as_of_date_setting"] == "latest order date"


def test_the_dagster_ui_shows_retention_metrics_last_months_on_its_asset_page(published_workspace):
    workspace, result = published_workspace
    observations = [event.event_specific_data.asset_observation for event in result.all_events
                    if event.event_type_value == "ASSET_OBSERVATION"
                    and event.asset_key.path == ["marts", "retention_metrics"]
                    and "last_complete_months" in event.event_specific_data.asset_observation.metadata]
    assert len(observations) == 1
    metadata = observations[0].metadata
    published = table_rows(workspace.bi_db, "retention_metrics")
    assert metadata["dagster/row_count"].value == len(published)
    table = metadata["last_complete_months"].value.splitlines()
    assert table[0].startswith("| Month | CS | CE | CN |") and len(table) == 2 + 12
