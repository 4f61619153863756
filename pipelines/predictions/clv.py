"""From each customer's history to predicted purchases, P(alive), CLV with intervals and a health score.

Pure orchestration of `models/` (no Dagster): fit the purchase and spend models on the full history (the full
BG/NBD and Gamma-Gamma, or the limiting case the data call for, `models.selection`), predict, score health,
and back-test a second purchase fit made without the last H days against what happened in them. Time is in
days throughout; the fitted parameters say so.

Nothing here raises for the data: a model that cannot be fitted leaves its prediction columns null, says why
in `clv_model_fits` (status not_fitted and the reason), and everything else is computed as usual (the health
score counts a missing P(alive) as neutral). The published 80 % intervals are predictive: quantiles of the
customer's purchase count and value (`models.predictive_intervals`), and the back-test measures how often the
actual purchases fell outside them. The three frames always have the columns and types of
`*_COLUMNS` below, whatever was fitted, because dbt reads them back as sources.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

from models import (
    NOT_FITTED,
    PurchaseModelFit,
    SpendIndependenceCheck,
    SpendModelFit,
    backtest_bgnbd,
    expected_interpurchase_time,
    fit_purchase_model,
    fit_spend_model,
    forecast_customers,
    frequency_monetary_correlation,
    health_score,
)
from models.backtest import INTERVAL_SHARES, frequency_buckets, interval_shares
from models.predictive_intervals import forecast_intervals, purchase_count_distribution
from pipelines.predictions.horizon import HORIZON_MONTHS, MONTHLY_DISCOUNT_RATE, TIME_UNIT  # noqa: F401 (re-exported)

# Column -> DuckDB type of each Parquet file: the contract with dbt's sources, kept when everything is null.
PREDICTION_COLUMNS = {
    "customer_id": "varchar",
    "as_of_date": "date",
    "probability_alive": "double",
    "expected_purchases_12m": "double",
    "expected_purchases_12m_p10": "double",
    "expected_purchases_12m_p90": "double",
    "expected_order_value": "double",
    "predicted_clv_12m": "double",
    "predicted_clv_12m_p10": "double",
    "predicted_clv_12m_p90": "double",
    "health_score": "double",
    "health_band": "varchar",
    "purchase_model_status": "varchar",
    "spend_model_status": "varchar",
}
MODEL_FIT_COLUMNS = {
    "model": "varchar",
    "fitted_on": "varchar",
    "status": "varchar",
    "variant": "varchar",
    "parameter": "varchar",
    "estimate": "double",
    "standard_error": "double",
    "time_unit": "varchar",
    "log_likelihood": "double",
    "customers": "bigint",
    "converged": "boolean",
    "reason": "varchar",
    "as_of_date": "date",
}
BACKTEST_COLUMNS = {
    "as_of_date": "date",
    "holdout_days": "integer",
    "model_status": "varchar",
    "forecast": "varchar",
    "scope": "varchar",
    "customers": "bigint",
    "actual_purchases": "double",
    "predicted_purchases": "double",
    "total_error": "double",
    "total_error_pct": "double",
    "mean_absolute_error": "double",
    "share_below_p10": "double",
    "share_at_or_below_p10": "double",
    "share_above_p90": "double",
    "share_at_or_above_p90": "double",
}
FULL_HISTORY = "full history"


@dataclass
class ClvRun:
    predictions: pd.DataFrame
    model_fits: pd.DataFrame
    backtest: pd.DataFrame
    purchase_model: PurchaseModelFit
    spend_model: SpendModelFit
    spend_independence: SpendIndependenceCheck
    backtest_model: PurchaseModelFit
    model_beats_naive: bool | None  # None when nothing was scored (no back-test model)
    interval_shares: dict[str, float] | None = None  # the back-test's interval calibration, all customers


def _typed(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """The frame with exactly ``columns``, in order; missing ones null. Non-finite numbers become NaN, which
    the Parquet writer stores as null: a prediction that cannot be computed is unknown, not a number."""
    frame = frame.reindex(columns=list(columns))
    for name, kind in columns.items():
        if kind == "double":
            values = pd.to_numeric(frame[name], errors="coerce").astype(float)
            frame[name] = values.where(np.isfinite(values))
    return frame


def _fit_rows(fit: PurchaseModelFit | SpendModelFit, fitted_on: str, as_of: date) -> list[dict]:
    """One row per parameter of the chosen model; one row without a parameter when nothing was fitted."""
    common = {"model": fit.model, "fitted_on": fitted_on, "status": fit.status, "variant": fit.variant_name,
              "time_unit": fit.time_unit, "log_likelihood": fit.log_likelihood, "customers": fit.n_customers,
              "converged": fit.is_fitted, "reason": fit.reason, "as_of_date": as_of}
    if not fit.is_fitted:
        return [{**common, "parameter": None, "estimate": np.nan, "standard_error": np.nan}]
    errors = fit.standard_errors
    return [{**common, "parameter": name, "estimate": value, "standard_error": errors[name]}
            for name, value in fit.params.items()]


def _correlation_row(check: SpendIndependenceCheck, as_of: date) -> dict:
    """The measured frequency/spend correlation (status fitted when it could be measured; converged keeps its
    old meaning here: below CORRELATION_WARNING_THRESHOLD in absolute value)."""
    measured = bool(np.isfinite(check.correlation))
    return {"model": "gamma_gamma", "fitted_on": FULL_HISTORY, "status": "fitted" if measured else NOT_FITTED,
            "variant": None, "parameter": "frequency_monetary_correlation", "estimate": check.correlation,
            "standard_error": np.nan, "time_unit": None, "log_likelihood": np.nan,
            "customers": check.n_repeat_customers, "converged": (not check.is_violated) if measured else None,
            "reason": None if measured else "fewer than 3 repeat buyers, or frequency or spend does not vary",
            "as_of_date": as_of}


def _predict(purchase_model, spend_model, x, t_x, T, m) -> dict[str, np.ndarray]:
    """The per-customer prediction columns. Without a purchase model only the expected order value can be
    given (when the spend model was fitted); CLV needs both."""
    names = ["probability_alive", "expected_purchases_12m", "expected_purchases_12m_p10",
             "expected_purchases_12m_p90", "expected_order_value", "predicted_clv_12m", "predicted_clv_12m_p10",
             "predicted_clv_12m_p90"]
    if not purchase_model.is_fitted:
        columns = {name: np.full(x.size, np.nan) for name in names}
        if spend_model.is_fitted:
            columns["expected_order_value"] = spend_model.expected_order_value(x, m)
        return columns
    forecast = forecast_customers(purchase_model, spend_model, x, t_x, T, m, horizon_months=HORIZON_MONTHS,
                                  monthly_discount_rate=MONTHLY_DISCOUNT_RATE, intervals=False)
    # predictive intervals: quantiles of the customer's purchase count and value (models.predictive_intervals)
    intervals = forecast_intervals(purchase_model, spend_model, x, t_x, T, m,
                                   purchase_horizon=forecast.purchase_horizon,
                                   expected_purchases=forecast.expected_purchases,
                                   discounted_purchases=forecast.discounted_purchases)
    values = [forecast.probability_alive, forecast.expected_purchases, *intervals.purchases,
              forecast.expected_order_value, forecast.clv, *intervals.clv]
    return dict(zip(names, values, strict=True))


def _backtest(summaries: pd.DataFrame, holdout_days: int
              ) -> tuple[PurchaseModelFit, list[dict], bool | None, dict[str, float] | None]:
    """The purchase model fitted on history up to as-of - H and the scores (the model's are null when it was
    not fitted; the naive forecast is scored whenever a customer had purchased by the cut-off). The model's
    rows also carry the calibration of its 80 % intervals over the H days: the shares of customers whose
    actual purchases fell below / at or below p10 and above / at or above p90 (returned for all customers
    too; None when not scored)."""
    calibration = summaries[summaries["calibration_frequency"].notna()]
    cal_x = calibration["calibration_frequency"].to_numpy(float)
    cal_t_x = calibration["calibration_recency_days"].to_numpy(float)
    cal_T = calibration["calibration_tenure_days"].to_numpy(float)
    model = fit_purchase_model(cal_x, cal_t_x, cal_T, time_unit=TIME_UNIT)
    if calibration.empty:
        reason = (f"no customer had purchased by the back-test cut-off (as-of - {holdout_days} days): the "
                  "history is shorter than the holdout")
        return replace(model, reason=reason), [], None, None
    actual = calibration["holdout_purchase_days"].to_numpy(float)
    report = backtest_bgnbd(model, cal_x, cal_t_x, cal_T, actual, float(holdout_days))
    buckets = frequency_buckets(cal_x)
    if model.is_fitted:
        # only the quantiles are needed here: stop each customer's k loop once 90 % is reached
        p10, p90 = purchase_count_distribution(model.variant, model.theta, model.covariance, float(holdout_days),
                                               cal_x, cal_t_x, cal_T, tail=0.1).quantiles

        def shares(selected):
            return interval_shares(actual[selected], p10[selected], p90[selected])
    else:
        def shares(selected):
            return dict.fromkeys(INTERVAL_SHARES, np.nan)
    no_shares = dict.fromkeys(INTERVAL_SHARES, np.nan)
    everyone = np.ones(actual.size, dtype=bool)
    rows = []
    for forecast_name, row in report.summary.iterrows():
        rows.append({"forecast": forecast_name, "scope": "all customers", "customers": int(row["n_customers"]),
                     "actual_purchases": row["actual_total"], "predicted_purchases": row["predicted_total"],
                     "total_error": row["total_error"], "total_error_pct": row["total_error_pct"],
                     "mean_absolute_error": row["mae"],
                     **(shares(everyone) if forecast_name == "model" else no_shares)})
    for bucket, row in report.by_frequency.iterrows():
        n = int(row["n_customers"])
        for forecast_name in report.summary.index:
            rows.append({"forecast": forecast_name, "scope": f"calibration frequency {bucket}", "customers": n,
                         "actual_purchases": row["actual_mean"] * n,
                         "predicted_purchases": row[f"{forecast_name}_mean"] * n,
                         "total_error": (row[f"{forecast_name}_mean"] - row["actual_mean"]) * n,
                         "total_error_pct": np.nan, "mean_absolute_error": row[f"{forecast_name}_mae"],
                         **(shares(buckets == bucket) if forecast_name == "model" else no_shares)})
    calibrated = shares(everyone) if model.is_fitted else None
    return model, rows, (report.model_beats_naive if model.is_fitted else None), calibrated


def predict_customers(summaries: pd.DataFrame, as_of: date, holdout_days: int) -> ClvRun:
    """`summaries`: one row per purchasing customer, as in dbt's int_customers_summarized_for_predictions."""
    x = summaries["frequency"].to_numpy(float)
    t_x = summaries["recency_days"].to_numpy(float)
    T = summaries["tenure_days"].to_numpy(float)
    m = summaries["monetary_value"].to_numpy(float)

    purchase_model = fit_purchase_model(x, t_x, T, time_unit=TIME_UNIT)
    spend_model = fit_spend_model(x, m)
    with np.errstate(invalid="ignore"):
        repeat = (x > 0) & (m > 0)
    independence = frequency_monetary_correlation(x[repeat], m[repeat])
    columns = _predict(purchase_model, spend_model, x, t_x, T, m)
    health = health_score(
        columns["probability_alive"], T - t_x, expected_interpurchase_time(x, t_x),
        latest_order_value=summaries["latest_day_revenue"].to_numpy(float),
        mean_order_value=summaries["mean_day_revenue"].to_numpy(float),
        latest_nps=summaries["latest_nps_score"].to_numpy(float),
        frequency=x,
    )
    predictions = _typed(pd.DataFrame({
        "customer_id": summaries["customer_id"].to_numpy(),
        "as_of_date": as_of,
        **columns,
        "health_score": health.score,
        "health_band": health.band,
        "purchase_model_status": purchase_model.status,
        "spend_model_status": spend_model.status,
    }), PREDICTION_COLUMNS)

    backtest_model, backtest_rows, beats_naive, calibration = _backtest(summaries, holdout_days)
    backtest_label = f"history to as-of - {holdout_days} days (back-test)"
    model_fits = _typed(pd.DataFrame(
        _fit_rows(purchase_model, FULL_HISTORY, as_of)
        + _fit_rows(spend_model, FULL_HISTORY, as_of)
        + [_correlation_row(independence, as_of)]
        + _fit_rows(backtest_model, backtest_label, as_of)
    ), MODEL_FIT_COLUMNS)
    backtest = pd.DataFrame(backtest_rows, columns=[c for c in BACKTEST_COLUMNS if c not in
                                                    ("as_of_date", "holdout_days", "model_status")])
    backtest.insert(0, "as_of_date", as_of)
    backtest.insert(1, "holdout_days", int(holdout_days))
    backtest.insert(2, "model_status", backtest_model.status)
    return ClvRun(predictions, model_fits, _typed(backtest, BACKTEST_COLUMNS), purchase_model, spend_model,
                  independence, backtest_model, beats_naive, calibration)
