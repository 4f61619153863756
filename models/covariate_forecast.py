"""Predictions from the covariate models (``models.covariates``): one plain fit per covariate cell.

Customers with the same covariate values (a cell: say paid-search customers from France who first bought in
2025) share their parameters: (r, alpha_i, a_i, b_i) for purchases and (p, q, gamma_i) for spend. Given the
cell, the model is the plain BG/NBD and Gamma-Gamma at those parameters, so every per-customer result the
pipeline publishes for the plain models (P(alive), expected and discounted purchases, CLV, the predictive
intervals) is computed cell by cell by the same code (``models.clv``, ``models.predictive_intervals``) on
``PurchaseModelFit`` / ``SpendModelFit`` objects holding the cell's parameters. A design has at most a few
hundred cells, each evaluated once per distinct history as usual.

The cell fits carry no covariance: the intervals use the cell's parameters at their estimates (the
predictive spread of a count dwarfs the parameters' sampling error, as for Pareto/NBD), and their
log-likelihood is the covariate fit's.

The intervals are not computed cell by cell but for everyone at once (``count_distribution``,
``forecast_intervals``): a few hundred cells of a few thousand customers each would run the count
distribution's k loop and the CLV quantiles' root search a few hundred times over small arrays, where the
interpreter's overhead per step is the cost (18 s instead of 7 at a million customers). With covariates on
the purchase rate only (alpha_i = alpha0 exp(-beta'z_i), the pipeline's model), a customer of cell c is a
baseline customer on a stretched clock: lambda_i ~ Gamma(r, alpha_i) is lambda0 / s_i in law with
s_i = alpha0 / alpha_i = exp(beta'z_i), so the purchases in any interval of length u are the baseline's in
an interval of length s_i u, while the drop-out after each purchase does not involve time. Every count
distribution of the cell is therefore the baseline model's at (x, s_i t_x, s_i T) over the horizon s_i t:
one call of ``models.predictive_intervals`` with a horizon per customer, and P(alive), the expected and the
discounted purchases are ``models.clv``'s on that clock (``clock``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from models import bgnbd_limits, gamma_gamma_limits
from models.covariates import BGNBDCovariateFit, GammaGammaCovariateFit, design_cells
from models.intervals import INTERVAL_QUANTILES
from models.predictive_intervals import (
    DEFAULT_TAIL,
    PredictiveIntervals,
    PurchaseCountDistribution,
    gamma_gamma_posterior,
    intervals_from,
    mean_spend_posterior,
    purchase_count_distribution,
)
from models.selection import FITTED, PurchaseModelFit, SpendModelFit

MODEL = "bg_nbd_covariates"
SPEND_MODEL = "gamma_gamma_covariates"


@dataclass(frozen=True)
class CellFits:
    """The customers of one covariate cell (indices into the design's rows) and their cell's fits."""

    customers: np.ndarray
    purchase: PurchaseModelFit
    spend: SpendModelFit | None


def cell_fits(purchase: BGNBDCovariateFit, spend: GammaGammaCovariateFit | SpendModelFit | None,
              rows: np.ndarray) -> Iterator[CellFits]:
    """Per cell of ``rows`` (the customers' design rows): the purchase fit at the cell's parameters and the
    spend fit (the covariate Gamma-Gamma's at the cell's gamma, or the same plain ``SpendModelFit`` for all)."""
    # (np.unique(rows, axis=0) sorts the rows as opaque records: 6 s for a million customers' 20 dummies)
    distinct, of_customer = design_cells(np.asarray(rows, dtype=float))
    r, alpha, a, b = (np.broadcast_to(v, (distinct.shape[0],)) for v in purchase.customer_params(distinct))
    if isinstance(spend, GammaGammaCovariateFit):
        p, q, gamma = (np.broadcast_to(v, (distinct.shape[0],)) for v in spend.customer_params(distinct))
    order = np.argsort(of_customer, kind="stable")
    bounds = np.searchsorted(of_customer[order], np.arange(distinct.shape[0] + 1))
    for cell in range(distinct.shape[0]):
        customers = order[bounds[cell]:bounds[cell + 1]]
        if customers.size == 0:
            continue
        theta = np.log([r[cell], alpha[cell], a[cell], b[cell]])
        cell_purchase = PurchaseModelFit(MODEL, FITTED, None, bgnbd_limits.FULL, theta, np.full((4, 4), np.nan),
                                         purchase.log_likelihood, customers.size, purchase.time_unit)
        if isinstance(spend, GammaGammaCovariateFit):
            cell_spend = SpendModelFit(SPEND_MODEL, FITTED, None, gamma_gamma_limits.FULL,
                                       np.log([p[cell], q[cell], gamma[cell]]), np.full((3, 3), np.nan),
                                       spend.log_likelihood, customers.size, None)
        else:
            cell_spend = spend
        yield CellFits(customers, cell_purchase, cell_spend)


def clock(purchase: BGNBDCovariateFit, rows) -> np.ndarray:
    """Each customer's clock against the baseline cell's, s_i = alpha0 / alpha_i = exp(beta'z_i) (module
    docstring). Rate covariates only."""
    if purchase.dropout_a_coefficients is not None:
        raise ValueError("the stretched clock holds for covariates on the purchase rate only; this fit also "
                         "has drop-out covariates (evaluate its cells one by one with cell_fits)")
    return np.exp(np.asarray(rows, dtype=float) @ purchase.rate_coefficients)


def baseline_fit(purchase: BGNBDCovariateFit) -> PurchaseModelFit:
    """The plain BG/NBD at the baseline cell's parameters, without a covariance (as the cells')."""
    theta = np.log(np.asarray(purchase.params, dtype=float))
    return PurchaseModelFit(MODEL, FITTED, None, bgnbd_limits.FULL, theta, np.full((4, 4), np.nan),
                            purchase.log_likelihood, purchase.n_customers, purchase.time_unit)


def expected_order_value(spend: GammaGammaCovariateFit | SpendModelFit | None, frequency, monetary_value, rows
                         ) -> np.ndarray:
    """E[Z | x, m] per customer: at the cell's gamma_i (covariate Gamma-Gamma) or the plain fit's (NaN when
    there is no fitted spend model)."""
    if isinstance(spend, GammaGammaCovariateFit):
        return spend.expected_order_value(frequency, monetary_value, rows)
    if spend is not None and spend.is_fitted:
        return spend.expected_order_value(frequency, monetary_value)
    return np.full(np.shape(frequency), np.nan)


def count_distribution(purchase: BGNBDCovariateFit, t, frequency, recency, T, rows, *,
                       levels=INTERVAL_QUANTILES, tail: float = DEFAULT_TAIL) -> PurchaseCountDistribution:
    """Every customer's distribution of purchases in the next t, each with their cell's parameters: the
    baseline model on each customer's stretched clock (module docstring). Rate covariates only."""
    return count_distribution_on_clock(purchase, t, frequency, recency, T, clock(purchase, rows),
                                       levels=levels, tail=tail)


def count_distribution_on_clock(purchase: BGNBDCovariateFit, t, frequency, recency, T, stretch, *,
                                levels=INTERVAL_QUANTILES, tail: float = DEFAULT_TAIL
                                ) -> PurchaseCountDistribution:
    """`count_distribution` from each customer's clock (``clock``), for a caller that has the clocks of more
    customers than it asks about and need not pick their design rows (a copy as large as the design)."""
    baseline = baseline_fit(purchase)
    recency, T = (np.asarray(times, dtype=float) * stretch for times in (recency, T))
    return purchase_count_distribution(baseline.variant, baseline.theta, baseline.covariance,
                                       float(t) * stretch, frequency, recency, T, levels=levels, tail=tail)


def forecast_intervals(purchase: BGNBDCovariateFit, spend: GammaGammaCovariateFit | SpendModelFit | None,
                       rows, frequency, recency, T, monetary_value, *, purchase_horizon: float,
                       expected_purchases, discounted_purchases, levels=INTERVAL_QUANTILES
                       ) -> PredictiveIntervals:
    """``models.predictive_intervals.forecast_intervals`` with each customer's cell parameters: the counts
    by ``count_distribution``, the mean spend at the cell's gamma_i (covariate Gamma-Gamma) or the plain
    spend fit's."""
    x = np.asarray(frequency, dtype=float).ravel()
    counts = count_distribution(purchase, purchase_horizon, x, recency, T, rows, levels=levels)
    if isinstance(spend, GammaGammaCovariateFit):
        posterior = gamma_gamma_posterior(*spend.customer_params(rows), x, monetary_value)
    elif spend is not None and spend.is_fitted:
        posterior = mean_spend_posterior(spend.variant, spend.theta, x, monetary_value)
    else:
        posterior = None
    return intervals_from(counts, posterior, expected_purchases, discounted_purchases)
