"""Why retention moved, sliced metrics and alerts, on published data and on data with a planted churn spike."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.sample_data import generate
from tests.conftest import Workspace, failed_checks, run_pipeline
from tests.pipeline_runs import query

ADDITIVE = ("customers_at_start", "customers_at_end", "new_customers", "churned_customers", "retained_customers",
            "reactivated_customers", "new_customers_inactive_at_end", "purchasing_customers", "revenue")


def test_segment_slices_add_up_to_the_totals(published_workspace):
    workspace, _ = published_workspace
    sums = ", ".join(f"sum(s.{c}) as {c}" for c in ADDITIVE)
    rows = query(workspace.bi_db, f"""
        select s.period_grain, s.period_start, s.dimension, {sums}
        from retention_metrics_by_segment as s group by all
    """)
    totals = {(r["period_grain"], r["period_start"]): r for r in query(workspace.bi_db, "select * from retention_metrics")}
    dimensions = {r["dimension"] for r in rows}
    assert dimensions == {"acquisition_channel", "country", "cohort_year", "rfm_segment"}
    for row in rows:
        total = totals[(row["period_grain"], row["period_start"])]
        for column in ADDITIVE:
            assert float(row[column]) == pytest.approx(float(total[column]), abs=0.01), (row["dimension"], column)


def test_driver_contributions_add_up_to_the_total_change_and_split_into_mix_and_rate(published_workspace):
    workspace, _ = published_workspace
    rows = query(workspace.bi_db, "select * from retention_drivers")
    totals = {r["metric"]: r for r in rows if r["dimension"] == "total"}
    assert set(totals) == {"churned_customers", "retention_rate_pct", "revenue"}
    by_dimension: dict[tuple[str, str], float] = {}
    for row in rows:
        if row["dimension"] == "total":
            continue
        assert row["change"] == pytest.approx(row["mix_effect"] + row["rate_effect"], abs=1e-9)
        key = (row["metric"], row["dimension"])
        by_dimension[key] = by_dimension.get(key, 0.0) + row["change"]
    assert len(by_dimension) == 3 * 4
    for (metric, dimension), change in by_dimension.items():
        assert change == pytest.approx(totals[metric]["change"], abs=1e-9), (metric, dimension)
    churn = totals["churned_customers"]
    previous, current = query(workspace.bi_db, f"""
        select churned_customers from retention_metrics where period_grain = 'month'
          and period_start in ('{churn['previous_period_start']}', '{churn['current_period_start']}')
        order by period_start""")
    assert churn["change"] == current["churned_customers"] - previous["churned_customers"]


@pytest.fixture(scope="module")
def spiked_workspace(tmp_path_factory) -> Workspace:
    """Sample data in which paid_social customers stop buying on 2026-05-01: with a 60-day activity window,
    those active at the end of May churn in June, the last complete month."""
    root = tmp_path_factory.mktemp("spike")
    landing = root / "landing"
    generate(landing, customers=3000, seed=13, progress=False)
    con = duckdb.connect()
    con.execute(f"""
        create table kept as
        select o.* from read_csv('{landing}/orders_*.csv', all_varchar = true) as o
        join read_csv('{landing}/customers.csv', all_varchar = true) as c using (customer_id)
        where not (c.acquisition_channel = 'paid_social' and o.ordered_at >= '2026-05-01')
    """)
    for path in landing.glob("orders_*.csv"):
        path.unlink()
    con.execute(f"copy kept to '{landing}/orders.csv' (header, delimiter ',')")
    workspace = Workspace(landing, root / "warehouse", activity_window_days=60)
    result = run_pipeline(workspace)
    assert result.success, failed_checks(result)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    workspace.alert_check = checks["no_retention_alert"]
    return workspace


def test_a_churn_spike_in_one_channel_raises_an_alert_naming_that_channel(spiked_workspace):
    alerts = {a["metric"]: a for a in query(spiked_workspace.bi_db, "select * from alerts")}
    assert "churn_rate_pct" in alerts
    churn = alerts["churn_rate_pct"]
    assert (churn["driver_dimension"], churn["driver_segment"]) == ("acquisition_channel", "paid_social")
    assert "paid_social" in churn["message"] and churn["current_value"] > churn["trailing_average"]
    check = spiked_workspace.alert_check
    assert check.passed is False and "paid_social" in check.description
