"""Customer lifetime value over a horizon, and the per-customer forecast the pipeline publishes.

CLV of a customer with history (x, t_x, T) and average repeat-order value m, over M months (default 12) at a
monthly discount rate d (default 1%), by the discrete approximation

    CLV = E[Z | m, x] * sum_{k=1..M} (E[Y(k u) | x, t_x, T] - E[Y((k-1) u) | x, t_x, T]) / (1 + d)^k

where u is the length of a month in the fit's time unit (30.4375 days / 4.348 weeks), E[Y(t) | ...] is
BG/NBD's conditional expected purchases in the next t (FHL 2005 eq. 10) and E[Z | m, x] the Gamma-Gamma
expected order value (note 025 eq. 5). Purchases expected during month k are discounted as if made at its
end. It is the same sum as lifetimes' ``customer_lifetime_value``, which uses 30-day / 4.345-week months
(pass ``time_units_per_month`` to reproduce it exactly). It relies on spend being independent of the
purchase process: check ``frequency_monetary_correlation`` before publishing.

Because E[Y(t) | x, t_x, T] = P(alive | x, t_x, T) * g(x, T, t) (see ``models.bgnbd``), the hypergeometric
part is evaluated once per distinct (x, T) and month; per customer only P(alive) and a product remain. The
forecast adds 80% intervals from parameter uncertainty (``models.intervals``): 9 evaluations of the BG/NBD
part and 7 cheap Gamma-Gamma evaluations, whatever the number of customers.

The same sum serves the limiting cases (``models.bgnbd_limits``, ``models.gamma_gamma_limits``): the fits
``models.selection`` chooses carry their variant, whose P(alive), g and E[Z] replace the full model's, and
the intervals use the covariance of the variant's own parameters (fewer evaluations, 1 + 2k). A spend model
that could not be fitted leaves the order value, CLV and their intervals NaN; a fit without a covariance
leaves its intervals NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from models import bgnbd_limits, gamma_gamma_limits
from models.bgnbd import BGNBDFit
from models.distinct import distinct_rows
from models.gamma_gamma import GammaGammaFit
from models.intervals import INTERVAL_QUANTILES, central_log_gradients, lognormal_quantiles
from models.selection import PurchaseModelFit, SpendModelFit
from models.time_units import units_per_month

DEFAULT_HORIZON_MONTHS = 12
DEFAULT_MONTHLY_DISCOUNT_RATE = 0.01


class _Model(NamedTuple):
    """What a forecast needs of a fit: the variant's formulas, its parameters (theta) and their covariance."""

    variant: object
    theta: np.ndarray
    covariance: np.ndarray
    time_unit: str | None


def _purchase_model(fit: BGNBDFit | PurchaseModelFit) -> _Model:
    if isinstance(fit, BGNBDFit):
        return _Model(bgnbd_limits.FULL, fit.log_params, fit.covariance, fit.time_unit)
    if not fit.is_fitted:
        raise ValueError(f"no forecast from a purchase model that was not fitted: {fit.reason}")
    return _Model(fit.variant, fit.theta, fit.covariance, fit.time_unit)


def _spend_model(fit: GammaGammaFit | SpendModelFit | None) -> _Model | None:
    if isinstance(fit, GammaGammaFit):
        return _Model(gamma_gamma_limits.FULL, fit.log_params, fit.covariance, None)
    if fit is None or not fit.is_fitted:
        return None
    return _Model(fit.variant, fit.theta, fit.covariance, None)


class _PurchaseForecaster:
    """Evaluates, for any parameters theta of a BG/NBD variant, per customer: P(alive), expected purchases in
    the next ``purchase_horizon`` and discounted expected purchases over the CLV horizon, with g computed
    once per distinct (x, T). ``clock`` (optional, per customer) multiplies every time of that customer,
    the horizon and the month ends included (``models.covariate_forecast``: a covariate cell's customers on
    the baseline cell's clock); g is then computed once per distinct (x, T, clock)."""

    def __init__(
        self, variant, frequency, recency, T, purchase_horizon, month_length, horizon_months, discount_rate,
        clock=None,
    ):
        self.variant = variant
        self.x = np.asarray(frequency, dtype=float).ravel()
        self.t_x = np.asarray(recency, dtype=float).ravel()
        self.age = np.asarray(T, dtype=float).ravel()
        months = np.arange(1, horizon_months + 1)
        times = np.concatenate([[float(purchase_horizon)], months * month_length])[None, :]
        if clock is None:
            pairs = distinct_rows(self.x, self.age)
            self.pair_x, self.pair_age = (c[:, None] for c in pairs.columns)
            self.times = times
        else:
            clock = np.broadcast_to(np.asarray(clock, dtype=float).ravel(), self.x.shape)
            self.t_x, self.age = self.t_x * clock, self.age * clock
            pairs = distinct_rows(self.x, self.age, clock)
            self.pair_x, self.pair_age, pair_clock = (c[:, None] for c in pairs.columns)
            self.times = times * pair_clock
        self.pair_index = pairs.inverse
        self.discount = (1.0 + discount_rate) ** -months.astype(float)

    def evaluate(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p_alive = self.variant.probability_alive(theta, self.x, self.t_x, self.age)
        if_alive = self.variant.expected_purchases_if_alive(theta, self.times, self.pair_x, self.pair_age)
        in_horizon = if_alive[:, 0]
        cumulative = np.concatenate([np.zeros((if_alive.shape[0], 1)), if_alive[:, 1:]], axis=1)
        discounted = np.einsum(
            "ij,j->i", np.diff(cumulative, axis=1), self.discount
        )  # no BLAS: see optimise.dot
        return p_alive, p_alive * in_horizon[self.pair_index], p_alive * discounted[self.pair_index]


def _month_length(model: _Model, time_units_per_month: float | None) -> float:
    return units_per_month(model.time_unit) if time_units_per_month is None else float(time_units_per_month)


def _order_value(spend: _Model | None, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    if spend is None:
        return np.full(x.shape, np.nan)
    return spend.variant.expected_order_value(spend.theta, x, m)


def discounted_expected_purchases(
    bgnbd: BGNBDFit | PurchaseModelFit,
    frequency,
    recency,
    T,
    *,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    monthly_discount_rate: float = DEFAULT_MONTHLY_DISCOUNT_RATE,
    time_units_per_month: float | None = None,
) -> np.ndarray:
    """sum_{k=1..M} (E[Y(k u)] - E[Y((k-1) u)]) / (1 + d)^k per customer (the CLV sum without the value)."""
    model = _purchase_model(bgnbd)
    forecaster = _PurchaseForecaster(
        model.variant,
        frequency,
        recency,
        T,
        0.0,
        _month_length(model, time_units_per_month),
        horizon_months,
        monthly_discount_rate,
    )
    return forecaster.evaluate(model.theta)[2]


def customer_lifetime_value(
    bgnbd: BGNBDFit | PurchaseModelFit,
    gamma_gamma: GammaGammaFit | SpendModelFit | None,
    frequency,
    recency,
    T,
    monetary_value,
    *,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    monthly_discount_rate: float = DEFAULT_MONTHLY_DISCOUNT_RATE,
    time_units_per_month: float | None = None,
) -> np.ndarray:
    """Discounted CLV per customer over ``horizon_months`` (module docstring), in the currency of m."""
    purchases = discounted_expected_purchases(
        bgnbd,
        frequency,
        recency,
        T,
        horizon_months=horizon_months,
        monthly_discount_rate=monthly_discount_rate,
        time_units_per_month=time_units_per_month,
    )
    x = np.ravel(np.asarray(frequency, dtype=float))
    return purchases * _order_value(
        _spend_model(gamma_gamma), x, np.ravel(np.asarray(monetary_value, dtype=float))
    )


@dataclass(frozen=True)
class CustomerForecast:
    """Per-customer predictions; ``*_lower`` / ``*_upper`` are the ``quantiles`` (10th / 90th percentile by
    default) of the prediction under parameter uncertainty. Times in ``time_unit``."""

    time_unit: str
    purchase_horizon: float
    horizon_months: int
    monthly_discount_rate: float
    quantiles: tuple[float, float]
    probability_alive: np.ndarray = field(repr=False)
    expected_purchases: np.ndarray = field(repr=False)
    expected_purchases_lower: np.ndarray | None = field(repr=False)  # None when computed without intervals
    expected_purchases_upper: np.ndarray | None = field(repr=False)
    expected_order_value: np.ndarray = field(repr=False)
    clv: np.ndarray = field(repr=False)
    clv_lower: np.ndarray | None = field(repr=False)
    clv_upper: np.ndarray | None = field(repr=False)
    # the discounted expected purchases CLV multiplies by the order value (discounted_expected_purchases)
    discounted_purchases: np.ndarray | None = field(default=None, repr=False)

    def to_frame(self, index=None) -> pd.DataFrame:
        """One row per customer, in input order; interval columns only when they were computed."""
        names = [
            "probability_alive",
            "expected_purchases",
            "expected_purchases_lower",
            "expected_purchases_upper",
            "expected_order_value",
            "clv",
            "clv_lower",
            "clv_upper",
        ]
        return pd.DataFrame({n: getattr(self, n) for n in names if getattr(self, n) is not None}, index=index)


def forecast_customers(
    bgnbd: BGNBDFit | PurchaseModelFit,
    gamma_gamma: GammaGammaFit | SpendModelFit | None,
    frequency,
    recency,
    T,
    monetary_value,
    *,
    purchase_horizon: float | None = None,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    monthly_discount_rate: float = DEFAULT_MONTHLY_DISCOUNT_RATE,
    time_units_per_month: float | None = None,
    quantiles: tuple[float, float] = INTERVAL_QUANTILES,
    intervals: bool = True,
    clock=None,
) -> CustomerForecast:
    """P(alive), expected purchases in the next ``purchase_horizon`` (default: the CLV horizon, in the
    BG/NBD fit's time unit), expected order value and CLV, with intervals for purchases and CLV.

    Inputs are the customers' (x, t_x, T) in ``bgnbd.time_unit`` and m (NaN allowed when x = 0). ``bgnbd``
    is a fitted BG/NBD or the model ``models.selection`` chose (it must be fitted); ``gamma_gamma`` likewise,
    or None / not fitted, which leaves order value and CLV NaN. Intervals are NaN when a fit has no covariance
    (it did not converge); ``intervals=False`` skips them (the ``*_lower`` / ``*_upper`` fields are then None)
    and costs one evaluation instead of nine. ``clock`` (per customer, optional) multiplies each customer's
    times for the purchase model (``models.covariate_forecast``'s stretched clock); the reported horizon stays
    the caller's.
    """
    purchase_model = _purchase_model(bgnbd)
    spend_model = _spend_model(gamma_gamma)
    month_length = _month_length(purchase_model, time_units_per_month)
    horizon = horizon_months * month_length if purchase_horizon is None else float(purchase_horizon)
    forecaster = _PurchaseForecaster(
        purchase_model.variant,
        frequency,
        recency,
        T,
        horizon,
        month_length,
        horizon_months,
        monthly_discount_rate,
        clock,
    )
    x = forecaster.x
    m = np.asarray(monetary_value, dtype=float).ravel()

    p_alive, purchases, discounted = forecaster.evaluate(purchase_model.theta)
    order_value = _order_value(spend_model, x, m)
    clv = discounted * order_value

    if not intervals:
        return CustomerForecast(
            time_unit=purchase_model.time_unit,
            purchase_horizon=horizon,
            horizon_months=horizon_months,
            monthly_discount_rate=monthly_discount_rate,
            quantiles=tuple(quantiles),
            probability_alive=p_alive,
            expected_purchases=purchases,
            expected_purchases_lower=None,
            expected_purchases_upper=None,
            expected_order_value=order_value,
            clv=clv,
            clv_lower=None,
            clv_upper=None,
            discounted_purchases=discounted,
        )
    purchase_gradient, discounted_gradient = central_log_gradients(
        lambda theta: forecaster.evaluate(theta)[1:], purchase_model.theta
    )
    purchases_lower, purchases_upper = lognormal_quantiles(
        purchases, [(purchase_gradient, purchase_model.covariance)], quantiles
    )
    if spend_model is None:
        clv_lower, clv_upper = np.full(x.shape, np.nan), np.full(x.shape, np.nan)
    else:
        (order_value_gradient,) = central_log_gradients(
            lambda theta: (spend_model.variant.expected_order_value(theta, x, m),), spend_model.theta
        )
        clv_lower, clv_upper = lognormal_quantiles(
            clv,
            [
                (discounted_gradient, purchase_model.covariance),
                (order_value_gradient, spend_model.covariance),
            ],
            quantiles,
        )
    return CustomerForecast(
        time_unit=purchase_model.time_unit,
        purchase_horizon=horizon,
        horizon_months=horizon_months,
        monthly_discount_rate=monthly_discount_rate,
        quantiles=tuple(quantiles),
        probability_alive=p_alive,
        expected_purchases=purchases,
        expected_purchases_lower=purchases_lower,
        expected_purchases_upper=purchases_upper,
        expected_order_value=order_value,
        clv=clv,
        clv_lower=clv_lower,
        clv_upper=clv_upper,
        discounted_purchases=discounted,
    )
