"""The published numbers against an independent, deliberately naive computation of the definitions.

The reference below walks each customer's purchase days with plain Python (bisect), straight from the
definitions in the README: nothing is shared with the dbt models but the raw order table. It runs for
the default 365-day window and for a 60-day window, where new customers can lapse within a quarter.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import date, timedelta

import duckdb
import pytest

from pipelines.ingestion.raw_layer import data_glob
from tests.conftest import Workspace, failed_checks, run_pipeline


def month_starts(first: date, last: date) -> list[date]:
    starts, current = [], date(first.year, first.month, 1)
    while current <= last:
        starts.append(current)
        current = date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    return starts


def period_bounds(as_of: date, first_purchase: date) -> list[tuple[str, date, date]]:
    periods = []
    for start in month_starts(first_purchase, as_of):
        following = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        periods.append(("month", start, following - timedelta(days=1)))
    quarters = sorted({date(s.year, 3 * ((s.month - 1) // 3) + 1, 1) for _, s, _ in periods})
    for start in quarters:
        month = start.month + 3
        following = date(start.year + (month > 12), (month - 1) % 12 + 1, 1)
        periods.append(("quarter", start, following - timedelta(days=1)))
    for year in sorted({s.year for _, s, _ in periods}):
        periods.append(("year", date(year, 1, 1), date(year, 12, 31)))
    return periods


def reference_metrics(warehouse: Workspace) -> dict[tuple[str, date], dict]:
    con = duckdb.connect()
    orders = con.execute(f"""
        select customer_id, cast(ordered_at as date) as day, status, amount
        from read_parquet('{data_glob(warehouse.warehouse_dir / 'raw' / 'orders')}')
    """).fetchall()
    as_of = max(day for _, day, _, _ in orders)
    window = warehouse.activity_window_days
    purchase_days: dict[str, list[date]] = defaultdict(list)
    for customer, day, status, _ in orders:
        if status == "completed" and day <= as_of:
            purchase_days[customer].append(day)
    for days in purchase_days.values():
        days.sort()

    def active(days: list[date], d: date) -> bool:
        position = bisect.bisect_right(days, d)
        return position > 0 and (d - days[position - 1]).days < window

    first_purchase = min(days[0] for days in purchase_days.values())
    metrics = {}
    for grain, start, end in period_bounds(as_of, first_purchase):
        measured = min(end, as_of)
        cs = ce = cn = churned = retained = reactivated = new_inactive = 0
        for days in purchase_days.values():
            at_start, at_end = active(days, start - timedelta(days=1)), active(days, measured)
            new = start <= days[0] <= measured
            cs += at_start
            ce += at_end
            cn += new
            churned += at_start and not at_end
            retained += at_start and at_end
            reactivated += at_end and not at_start and not new
            new_inactive += new and not at_end
        metrics[(grain, start)] = {
            "customers_at_start": cs, "customers_at_end": ce, "new_customers": cn,
            "churned_customers": churned, "retained_customers": retained,
            "reactivated_customers": reactivated, "new_customers_inactive_at_end": new_inactive,
            "retention_rate_pct": None if cs == 0 else (ce - cn) / cs * 100,
            "churn_rate_pct": None if cs == 0 else churned / cs * 100,
            "is_complete": end <= as_of,
        }
    return metrics


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
    expected, actual = reference_metrics(workspace), published_metrics(workspace)
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
