"""From each customer's history to predicted purchases, P(alive), CLV with intervals and a health score.

Pure orchestration of `models/` (no Dagster): fit BG/NBD and Gamma-Gamma on the full history, predict,
score health, and back-test a second fit made without the last H days against what happened in them.
Time is in days throughout; the fitted parameters say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from models import (
    BGNBDFit,
    GammaGammaFit,
    SpendIndependenceCheck,
    backtest_bgnbd,
    expected_interpurchase_time,
    fit_bgnbd,
    fit_gamma_gamma,
    forecast_customers,
    frequency_monetary_correlation,
    health_score,
)

from pipelines.predictions.horizon import HORIZON_MONTHS, MONTHLY_DISCOUNT_RATE, TIME_UNIT  # noqa: F401 (re-exported)


@dataclass
class ClvRun:
    predictions: pd.DataFrame
    model_fits: pd.DataFrame
    backtest: pd.DataFrame
    bgnbd: BGNBDFit
    gamma_gamma: GammaGammaFit
    spend_independence: SpendIndependenceCheck
    backtest_fit: BGNBDFit | None
    model_beats_naive: bool | None


def _fit_rows(model: str, fitted_on: str, params: dict, errors: dict, fit, as_of: date, time_unit: str | None):
    return [
        {
            "model": model, "fitted_on": fitted_on, "parameter": name, "estimate": float(value),
            "standard_error": float(errors.get(name, np.nan)), "time_unit": time_unit,
            "log_likelihood": float(fit.log_likelihood), "customers": int(fit.n_customers),
            "converged": bool(fit.converged), "as_of_date": as_of,
        }
        for name, value in params.items()
    ]


def predict_customers(summaries: pd.DataFrame, as_of: date, holdout_days: int) -> ClvRun:
    """`summaries`: one row per purchasing customer, as in the dbt model int_customer_transaction_summaries."""
    x = summaries["frequency"].to_numpy(float)
    t_x = summaries["recency_days"].to_numpy(float)
    T = summaries["tenure_days"].to_numpy(float)
    m = summaries["monetary_value"].to_numpy(float)

    bgnbd = fit_bgnbd(x, t_x, T, time_unit=TIME_UNIT)
    repeat = (x > 0) & (m > 0)
    gamma_gamma = fit_gamma_gamma(x[repeat], m[repeat])
    independence = frequency_monetary_correlation(x[repeat], m[repeat])
    forecast = forecast_customers(bgnbd, gamma_gamma, x, t_x, T, m, horizon_months=HORIZON_MONTHS,
                                  monthly_discount_rate=MONTHLY_DISCOUNT_RATE)
    health = health_score(
        forecast.probability_alive, T - t_x, expected_interpurchase_time(x, t_x),
        latest_order_value=summaries["latest_day_revenue"].to_numpy(float),
        mean_order_value=summaries["mean_day_revenue"].to_numpy(float),
        latest_nps=summaries["latest_nps_score"].to_numpy(float),
        frequency=x,
    )
    predictions = pd.DataFrame({
        "customer_id": summaries["customer_id"].to_numpy(),
        "as_of_date": as_of,
        "probability_alive": forecast.probability_alive,
        "expected_purchases_12m": forecast.expected_purchases,
        "expected_purchases_12m_p10": forecast.expected_purchases_lower,
        "expected_purchases_12m_p90": forecast.expected_purchases_upper,
        "expected_order_value": forecast.expected_order_value,
        "predicted_clv_12m": forecast.clv,
        "predicted_clv_12m_p10": forecast.clv_lower,
        "predicted_clv_12m_p90": forecast.clv_upper,
        "health_score": health.score,
        "health_band": health.band,
    })

    model_fits = pd.DataFrame(
        _fit_rows("bg_nbd", "full history", bgnbd.params._asdict(), bgnbd.standard_errors._asdict(), bgnbd, as_of,
                  TIME_UNIT)
        + _fit_rows("gamma_gamma", "full history", gamma_gamma.params._asdict(),
                    gamma_gamma.standard_errors._asdict(), gamma_gamma, as_of, None)
        + [{"model": "gamma_gamma", "fitted_on": "full history", "parameter": "frequency_monetary_correlation",
            "estimate": float(independence.correlation), "standard_error": np.nan, "time_unit": None,
            "log_likelihood": np.nan, "customers": int(independence.n_repeat_customers),
            "converged": not independence.is_violated, "as_of_date": as_of}]
    )

    backtest_rows, backtest_fit, beats_naive = [], None, None
    calibration = summaries[summaries["calibration_frequency"].notna()]
    cal_x = calibration["calibration_frequency"].to_numpy(float)
    if len(calibration) and (cal_x > 0).any():
        cal_t_x = calibration["calibration_recency_days"].to_numpy(float)
        cal_T = calibration["calibration_tenure_days"].to_numpy(float)
        actual = calibration["holdout_purchase_days"].to_numpy(float)
        backtest_fit = fit_bgnbd(cal_x, cal_t_x, cal_T, time_unit=TIME_UNIT)
        report = backtest_bgnbd(backtest_fit, cal_x, cal_t_x, cal_T, actual, float(holdout_days))
        beats_naive = report.model_beats_naive
        model_fits = pd.concat([model_fits, pd.DataFrame(_fit_rows(
            "bg_nbd", f"history to as-of - {holdout_days} days (back-test)", backtest_fit.params._asdict(),
            backtest_fit.standard_errors._asdict(), backtest_fit, as_of, TIME_UNIT))], ignore_index=True)
        for forecast_name, row in report.summary.iterrows():
            backtest_rows.append({
                "forecast": forecast_name, "scope": "all customers", "customers": int(row["n_customers"]),
                "actual_purchases": float(row["actual_total"]), "predicted_purchases": float(row["predicted_total"]),
                "total_error": float(row["total_error"]), "total_error_pct": float(row["total_error_pct"]),
                "mean_absolute_error": float(row["mae"]),
            })
        for bucket, row in report.by_frequency.iterrows():
            for forecast_name in report.summary.index:
                n = int(row["n_customers"])
                backtest_rows.append({
                    "forecast": forecast_name, "scope": f"calibration frequency {bucket}", "customers": n,
                    "actual_purchases": float(row["actual_mean"]) * n,
                    "predicted_purchases": float(row[f"{forecast_name}_mean"]) * n,
                    "total_error": (float(row[f"{forecast_name}_mean"]) - float(row["actual_mean"])) * n,
                    "total_error_pct": np.nan,
                    "mean_absolute_error": float(row[f"{forecast_name}_mae"]),
                })
    backtest = pd.DataFrame(backtest_rows, columns=[
        "forecast", "scope", "customers", "actual_purchases", "predicted_purchases", "total_error",
        "total_error_pct", "mean_absolute_error"])
    backtest.insert(0, "as_of_date", as_of)
    backtest.insert(1, "holdout_days", int(holdout_days))
    return ClvRun(predictions, model_fits, backtest, bgnbd, gamma_gamma, independence, backtest_fit, beats_naive)
