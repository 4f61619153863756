"""The published numbers against an independent, deliberately naive computation of the definitions.

The reference (tests/reference_metrics.py) walks each customer's purchase days with plain Python (bisect),
straight from the definitions in the README: nothing is shared with the dbt models but the raw order
table. It runs for the default 365-day window and for a 60-day window, where new customers can lapse
within a quarter.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from pipelines.ingestion.raw_layer import data_glob
from tests.conftest import Workspace, failed_checks, run_pipeline
from tests.reference_metrics import reference_metrics


def raw_orders_reference(warehouse: Workspace) -> dict[tuple[str, date], dict]:
    """The reference computed from the raw layer's orders (what ingestion accepted)."""
    con = duckdb.connect()
    orders = con.execute(f"""
        select customer_id, cast(ordered_at as date) as day, status, amount
        from read_parquet('{data_glob(warehouse.warehouse_dir / 'raw' / 'orders')}')
    """).fetchall()
    return reference_metrics(orders, warehouse.activity_window_days)


def published_metrics(workspace: Workspace) -> dict[tuple[str, date], dict]:
    con = duckdb.connect(str(workspace.bi_db), read_only=True)
    try:
        result = con.execute("select * from retention_metrics")
        columns = [d[0] for d in result.description]
        return {(r["period_grain"], r["period_start"]): r for r in (dict(zip(columns, row)) for row in result.fetchall())}
    finally:
        con.close()


@pytest.fixture(scope="module")
def sixty_day_workspace(tmp_path_factory, sample_landing) -> Workspace:
    workspace = Workspace(sample_landing, tmp_path_factory.mktemp("sixty") / "warehouse", activity_window_days=60)
    result = run_pipeline(workspace)
    assert result.success, failed_checks(result)
    return workspace


def assert_matches_reference(workspace: Workspace) -> None:
    expected, actual = raw_orders_reference(workspace), published_metrics(workspace)
    assert set(actual) == set(expected)
    for key, reference in expected.items():
        row = actual[key]
        for column, value in reference.items():
            if isinstance(value, float):
                assert row[column] == pytest.approx(value, rel=1e-12), (key, column)
            else:
                assert row[column] == value, (key, column)


def test_retention_metrics_follow_the_definitions_with_a_365_day_window(published_workspace):
    assert_matches_reference(published_workspace[0])


def test_retention_metrics_follow_the_definitions_with_a_60_day_window(sixty_day_workspace):
    metrics = published_metrics(sixty_day_workspace)
    assert any(m["new_customers_inactive_at_end"] > 0 for m in metrics.values()), "the 60-day case must bite"
    assert_matches_reference(sixty_day_workspace)


def test_customer_counts_add_up(sixty_day_workspace):
    for key, m in published_metrics(sixty_day_workspace).items():
        assert m["customers_at_end"] == (m["customers_at_start"] - m["churned_customers"] + m["new_customers"]
                                         - m["new_customers_inactive_at_end"] + m["reactivated_customers"]), key
        if key[0] == "month":  # a new customer cannot lapse within a month when the window is 60 days
            assert m["customers_at_end"] == (m["customers_at_start"] - m["churned_customers"]
                                             + m["new_customers"] + m["reactivated_customers"]), key
