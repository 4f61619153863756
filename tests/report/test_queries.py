"""What the report reads from a BI file, checked against the hand-made fixture's known values."""

from __future__ import annotations

from contextlib import closing

import duckdb
import pytest

from pipelines.report.queries import load_report_data
from tests.report.bi_fixture import (
    BACKTEST_ROWS,
    COMPLETE_MONTHS,
    CUSTOMERS,
    LAST_MONTH,
    PREVIOUS_MONTH,
    UNFITTED_REASON,
    make_bi_file,
)


def test_months_are_the_complete_monthly_periods_oldest_first(bi_file):
    data = load_report_data(bi_file)
    assert [m.month for m in data.months] == COMPLETE_MONTHS          # no quarter, no running month
    assert data.last_month.month == LAST_MONTH and data.previous_month.month == PREVIOUS_MONTH
    assert (data.last_month.retention_rate_pct, data.last_month.churn_rate_pct) == (96.5, 5.0)
    assert data.months[0].retention_rate_pct is None
    assert data.last_month.predicted_clv_to_cac is None              # the models could not be fitted
    assert data.as_of_date.isoformat() == "2026-03-31"
    assert data.publication["published_at_utc"] == "2026-03-10T06:00:00"


def test_cac_and_clv_by_channel_are_read_from_channel_economics(bi_file):
    """The numbers are the mart's (its dbt unit tests check them); the report reads them, most spend first."""
    window = load_report_data(bi_file).channels
    assert (window.first_month, window.last_month, window.months) == (COMPLETE_MONTHS[-12], LAST_MONTH, 12)
    by_channel = {c.channel: c for c in window.channels}
    assert set(by_channel) == {"paid_search", "email", "organic", "unknown"}
    paid = by_channel["paid_search"]
    assert (paid.spend, paid.new_customers, paid.cac) == (3600.0, 120, 30.0)   # the doubled oldest month is out
    assert paid.avg_historical_clv == pytest.approx(200.0)                     # C1 and C2
    assert paid.clv_to_cac == pytest.approx(200 / 30)
    assert by_channel["email"].clv_to_cac == pytest.approx(10.0)                # (50 + 150) / 2 / (600 / 60)
    assert by_channel["organic"].cac == 0 and by_channel["organic"].clv_to_cac is None
    assert by_channel["organic"].purchasing_customers == 1                      # C6 never purchased
    unknown = by_channel["unknown"]                                             # a customer without a channel
    assert (unknown.spend, unknown.cac, unknown.avg_historical_clv) == (0.0, None, 20.0)
    assert window.blended.cac == pytest.approx(4200 / 228)
    assert window.blended.avg_historical_clv == pytest.approx(1620 / 6)
    assert window.blended.clv_to_cac == pytest.approx(270 / (4200 / 228))
    assert [c.channel for c in window.channels] == ["paid_search", "email", "organic", "unknown"]  # most spend first


def test_no_complete_month_means_no_channel_window(tmp_path):
    bi = make_bi_file(tmp_path / "bi.duckdb")
    with closing(duckdb.connect(str(bi))) as con:
        con.execute("delete from channel_economics")
    assert load_report_data(bi).channels is None


def test_clv_histogram_counts_every_purchasing_customer_once(bi_file, full_bi_file):
    historical = load_report_data(bi_file).clv
    assert (historical.column, historical.is_predicted) == ("historical_clv", False)
    assert historical.prediction_unavailable == UNFITTED_REASON + "."              # clv_model_fits' words
    assert historical.customers == sum(1 for c in CUSTOMERS if c[2]) == 6
    assert sum(b.customers for b in historical.bins) == 6
    assert historical.bins[0].lower == 0 and historical.bins[-1].upper is None  # the last bin is open
    assert all(b.upper == n.lower for b, n in zip(historical.bins, historical.bins[1:]))
    predicted = load_report_data(full_bi_file).clv
    assert (predicted.column, predicted.is_predicted) == ("predicted_clv_12m", True)
    assert predicted.mean == pytest.approx((400 + 200 + 5 + 80 + 60 + 2) / 6)
    assert predicted.mean_p10 == pytest.approx((350 + 150 + 1 + 60 + 30 + 1) / 6)


def test_cohorts_rfm_nps_quarantine_and_health(bi_file, full_bi_file):
    data = load_report_data(bi_file)
    assert len(data.cohorts) == 6                                   # 4 + 3 + 2 cells, less the 3 running ones
    assert {(c.cohort_month.month, c.months_since_first_purchase) for c in data.cohorts if c.cohort_month.month == 2}
    assert sum(c.customers for c in data.rfm_cells) == 6
    assert data.rfm_segments[0].rfm_segment == "Can't lose them"   # most revenue first
    assert len(data.nps_months) == len(COMPLETE_MONTHS)
    assert [q.reason for q in data.quarantine] == ["malformed_row", "invalid_date"]
    assert data.health == ()                                        # the models could not be fitted
    full = load_report_data(full_bi_file)
    assert [b.band for b in full.health] == ["healthy", "watch", "at_risk", "lost"]
    assert [b.customers for b in full.health] == [2, 1, 1, 2]


def test_tables_shown_as_they_are_are_read(full_bi_file):
    tables = load_report_data(full_bi_file).table_extracts
    assert set(tables) == {"alerts", "clv_model_fits", "clv_backtest", "customers_at_risk", "retention_drivers",
                           "retention_metrics_by_segment", "feedback_themes"}
    by_segment = tables["retention_metrics_by_segment"]
    assert by_segment.note == f"month starting {LAST_MONTH.isoformat()}"   # only the last complete month
    assert by_segment.total_rows == 2 and len(by_segment.rows) == 2
    assert load_report_data(full_bi_file).row_counts["clv_backtest"] == len(BACKTEST_ROWS)


def test_a_file_that_is_not_a_bi_file_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="make run"):
        load_report_data(tmp_path / "missing.duckdb")
    with closing(duckdb.connect(str(tmp_path / "other.duckdb"))) as con:
        con.execute("create table retention_metrics (x int)")
    with pytest.raises(ValueError, match="customers"):
        load_report_data(tmp_path / "other.duckdb")
    bi = make_bi_file(tmp_path / "bi.duckdb")
    with closing(duckdb.connect(str(bi))) as con:
        con.execute("drop table channel_economics")                  # a file published before it existed
    with pytest.raises(ValueError, match="channel_economics"):
        load_report_data(bi)
