"""From each customer's history to predicted purchases, P(alive), CLV with intervals and a health score.

Pure orchestration of `models/` (no Dagster): back-test the two purchase models, BG/NBD (or the limiting case
the data call for, `models.selection`) and Pareto/NBD, fitted without the last H days, against what happened
in them; publish the predictions of the one that forecast those days better (`models.purchase_model_choice`),
fitted on the full history, with Gamma-Gamma (or its limiting case) for spend; score health. Time is in days
throughout; the fitted parameters say so.

Nothing here raises for the data: a model that cannot be fitted leaves its prediction columns null, says why
in `clv_model_fits` (status not_fitted and the reason), and everything else is computed as usual (the health
score counts a missing P(alive) as neutral). The published 80 % intervals are predictive: quantiles of the
customer's purchase count and value (`models.predictive_intervals`), and the back-test measures how often the
actual purchases fell outside them. The three frames always have the columns and types of
`*_COLUMNS` below, whatever was fitted, because dbt reads them back as sources.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

from models import (
    NOT_FITTED,
    PurchaseModelFit,
    SpendIndependenceCheck,
    SpendModelFit,
    expected_interpurchase_time,
    fit_purchase_model,
    fit_spend_model,
    forecast_customers,
    frequency_monetary_correlation,
    health_score,
)
from models.backtest import INTERVAL_SHARES, frequency_buckets, interval_shares, naive_forecast, score_forecasts
from models.pareto_nbd_forecast import fit_pareto_nbd_model
from models.predictive_intervals import fitted_count_distribution, forecast_intervals
from models.covariates import BGNBDCovariateFit
from models import covariate_forecast
from models.purchase_model_choice import COVARIATES, choose_purchase_model, fallback
from pipelines.predictions.covariate_effects import (
    covariate_fit_rows,
    fit_covariate_models,
    fit_purchase_covariates,
    significant,
)
from pipelines.predictions.freed_memory import hand_back_freed_memory
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
    "used_for_predictions": "boolean",
    "choice_reason": "varchar",
}
BACKTEST_COLUMNS = {
    "as_of_date": "date",
    "holdout_days": "integer",
    "model_status": "varchar",
    "purchase_model": "varchar",
    "forecast": "varchar",
    "scope": "varchar",
    "customers": "bigint",
    "actual_purchases": "double",
    "predicted_purchases": "double",
    "total_error": "double",
    "total_error_pct": "double",
    "mean_absolute_error": "double",
    "root_mean_squared_error": "double",
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


def _prediction_frame(columns: dict) -> pd.DataFrame:
    """`_typed` for the per-customer predictions, emptying ``columns`` (name -> array, or a value for every
    customer) as it goes: each column is cleaned once and not copied again (at ten million customers a copy
    of the frame is a gigabyte at the step's peak)."""
    typed = {}
    for name, kind in PREDICTION_COLUMNS.items():
        values = columns.pop(name)
        if kind == "double":
            values = np.asarray(values, dtype=float)
            values = np.where(np.isfinite(values), values, np.nan)
        typed[name] = values
    return pd.DataFrame(typed, copy=False)


def _fit_rows(fit: PurchaseModelFit | SpendModelFit, fitted_on: str, as_of: date, *, used: bool = False,
              choice: str | None = None) -> list[dict]:
    """One row per parameter of the chosen model; one row without a parameter when nothing was fitted.
    ``used``: the published predictions come from it; ``choice``: why it was (not) chosen."""
    common = {"model": fit.model, "fitted_on": fitted_on, "status": fit.status, "variant": fit.variant_name,
              "time_unit": fit.time_unit, "log_likelihood": fit.log_likelihood, "customers": fit.n_customers,
              "converged": fit.is_fitted, "reason": fit.reason, "as_of_date": as_of,
              "used_for_predictions": used, "choice_reason": choice}
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
            "as_of_date": as_of, "used_for_predictions": False, "choice_reason": None}


_PREDICTED = ["probability_alive", "expected_purchases_12m", "expected_purchases_12m_p10",
              "expected_purchases_12m_p90", "expected_order_value", "predicted_clv_12m",
              "predicted_clv_12m_p10", "predicted_clv_12m_p90"]


def _columns(probability_alive, expected_purchases, expected_order_value, clv, intervals
             ) -> dict[str, np.ndarray]:
    values = [probability_alive, expected_purchases, *intervals.purchases, expected_order_value, clv,
              *intervals.clv]
    return dict(zip(_PREDICTED, values, strict=True))


def _predict(purchase_model, spend_model, x, t_x, T, m) -> dict[str, np.ndarray]:
    """The per-customer prediction columns. Without a purchase model only the expected order value can be
    given (when the spend model was fitted); CLV needs both."""
    if not purchase_model.is_fitted:
        columns = {name: np.full(x.size, np.nan) for name in _PREDICTED}
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
    return _columns(forecast.probability_alive, forecast.expected_purchases, forecast.expected_order_value,
                    forecast.clv, intervals)


def _predict_with_covariates(purchase, spend, rows, x, t_x, T, m) -> dict[str, np.ndarray]:
    """`_predict` for the covariate BG/NBD: every cell's customers at once, on the baseline cell's model with
    their own clock (`models.covariate_forecast`). ``spend``: the covariate Gamma-Gamma or the plain fit."""
    forecast = forecast_customers(covariate_forecast.baseline_fit(purchase), None, x, t_x, T, m,
                                  horizon_months=HORIZON_MONTHS, monthly_discount_rate=MONTHLY_DISCOUNT_RATE,
                                  intervals=False, clock=covariate_forecast.clock(purchase, rows))
    order_value = covariate_forecast.expected_order_value(spend, x, m, rows)
    intervals = covariate_forecast.forecast_intervals(
        purchase, spend, rows, x, t_x, T, m, purchase_horizon=forecast.purchase_horizon,
        expected_purchases=forecast.expected_purchases, discounted_purchases=forecast.discounted_purchases)
    return _columns(forecast.probability_alive, forecast.expected_purchases, order_value,
                    forecast.discounted_purchases * order_value, intervals)


def _covariate_summary_fit(fit, reason: str | None, n_customers: int) -> PurchaseModelFit:
    """A covariate BG/NBD as the fit object the rest of the step reports on: its baseline cell's (r, alpha,
    a, b), status fitted, or not_fitted with the reason."""
    if fit is None:
        return PurchaseModelFit(COVARIATES, NOT_FITTED, reason, None, np.zeros(0), np.zeros((0, 0)), np.nan,
                                n_customers, TIME_UNIT)
    return covariate_forecast.baseline_fit(fit)


PURCHASE_MODELS = ("bg_nbd", "pareto_nbd", COVARIATES)


@dataclass(frozen=True)
class _Backtest:
    """The purchase models fitted on the history up to as-of - H (by name), their forecasts of each
    customer's purchases in those H days, and what the customers did. The covariate BG/NBD is fitted only
    when its covariates were significant on the full history (`covariates`: the fit; `design_rows`: every
    customer's design rows, `customers`: a mask of those who had purchased by the cut-off)."""

    fits: dict[str, PurchaseModelFit]
    forecasts: dict[str, np.ndarray]
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    actual: np.ndarray
    covariates: object = None
    design_rows: np.ndarray | None = None
    customers: np.ndarray | None = None

    def covariate_rows(self) -> np.ndarray:
        """The design rows of the customers scored, picked when needed and let go after (held for the whole
        step, they were a gigabyte at ten million customers beside the predictions' peak)."""
        return self.design_rows[self.customers]

    def errors(self) -> dict[str, float]:
        """Root mean squared error per customer of each model's forecast (NaN when the model was not
        fitted): the score of the choice (`models.purchase_model_choice`)."""
        if self.actual.size == 0:
            return dict.fromkeys(self.fits, np.nan)
        return {name: float(np.sqrt(np.mean((forecast - self.actual) ** 2)))
                for name, forecast in self.forecasts.items()}


@dataclass(frozen=True)
class _BeforeCutoff:
    """The customers who had purchased by the back-test cut-off (``customers``, a mask of the summaries),
    their (x, t_x, T) then and their purchase days in the H days after."""

    customers: np.ndarray
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    actual: np.ndarray

    @classmethod
    def of(cls, summaries: pd.DataFrame) -> _BeforeCutoff:
        customers = summaries["calibration_frequency"].notna().to_numpy()
        columns = ("calibration_frequency", "calibration_recency_days", "calibration_tenure_days",
                   "holdout_purchase_days")
        return cls(customers, *(summaries[column].to_numpy(float)[customers] for column in columns))


def _fit_backtest_plain(fit, before_cutoff: _BeforeCutoff) -> PurchaseModelFit:
    """``fit`` (BG/NBD's or Pareto/NBD's) on the history before the back-test cut-off."""
    return fit(before_cutoff.frequency, before_cutoff.recency, before_cutoff.T, time_unit=TIME_UNIT)


@dataclass(frozen=True)
class _BacktestCovariates:
    """The covariate BG/NBD on the history before the cut-off (None with the reason when it was not made),
    with every customer's design rows."""

    fit: BGNBDCovariateFit | None
    reason: str | None
    design_rows: np.ndarray


def _fit_backtest_covariates(before_cutoff: _BeforeCutoff, plain: PurchaseModelFit, design_rows: np.ndarray
                             ) -> _BacktestCovariates | None:
    """``plain``: the back-test's BG/NBD; ``design_rows``: every customer's. None when nobody had purchased
    by the cut-off."""
    x, t_x, T = before_cutoff.frequency, before_cutoff.recency, before_cutoff.T
    if not x.size:
        return None
    rows = design_rows[before_cutoff.customers]
    return _BacktestCovariates(*fit_purchase_covariates(x, t_x, T, rows, TIME_UNIT, plain.full_fit),
                               design_rows)


def _backtest_models(
    before_cutoff: _BeforeCutoff, holdout_days: int, plain_fits: dict[str, PurchaseModelFit],
    covariates: _BacktestCovariates | None,
) -> _Backtest:
    """The back-test's fits: ``plain_fits`` by name and, when the covariate model is a candidate, its fit."""
    x, t_x, T = before_cutoff.frequency, before_cutoff.recency, before_cutoff.T
    fits = dict(plain_fits)
    if covariates is not None:
        fits[COVARIATES] = _covariate_summary_fit(covariates.fit, covariates.reason, x.size)
    if not x.size:
        reason = (f"no customer had purchased by the back-test cut-off (as-of - {holdout_days} days): the "
                  "history is shorter than the holdout")
        fits = {name: replace(fit, reason=reason) for name, fit in fits.items()}
    covariate_fit, rows = (None, None) if covariates is None else (covariates.fit, covariates.design_rows)
    return _Backtest(fits, {}, x, t_x, T, before_cutoff.actual, covariate_fit, rows, before_cutoff.customers)


def _score_backtest(backtest: _Backtest, holdout_days: int) -> _Backtest:
    h = float(holdout_days)
    forecasts = {name: fit.conditional_expected_purchases(h, backtest.frequency, backtest.recency, backtest.T)
                 for name, fit in backtest.fits.items()
                 if fit.is_fitted and backtest.actual.size and name != COVARIATES}
    if backtest.covariates is not None:
        forecasts[COVARIATES] = backtest.covariates.conditional_expected_purchases(
            h, backtest.frequency, backtest.recency, backtest.T, backtest.covariate_rows())
    return replace(backtest, forecasts=forecasts)


def _backtest_quantiles(backtest: _Backtest, chosen: str, holdout_days: int) -> tuple[np.ndarray, np.ndarray]:
    """The chosen model's p10 and p90 of each customer's purchases in the H days (only the quantiles are
    needed: each customer's k loop stops once 90 % is reached)."""
    h = float(holdout_days)
    x, t_x, T = backtest.frequency, backtest.recency, backtest.T
    if chosen != COVARIATES:
        return fitted_count_distribution(backtest.fits[chosen], h, x, t_x, T, tail=0.1).quantiles
    stretch = covariate_forecast.clock(backtest.covariates, backtest.design_rows)[backtest.customers]
    return covariate_forecast.count_distribution_on_clock(backtest.covariates, h, x, t_x, T, stretch,
                                                          tail=0.1).quantiles


def _backtest_rows(backtest: _Backtest, chosen: str, holdout_days: int
                   ) -> tuple[PurchaseModelFit, list[dict], bool | None, dict[str, float] | None]:
    """The rows of clv_backtest: the published model (forecast ``model``: the chosen one's fit on the history
    before the cut-off; its rows are null when it was not fitted) and the naive forecast, for all customers and
    per calibration frequency; each purchase model's own totals (forecast ``bg_nbd``, ``pareto_nbd``), the
    evidence for the choice. The model's rows also carry the calibration of its 80 % intervals over the H
    days: the shares of customers whose actual purchases fell below / at or below p10 and above / at or above
    p90 (returned for all customers too; None when not scored)."""
    model = backtest.fits[chosen]
    if backtest.actual.size == 0:
        return model, [], None, None
    x, actual = backtest.frequency, backtest.actual
    report = score_forecasts(
        x, actual,
        {"model": backtest.forecasts.get(chosen, np.full(x.size, np.nan)),
         "naive": naive_forecast(x, backtest.T, float(holdout_days)),
         **{name: backtest.forecasts.get(name, np.full(x.size, np.nan)) for name in PURCHASE_MODELS
            if name in backtest.fits}},
        horizon=float(holdout_days))
    buckets = frequency_buckets(x)
    if model.is_fitted:
        p10, p90 = _backtest_quantiles(backtest, chosen, holdout_days)

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
                     "mean_absolute_error": row["mae"], "root_mean_squared_error": row["rmse"],
                     **(shares(everyone) if forecast_name == "model" else no_shares)})
    for bucket, row in report.by_frequency.iterrows():
        n = int(row["n_customers"])
        for forecast_name in ("model", "naive"):
            rows.append({"forecast": forecast_name, "scope": f"calibration frequency {bucket}", "customers": n,
                         "actual_purchases": row["actual_mean"] * n,
                         "predicted_purchases": row[f"{forecast_name}_mean"] * n,
                         "total_error": (row[f"{forecast_name}_mean"] - row["actual_mean"]) * n,
                         "total_error_pct": np.nan, "mean_absolute_error": row[f"{forecast_name}_mae"],
                         **(shares(buckets == bucket) if forecast_name == "model" else no_shares)})
    beats_naive = None
    if model.is_fitted:
        model_row, naive_row = report.summary.loc["model"], report.summary.loc["naive"]
        beats_naive = bool(model_row["mae"] <= naive_row["mae"]
                           and abs(model_row["total_error"]) <= abs(naive_row["total_error"]))
    calibrated = shares(everyone) if model.is_fitted else None
    return model, rows, beats_naive, calibrated


# Up to this many customers the back-test is scored beside the predictions (a million: 2.9 GB at the peak);
# beyond, after them (ten million side by side: 17 GB).
_SCORES_BESIDE_UP_TO = 3_000_000


def predict_customers(summaries: pd.DataFrame, as_of: date, holdout_days: int) -> ClvRun:
    """`summaries`: one row per purchasing customer, as in dbt's int_customers_summarized_for_predictions."""
    x = summaries["frequency"].to_numpy(float)
    t_x = summaries["recency_days"].to_numpy(float)
    T = summaries["tenure_days"].to_numpy(float)
    m = summaries["monetary_value"].to_numpy(float)

    with ThreadPoolExecutor(max_workers=1) as beside:
        # The back-test's plain fits need nothing from the full history's: fitted on the second core meanwhile
        # (the likelihoods' special functions release the GIL). The same fits as one after the other.
        before_cutoff = _BeforeCutoff.of(summaries)
        backtest_fits = {name: beside.submit(_fit_backtest_plain, fit, before_cutoff)
                         for name, fit in (("bg_nbd", fit_purchase_model), ("pareto_nbd", fit_pareto_nbd_model))}
        full_history = {"bg_nbd": fit_purchase_model(x, t_x, T, time_unit=TIME_UNIT)}
        spend_model = fit_spend_model(x, m)

        def backtest_covariates(purchase, design) -> _BacktestCovariates | None:
            # a significant covariate purchase model is a candidate: fitted on the back-test's history here,
            # right after the full history's, while the second core has Pareto/NBD and the spend fit
            if not significant(purchase):
                return None
            return _fit_backtest_covariates(before_cutoff, backtest_fits["bg_nbd"].result(), design.matrix)

        # The covariate fits explain (published either way); the spend one goes to the second core, and comes
        # back here if that has not started it by the time this one is free.
        covariates, covariate_backtest = fit_covariate_models(
            summaries, full_history["bg_nbd"], spend_model, TIME_UNIT, beside, then=backtest_covariates)
        candidate = covariates.purchase_significant()
        plain_backtest = {name: fit.result() for name, fit in backtest_fits.items()}
        backtest = _score_backtest(
            _backtest_models(before_cutoff, holdout_days, plain_backtest, covariate_backtest), holdout_days)
    choice = choose_purchase_model(backtest.errors(), full_history["bg_nbd"].is_fitted, holdout_days,
                                   covariates_excluded=None if candidate else covariates.exclusion())
    if choice.chosen == "pareto_nbd":
        full_history["pareto_nbd"] = fit_pareto_nbd_model(x, t_x, T, time_unit=TIME_UNIT)
        if not full_history["pareto_nbd"].is_fitted:
            choice = fallback(choice, full_history["pareto_nbd"].reason)
    with np.errstate(invalid="ignore"):
        repeat = (x > 0) & (m > 0)
    independence = frequency_monetary_correlation(x[repeat], m[repeat])
    covariate_spend = choice.chosen == COVARIATES and covariates.spend_significant()
    hand_back_freed_memory(x.size)  # what the fits freed, before the predictions' peak (freed_memory.py)
    with ThreadPoolExecutor(max_workers=1) as beside:
        # The back-test's scores (its interval quantiles most of the work) beside the predictions; after
        # them beyond _SCORES_BESIDE_UP_TO customers, where two count distributions at once take too much
        # memory.
        if x.size <= _SCORES_BESIDE_UP_TO:
            scored_backtest = beside.submit(_backtest_rows, backtest, choice.chosen, holdout_days)
        if choice.chosen == COVARIATES:
            purchase_model = _covariate_summary_fit(covariates.purchase, None, x.size)
            columns = _predict_with_covariates(covariates.purchase,
                                               covariates.spend if covariate_spend else spend_model,
                                               covariates.design.matrix, x, t_x, T, m)
        else:
            purchase_model = full_history[choice.chosen]
            columns = _predict(purchase_model, spend_model, x, t_x, T, m)
        if x.size > _SCORES_BESIDE_UP_TO:
            hand_back_freed_memory(x.size)
            scored_backtest = beside.submit(_backtest_rows, backtest, choice.chosen, holdout_days)
        backtest_model, backtest_rows, beats_naive, calibration = scored_backtest.result()
    hand_back_freed_memory(x.size)
    health = health_score(
        columns["probability_alive"], T - t_x, expected_interpurchase_time(x, t_x),
        latest_order_value=summaries["latest_day_revenue"].to_numpy(float),
        mean_order_value=summaries["mean_day_revenue"].to_numpy(float),
        latest_nps=summaries["latest_nps_score"].to_numpy(float),
        frequency=x,
    )
    columns.update(customer_id=summaries["customer_id"].array, as_of_date=as_of, health_score=health.score,
                   health_band=health.band, purchase_model_status=purchase_model.status,
                   spend_model_status=spend_model.status)
    del health
    predictions = _prediction_frame(columns)

    backtest_label = f"history to as-of - {holdout_days} days (back-test)"
    fit_rows = []
    for name, fit in full_history.items():
        fit_rows += _fit_rows(fit, FULL_HISTORY, as_of, used=name == choice.chosen and fit.is_fitted)
    fit_rows += _fit_rows(spend_model, FULL_HISTORY, as_of,
                          used=spend_model.is_fitted and purchase_model.is_fitted and not covariate_spend)
    fit_rows.append(_correlation_row(independence, as_of))
    fit_rows += covariate_fit_rows(covariates, as_of, TIME_UNIT, purchase_used=choice.chosen == COVARIATES,
                                   spend_used=covariate_spend)
    for name, fit in backtest.fits.items():  # the evidence for the choice, with its reason
        fit_rows += _fit_rows(fit, backtest_label, as_of, choice=choice.reasons.get(name))
    model_fits = _typed(pd.DataFrame(fit_rows), MODEL_FIT_COLUMNS)
    scores = pd.DataFrame(backtest_rows, columns=[c for c in BACKTEST_COLUMNS if c not in
                                                  ("as_of_date", "holdout_days", "model_status", "purchase_model")])
    scores.insert(0, "as_of_date", as_of)
    scores.insert(1, "holdout_days", int(holdout_days))
    scores.insert(2, "model_status", backtest_model.status)
    scores.insert(3, "purchase_model", choice.chosen)
    return ClvRun(predictions, model_fits, _typed(scores, BACKTEST_COLUMNS), purchase_model, spend_model,
                  independence, backtest_model, beats_naive, calibration)
