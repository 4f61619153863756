"""What BI tools and semantic-layer clients get: a read-only connection, documented models, named metrics."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import sqlalchemy

from tests.conftest import DBT_PROJECT_DIR

# The queries a retention dashboard runs (README, "Connect your BI tool").
DASHBOARD_QUERIES = {
    "retention trend": """select period_start, retention_rate_pct, churn_rate_pct, customers_at_end
                          from retention_metrics where period_grain = 'month' and is_complete
                          order by period_start desc limit 12""",
    "cohort heatmap": """select cohort_month, months_since_first_purchase, retention_pct from customer_cohorts
                         where months_since_first_purchase <= 12 order by 1, 2""",
    "rfm segments": "select rfm_segment, count(*) as customers, sum(monetary) as revenue from rfm_scores group by 1",
    "cac by channel": """select channel, sum(spend) / nullif(sum(new_customers), 0) as cac from acquisition_costs
                         where period_grain = 'month' and channel <> 'all' group by 1""",
    "customers at risk": "select customer_key, predicted_clv_12m, health_band from customers_at_risk limit 50",
}


def test_a_bi_tool_connects_read_only_through_sqlalchemy_and_runs_the_dashboard_queries(published_workspace):
    workspace, _ = published_workspace
    engine = sqlalchemy.create_engine(f"duckdb:///{workspace.bi_db}", connect_args={"read_only": True})
    with engine.connect() as connection:
        for name, sql in DASHBOARD_QUERIES.items():
            rows = connection.execute(sqlalchemy.text(sql)).fetchall()
            assert rows, name
        with pytest.raises(sqlalchemy.exc.DBAPIError):
            connection.execute(sqlalchemy.text("create table intruder (x int)"))
    engine.dispose()


def test_every_model_and_column_is_described(published_workspace):
    workspace, _ = published_workspace
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    con = duckdb.connect(str(workspace.warehouse_db), read_only=True)
    try:
        actual = {}
        for schema, table, column in con.execute(
                "select table_schema, table_name, column_name from information_schema.columns").fetchall():
            actual.setdefault((schema, table), set()).add(column)
    finally:
        con.close()
    missing = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        if not node.get("description"):
            missing.append(f"model {node['name']}")
        documented = {name for name, column in node["columns"].items() if column.get("description")}
        for column in sorted(actual.get((node["schema"], node["alias"]), set()) - documented):
            missing.append(f"column {node['name']}.{column}")
    assert not missing, "undocumented: " + ", ".join(missing)


def test_exposures_name_the_report_and_the_dashboard_that_read_retention_metrics():
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert {"retention_report", "retention_dashboard", "marketing_audiences"} <= set(exposures)
    for name in ("retention_report", "retention_dashboard"):
        assert "model.retentio.retention_metrics" in exposures[name]["depends_on"]["nodes"]
    # The audiences read only the private view of consented members, never a published mart.
    assert exposures["marketing_audiences"]["depends_on"]["nodes"] == ["model.retentio.audience_members"]


@pytest.mark.skipif(shutil.which("mf", path=str(Path(sys.executable).parent)) is None,
                    reason="dbt-metricflow is not installed (pip install -e '.[semantic]')")
def test_a_metric_is_queried_by_name_through_metricflow(published_workspace, tmp_path):
    workspace, _ = published_workspace
    out = tmp_path / "crr.csv"
    environment = os.environ | {"RETENTIO_WAREHOUSE_DIR": str(workspace.warehouse_dir),
                                "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}
    subprocess.run([str(Path(sys.executable).parent / "mf"), "query", "--metrics", "retention_rate_pct,nps",
                    "--group-by", "metric_time__month", "--csv", str(out)],
                   cwd=DBT_PROJECT_DIR, env=environment, check=True, capture_output=True, timeout=300)
    by_month = {row["metric_time__month"][:10]: row for row in csv.DictReader(out.open())}
    con = duckdb.connect(str(workspace.bi_db), read_only=True)
    try:
        published = con.execute("""select cast(period_start as varchar), retention_rate_pct, nps
                                   from retention_metrics where period_grain = 'month'
                                   and customers_at_start > 0 and nps is not null""").fetchall()
    finally:
        con.close()
    assert published
    for month, crr, nps in published:
        assert float(by_month[month]["retention_rate_pct"]) == pytest.approx(crr, rel=1e-9)
        assert float(by_month[month]["nps"]) == pytest.approx(nps, rel=1e-9)
