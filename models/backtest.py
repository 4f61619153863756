"""Back-test of purchase forecasts against a holdout period, and the naive benchmark the model must beat.

Fit on history up to as_of - H, predict each customer's repeat purchases in the following H, compare with
what they did. Two forecasts are scored on the same customers:
- ``model``: BG/NBD conditional expected purchases E[Y(H) | x, t_x, T] (FHL 2005 eq. 10);
- ``naive``: "same rate as before", the customer's own past repeat rate x / T times H (0 when T = 0).
Scores: MAE and RMSE over customers (an expectation is the forecast that minimises squared error, so RMSE
ranks mean forecasts fairly; MAE favours forecasts pulled towards the median, often 0), the total predicted vs actual (absolute and relative error of the total), and
the same by calibration frequency bucket 0, 1, ..., max_bucket+ (the FHL (2005) Figure 4 / table view). The
pipeline reports ``BacktestReport.model_beats_naive`` as a warning. The model may be a limiting case
(``models.selection``); a model that was not fitted is never scored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.bgnbd import BGNBDFit
from models.selection import PurchaseModelFit


def naive_forecast(frequency, T, horizon: float) -> np.ndarray:
    """Each customer's own past repeat rate x / T times the horizon (0 for customers with T = 0)."""
    x = np.asarray(frequency, dtype=float)
    age = np.asarray(T, dtype=float)
    rate = np.divide(x, age, out=np.zeros(np.broadcast(x, age).shape), where=age > 0)
    return rate * horizon


def frequency_buckets(frequency, max_bucket: int = 7) -> np.ndarray:
    """Labels "0", "1", ..., "7+" for calibration frequencies (max_bucket and above share the last label)."""
    x = np.asarray(frequency, dtype=float).astype(int)
    labels = np.array([str(k) for k in range(max_bucket)] + [f"{max_bucket}+"])
    return labels[np.minimum(x, max_bucket)]


@dataclass(frozen=True)
class BacktestReport:
    """``summary``: one row per forecast (n_customers, actual_total, predicted_total, total_error,
    total_error_pct, mae, rmse). ``by_frequency``: one row per calibration-frequency bucket with n_customers,
    actual_mean and, per forecast, <name>_mean and <name>_mae. ``per_customer_error``: predicted - actual per
    forecast, in input order."""

    horizon: float
    summary: pd.DataFrame
    by_frequency: pd.DataFrame
    per_customer_error: Mapping[str, np.ndarray] = field(repr=False)

    @property
    def model_beats_naive(self) -> bool:
        """The model's MAE and absolute error of the total are both no worse than the naive forecast's."""
        model, naive = self.summary.loc["model"], self.summary.loc["naive"]
        return bool(model["mae"] <= naive["mae"] and abs(model["total_error"]) <= abs(naive["total_error"]))


def score_forecasts(
    frequency, actual, forecasts: Mapping[str, np.ndarray], *, horizon: float, max_bucket: int = 7
) -> BacktestReport:
    """Score any set of named per-customer forecasts against the actual holdout purchases."""
    actual = np.asarray(actual, dtype=float).ravel()
    x = np.asarray(frequency, dtype=float).ravel()
    if actual.size != x.size or any(np.size(f) != x.size for f in forecasts.values()):
        raise ValueError("frequency, actual and every forecast must have one value per customer")
    if actual.size == 0:
        raise ValueError("no customers to back-test")
    errors = {name: np.asarray(f, dtype=float).ravel() - actual for name, f in forecasts.items()}
    actual_total = float(actual.sum())
    summary = pd.DataFrame.from_dict(
        {
            name: {
                "n_customers": actual.size,
                "actual_total": actual_total,
                "predicted_total": float(np.sum(forecasts[name])),
                "total_error": float(error.sum()),
                "total_error_pct": 100.0 * float(error.sum()) / actual_total if actual_total else np.nan,
                "mae": float(np.mean(np.abs(error))),
                "rmse": float(np.sqrt(np.mean(error**2))),
            }
            for name, error in errors.items()
        },
        orient="index",
    )
    summary.index.name = "forecast"

    bucket = frequency_buckets(x, max_bucket)
    columns: dict[str, object] = {"bucket": bucket, "actual": actual}
    for name, error in errors.items():
        columns[f"{name}_predicted"] = np.asarray(forecasts[name], dtype=float).ravel()
        columns[f"{name}_abs_error"] = np.abs(error)
    frame = pd.DataFrame(columns)
    grouped = frame.groupby("bucket", sort=False)
    by_frequency = pd.DataFrame({"n_customers": grouped.size(), "actual_mean": grouped["actual"].mean()})
    for name in errors:
        by_frequency[f"{name}_mean"] = grouped[f"{name}_predicted"].mean()
        by_frequency[f"{name}_mae"] = grouped[f"{name}_abs_error"].mean()
    order = [
        label
        for label in frequency_buckets(np.arange(max_bucket + 1), max_bucket)
        if label in by_frequency.index
    ]
    by_frequency = by_frequency.loc[order]
    return BacktestReport(
        horizon=float(horizon), summary=summary, by_frequency=by_frequency, per_customer_error=errors
    )


def backtest_bgnbd(
    fit: BGNBDFit | PurchaseModelFit, frequency, recency, T, actual, horizon: float, *, max_bucket: int = 7
) -> BacktestReport:
    """Score a BG/NBD fit (made on the calibration histories; the full model or a limiting case) and the naive
    forecast over ``horizon`` (in ``fit.time_unit``) against each customer's actual repeat purchases in the
    holdout. A model that was not fitted forecasts NaN: its scores are NaN (never numbers made up for it),
    ``model_beats_naive`` is False, and the naive forecast is still scored."""
    if isinstance(fit, PurchaseModelFit) and not fit.is_fitted:
        model = np.full(np.size(frequency), np.nan)
    else:
        model = fit.conditional_expected_purchases(horizon, frequency, recency, T)
    naive = naive_forecast(frequency, T, horizon)
    return score_forecasts(
        frequency, actual, {"model": model, "naive": naive}, horizon=horizon, max_bucket=max_bucket
    )


INTERVAL_SHARES = ("share_below_p10", "share_at_or_below_p10", "share_above_p90", "share_at_or_above_p90")


def interval_shares(actual, p10, p90) -> dict[str, float]:
    """Shares of customers whose actual count was below p10, at or below p10, above p90, at or above p90. For
    calibrated discrete quantiles q_0.1 and q_0.9: P(Y < q) <= tau <= P(Y <= q), so expect the first <= 0.1 <=
    the second and the third <= 0.1 <= the fourth (up to sampling error). NaN without customers."""
    actual, p10, p90 = (np.asarray(v, dtype=float).ravel() for v in (actual, p10, p90))
    if actual.size == 0:
        return dict.fromkeys(INTERVAL_SHARES, float("nan"))
    return {
        "share_below_p10": float(np.mean(actual < p10)),
        "share_at_or_below_p10": float(np.mean(actual <= p10)),
        "share_above_p90": float(np.mean(actual > p90)),
        "share_at_or_above_p90": float(np.mean(actual >= p90)),
    }
