"""Retentio's statistical models, plain numpy/scipy: BG/NBD purchases, Gamma-Gamma spend, CLV, per-customer
predictive intervals, the holdout back-test and the customer health score.

One module per job: ``summaries`` builds (x, t_x, T, m) from transactions, ``bgnbd`` and ``gamma_gamma`` fit
and predict, ``bgnbd_limits`` and ``gamma_gamma_limits`` are the limiting models for customers who do not
differ, ``minimum_data`` says when there is too little data, ``selection`` fits the candidates and chooses
by likelihood (status fitted / limiting_case / not_fitted), ``clv`` combines them (with ``intervals``, the
parameter-uncertainty intervals of the expected values), ``purchase_counts`` is the exact distribution of a
customer's future purchase count and ``predictive_intervals`` turns it into the published 80 % intervals of
purchases and CLV, ``backtest`` scores forecasts against a holdout, ``health`` turns the predictions into a
0-100 score and bands. ``simulation`` draws customers from the models for tests and benchmarks.
``pareto_nbd`` is the second purchase model, ``pareto_nbd_forecast`` puts it behind the BG/NBD family's
interface and ``purchase_model_choice`` says which one the back-test chose; ``covariates`` fits BG/NBD and
Gamma-Gamma with customer covariates (acquisition channel, country, cohort) and ``covariate_forecast``
predicts from them cell by cell.
"""

from models.backtest import BacktestReport, backtest_bgnbd, interval_shares, naive_forecast, score_forecasts
from models.bgnbd import (
    BGNBDFit,
    BGNBDParams,
    conditional_expected_purchases,
    expected_purchases,
    fit_bgnbd,
    probability_alive,
)
from models.clv import (
    CustomerForecast,
    customer_lifetime_value,
    discounted_expected_purchases,
    forecast_customers,
)
from models.errors import ModelFitError
from models.gamma_gamma import (
    GammaGammaFit,
    GammaGammaParams,
    SpendIndependenceCheck,
    expected_order_value,
    fit_gamma_gamma,
    frequency_monetary_correlation,
)
from models.health import HEALTH_BANDS, HealthScores, expected_interpurchase_time, health_score
from models.minimum_data import purchase_data_shortfall, spend_data_shortfall
from models.predictive_intervals import (
    PredictiveIntervals,
    PurchaseCountDistribution,
    forecast_intervals,
    purchase_count_distribution,
)
from models.purchase_counts import purchase_count_pmf, purchase_count_survival
from models.selection import (
    FITTED,
    LIMITING_CASE,
    NOT_FITTED,
    PurchaseModelFit,
    SpendModelFit,
    fit_purchase_model,
    fit_spend_model,
)
from models.summaries import summarise_calibration_and_holdout, summarise_transactions

__all__ = [
    "FITTED",
    "LIMITING_CASE",
    "NOT_FITTED",
    "PurchaseModelFit",
    "SpendModelFit",
    "fit_purchase_model",
    "fit_spend_model",
    "purchase_data_shortfall",
    "spend_data_shortfall",
    "BGNBDFit",
    "BGNBDParams",
    "BacktestReport",
    "CustomerForecast",
    "GammaGammaFit",
    "GammaGammaParams",
    "HEALTH_BANDS",
    "HealthScores",
    "ModelFitError",
    "SpendIndependenceCheck",
    "backtest_bgnbd",
    "conditional_expected_purchases",
    "customer_lifetime_value",
    "discounted_expected_purchases",
    "expected_interpurchase_time",
    "expected_order_value",
    "expected_purchases",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "forecast_customers",
    "frequency_monetary_correlation",
    "health_score",
    "interval_shares",
    "PredictiveIntervals",
    "PurchaseCountDistribution",
    "forecast_intervals",
    "purchase_count_distribution",
    "purchase_count_pmf",
    "purchase_count_survival",
    "naive_forecast",
    "probability_alive",
    "score_forecasts",
    "summarise_calibration_and_holdout",
    "summarise_transactions",
]
