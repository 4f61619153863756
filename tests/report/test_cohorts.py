"""The classic cohort charts: who purchased in month k (heatmap) and revenue per acquired customer (curves)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date

import pytest

from pipelines.report.queries import CohortCell, load_report_data
from pipelines.report.sections import section_cohorts


def chart(html: str, chart_id: str) -> str:
    return re.search(rf'<svg\b[^>]*id="{chart_id}".*?</svg>', html, flags=re.S).group(0)


def test_purchasing_customers_and_revenue_per_customer_are_read_for_complete_months(bi_file):
    cells = {(c.cohort_month, c.months_since_first_purchase): c for c in load_report_data(bi_file).cohorts}
    december = [cells[(date(2025, 12, 1), k)] for k in range(3)]        # month 3 is the running March
    assert (date(2025, 12, 1), 3) not in cells
    assert [c.purchasing_customers for c in december] == [20, 5, 3]
    assert [c.purchasing_customers_pct for c in december] == [100.0, 25.0, 15.0]
    # 50 per purchase, 20 customers: (1000) / 20, (1000 + 250) / 20, (1250 + 150) / 20
    assert [c.cumulative_revenue_per_customer for c in december] == [50.0, 62.5, 70.0]


def test_the_section_draws_the_purchase_heatmap_and_the_revenue_curves_beside_the_activity_matrix(bi_file):
    html = section_cohorts(load_report_data(bi_file), "EUR").html
    assert html.index('id="chart-cohorts"') < html.index('id="chart-cohort-purchases"') < html.index(
        'id="chart-cohort-revenue"')
    assert "counts only the customers who actually bought in each month" in html     # the difference, in words
    purchases = chart(html, "chart-cohort-purchases")
    ET.fromstring(purchases)
    assert "Share of each cohort that purchased again in month k" in purchases
    assert ("Dec 2025 cohort, month 1: 25.0% purchased (5 of 20); €62.50 per acquired customer so far"
            in purchases)                                                            # percent, count, money
    assert re.findall(r'class="cell-label"[^>]*>([^<]+)<', purchases)[:3] == ["100", "25", "15"]
    revenue = chart(html, "chart-cohort-revenue")
    ET.fromstring(revenue)
    # Only December is followed through the longest horizon here (month 2): one curve, in money.
    assert "2 · Dec 2025: €70.00" in revenue
    assert "Jan 2026" not in revenue
    assert ">€0<" in revenue                                                         # axis from zero


def test_money_follows_the_reporting_currency(bi_file):
    html = section_cohorts(load_report_data(bi_file), "USD").html
    assert "2 · Dec 2025: $70.00" in chart(html, "chart-cohort-revenue")
    assert "€" not in chart(html, "chart-cohort-purchases")


def _cells(cohort: date, months: int, size: int = 10) -> list[CohortCell]:
    return [CohortCell(cohort, k, size, size, 100.0, size if k == 0 else 2, 100.0 if k == 0 else 20.0,
                       10.0 + 5 * k) for k in range(months + 1)]


def test_the_heatmap_stops_at_month_12_and_curves_show_the_latest_six_cohorts_followed_that_long(bi_file):
    cohorts = [cell for m in range(1, 13) for cell in _cells(date(2023, m, 1), 24 - m)]
    data = replace(load_report_data(bi_file), cohorts=tuple(cohorts))
    html = section_cohorts(data, "EUR").html
    purchases = chart(html, "chart-cohort-purchases")
    assert "month 12:" in purchases and "month 13:" not in purchases
    assert "month 13:" in chart(html, "chart-cohorts")                          # the activity matrix keeps all
    revenue = chart(html, "chart-cohort-revenue")
    legend = re.findall(r"(\w{3} 2023): ", revenue)
    assert set(legend) == {"Jul 2023", "Aug 2023", "Sep 2023", "Oct 2023", "Nov 2023", "Dec 2023"}
    assert "12 · Dec 2023: €70.00" in revenue                                  # 10 + 5 × 12
    # The colour scale spreads over months 1+ (20%), not up to month 0's 100%.
    assert ">20%<" in purchases


@pytest.mark.parametrize("months", [0, 1])
def test_a_single_young_cohort_still_renders(bi_file, months):
    data = replace(load_report_data(bi_file), cohorts=tuple(_cells(date(2026, 2, 1), months)))
    html = section_cohorts(data, "EUR").html
    ET.fromstring(chart(html, "chart-cohort-purchases"))
    ET.fromstring(chart(html, "chart-cohort-revenue"))


def test_a_pipeline_run_publishes_cohorts_that_add_up(published_workspace):
    """On the sample: month 0 holds the whole cohort, the cohorts add up to every customer with a first
    purchase, and each month's purchasing customers match a naive count over the purchase days."""
    import duckdb

    workspace, _ = published_workspace
    with duckdb.connect(str(workspace.warehouse_db), read_only=True) as con:
        purchasers = con.execute(
            "select count(*) from intermediate.int_customers_aggregated where has_purchased").fetchone()[0]
        naive = dict(((r[0], r[1]), r[2]) for r in con.execute("""
            select date_trunc('month', first_purchase_date)::date, date_trunc('month', purchase_date)::date,
                   count(distinct customer_id)
            from intermediate.int_purchases_summed_by_customer_day group by all""").fetchall())
    with duckdb.connect(str(workspace.bi_db), read_only=True) as con:
        month_zero = con.execute("""
            select sum(cohort_size), min(purchasing_customers_pct), max(purchasing_customers_pct)
            from customer_cohorts where months_since_first_purchase = 0""").fetchone()
        published = {(r[0], r[1]): r[2] for r in con.execute(
            "select cohort_month, activity_month, purchasing_customers from customer_cohorts").fetchall()}
    assert month_zero == (purchasers, 100.0, 100.0)
    assert {key: n for key, n in published.items() if n} == naive
