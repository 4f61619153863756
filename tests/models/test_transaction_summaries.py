"""summarise_transactions: (x, t_x, T, m) per customer, same-day purchases merged, on CDNOW and by hand."""

from __future__ import annotations

import os

import lifetimes
import numpy as np
import pandas as pd
import pytest

from models.summaries import summarise_calibration_and_holdout, summarise_transactions


def test_cdnow_summary_equals_the_published_one(cdnow):
    """FHL's CDNOW summary (x, t_x, T, zbar to 2 decimals, shipped with lifetimes) from the raw transactions:
    2,357 customers, 1,411 without a repeat purchase (REFERENCE.md)."""
    published = pd.read_csv(
        os.path.join(
            os.path.dirname(lifetimes.__file__), "datasets", "cdnow_customers_summary_with_transactions.csv"
        )
    ).set_index("ID")
    assert len(cdnow) == 2357 and (cdnow["frequency"] == 0).sum() == 1411
    ours = cdnow.loc[published.index]
    np.testing.assert_array_equal(ours["frequency"], published["x"])
    np.testing.assert_allclose(ours["recency"], published["t_x"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(ours["T"], published["T"], atol=0.005 + 1e-9)
    repeat = published["x"] > 0
    np.testing.assert_allclose(
        ours.loc[repeat, "monetary_value"], published.loc[repeat, "zbar"], atol=0.01 + 1e-9
    )
    assert ours.loc[~repeat, "monetary_value"].isna().all()


def test_same_day_purchases_are_one_transaction_and_the_first_is_excluded_from_m():
    customers = ["a", "a", "a", "a", "b", "c", "c"]
    dates = [
        "2024-01-01 09:00",
        "2024-01-01 17:30",
        "2024-01-08",
        "2024-01-15",
        "2024-01-10",
        "2024-01-02",
        "2024-02-01",
    ]
    amounts = [10.0, 5.0, 20.0, 40.0, 7.0, 1.0, 99.0]
    summary = summarise_transactions(customers, dates, amounts, as_of="2024-01-22", time_unit="days")
    assert list(summary.index) == ["a", "b", "c"]
    assert summary.loc["a"].tolist() == [2.0, 14.0, 21.0, 30.0]  # days 0 (15), 7 (20), 14 (40)
    b = summary.loc["b"]
    assert b["frequency"] == 0 and b["recency"] == 0 and b["T"] == 12 and np.isnan(b["monetary_value"])
    assert summary.loc["c", "frequency"] == 0  # the February purchase is after as_of
    weeks = summarise_transactions(customers, dates, amounts, as_of="2024-01-22", time_unit="weeks")
    np.testing.assert_allclose(weeks[["recency", "T"]].to_numpy(), summary[["recency", "T"]].to_numpy() / 7)


def test_calibration_and_holdout_counts_distinct_days_after_the_calibration():
    customers = ["a", "a", "a", "a", "b"]
    dates = ["2024-01-01", "2024-01-05", "2024-02-03", "2024-02-03", "2024-02-10"]
    summary = summarise_calibration_and_holdout(
        customers, dates, [1.0] * 5, "2024-01-31", "2024-02-29", "days"
    )
    assert list(summary.index) == ["a"]  # b's first purchase is in the holdout
    assert summary.loc["a", "holdout_frequency"] == 1  # two orders on one day
    assert summary.loc["a", "holdout_duration"] == 29


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="no transactions"):
        summarise_transactions([], [], [], as_of="2024-01-01")
    with pytest.raises(ValueError, match="amount"):
        summarise_transactions(["a"], ["2024-01-01"], [np.nan], as_of="2024-01-01")
    with pytest.raises(ValueError, match="time_unit"):
        summarise_transactions(["a"], ["2024-01-01"], [1.0], as_of="2024-01-01", time_unit="months")
