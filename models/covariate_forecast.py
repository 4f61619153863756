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
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from models import bgnbd_limits, gamma_gamma_limits
from models.covariates import BGNBDCovariateFit, GammaGammaCovariateFit
from models.selection import FITTED, PurchaseModelFit, SpendModelFit

MODEL = "bg_nbd_covariates"
SPEND_MODEL = "gamma_gamma_covariates"


@dataclass(frozen=True)
class CellFits:
    """The customers of one covariate cell (indices into the design's rows) and their cell's fits."""

    customers: np.ndarray
    purchase: PurchaseModelFit
    spend: SpendModelFit | None


def _cells(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct design rows, cell of each customer)."""
    if rows.shape[1] == 0:
        return np.zeros((1, 0)), np.zeros(rows.shape[0], dtype=np.intp)
    distinct, of_customer = np.unique(rows, axis=0, return_inverse=True)
    return distinct, of_customer.ravel()


def cell_fits(purchase: BGNBDCovariateFit, spend: GammaGammaCovariateFit | SpendModelFit | None,
              rows: np.ndarray) -> Iterator[CellFits]:
    """Per cell of ``rows`` (the customers' design rows): the purchase fit at the cell's parameters and the
    spend fit (the covariate Gamma-Gamma's at the cell's gamma, or the same plain ``SpendModelFit`` for all)."""
    rows = np.asarray(rows, dtype=float)
    distinct, of_customer = _cells(rows)
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
