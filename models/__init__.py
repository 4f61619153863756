"""Retentio's statistical models, plain numpy/scipy: BG/NBD purchases, Gamma-Gamma spend, CLV with
parameter-uncertainty intervals, the holdout back-test and the customer health score.

One module per job: ``summaries`` builds (x, t_x, T, m) from transactions, ``bgnbd`` and ``gamma_gamma`` fit
and predict, ``clv`` combines them (with ``intervals``), ``backtest`` scores forecasts against a holdout,
``health`` turns the predictions into a 0-100 score and bands. ``simulation`` draws customers from the
models for tests and benchmarks.
"""

from models.backtest import BacktestReport, backtest_bgnbd, naive_forecast, score_forecasts
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
from models.summaries import summarise_calibration_and_holdout, summarise_transactions

__all__ = [
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
    "naive_forecast",
    "probability_alive",
    "score_forecasts",
    "summarise_calibration_and_holdout",
    "summarise_transactions",
]
