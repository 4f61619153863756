"""Pareto/NBD as a purchase model the pipeline can publish: the same fit object and variant interface as the
BG/NBD family (``models.selection.PurchaseModelFit``), so the CLV forecast (``models.clv``), the back-test
(``models.backtest``) and the predictive intervals (``models.predictive_intervals``) take either model.

The variant evaluates ``models.pareto_nbd`` at theta = the logs of (r, alpha, s, beta). Its E[Y(t) | x, t_x,
T] factors like BG/NBD's: P(alive | x, t_x, T) times the purchases expected if alive, (r+x)/(alpha+T) times
the expected time alive in the horizon, which depends on (x, T) only, so ``models.clv`` evaluates that part
once per distinct (x, T).

The count distribution for the intervals is ``models.pareto_nbd.purchase_count_pmf`` at the estimate: unlike
BG/NBD's it is an integral over the remaining lifetime (64 quadrature nodes per history and count), and mixing
it over the parameters' sampling distribution as well would multiply that cost by eight for an effect that
is small beside the spread of a count (the parameters of a fit on thousands of customers are known to a few
percent). A fit that is not a proper maximum (no convergence) is not_fitted and never published.
"""

from __future__ import annotations

import numpy as np

from models.distinct import distinct_rows
from models.errors import ModelFitError
from models.intervals import INTERVAL_QUANTILES
from models.minimum_data import purchase_data_shortfall
from models.pareto_nbd import (
    ParetoNBDParams,
    check_histories,
    conditional_expected_purchases,
    expected_purchases,
    fit_pareto_nbd,
    probability_alive,
)
from models.predictive_intervals import DEFAULT_TAIL, MAX_PURCHASES, CountTable, PurchaseCountDistribution
from models.selection import FITTED, NOT_FITTED, PurchaseModelFit
from models.time_units import check_time_unit

MODEL = "pareto_nbd"
QUADRATURE_NODES = 64  # as models.pareto_nbd.purchase_count_pmf's default


class ParetoNBDVariant:
    """The Pareto/NBD model behind the interface of ``models.bgnbd_limits.PurchaseVariant``."""

    name = MODEL
    parameters = ("r", "alpha", "s", "beta")
    transforms = ("log", "log", "log", "log")
    limit = None
    is_full_model = True

    @staticmethod
    def _params(theta) -> ParetoNBDParams:
        return ParetoNBDParams(*(float(v) for v in np.exp(np.asarray(theta, dtype=float))))

    def params(self, theta) -> dict[str, float]:
        return dict(zip(self.parameters, self._params(theta), strict=True))

    def standard_errors(self, theta, covariance) -> dict[str, float]:
        """Delta method from the covariance of the log-parameters: value times its sd."""
        sd = np.sqrt(np.diag(covariance))
        return {name: float(value * s) for (name, value), s in zip(self.params(theta).items(), sd, strict=True)}

    def probability_alive(self, theta, frequency, recency, T) -> np.ndarray:
        return probability_alive(self._params(theta), frequency, recency, T)

    def conditional_expected_purchases(self, theta, t, frequency, recency, T) -> np.ndarray:
        return conditional_expected_purchases(self._params(theta), t, frequency, recency, T)

    def expected_purchases(self, theta, t) -> np.ndarray:
        return expected_purchases(self._params(theta), t)

    def expected_purchases_if_alive(self, theta, t, frequency, T) -> np.ndarray:
        """E[Y(t) | alive at T, x]: a purchase at T (t_x = T) is alive for sure, so the conditional
        expectation there is the if-alive part."""
        return conditional_expected_purchases(self._params(theta), t, frequency, T, T)


PARETO_NBD = ParetoNBDVariant()


def fit_pareto_nbd_model(frequency, recency, T, *, time_unit: str) -> PurchaseModelFit:
    """Pareto/NBD from customers' (x, t_x, T) in ``time_unit`` as a ``PurchaseModelFit`` (model
    ``pareto_nbd``): fitted at a converged maximum with a covariance, else not_fitted with the reason. The
    minimum data are BG/NBD's (``models.minimum_data``): both models need repeat buyers to say anything."""
    check_time_unit(time_unit)
    n_customers = int(np.size(frequency))

    def not_fitted(reason: str) -> PurchaseModelFit:
        return PurchaseModelFit(MODEL, NOT_FITTED, reason, None, np.zeros(0), np.zeros((0, 0)), float("nan"),
                                n_customers, time_unit)

    try:
        x, t_x, age = check_histories(frequency, recency, T)
        shortfall = purchase_data_shortfall(x, t_x, age, np.ones_like(x))
        if shortfall:  # (worded for BG/NBD, whose thresholds both models share)
            return not_fitted(shortfall.replace("BG/NBD", "Pareto/NBD"))
        fit = fit_pareto_nbd(x, t_x, age, time_unit=time_unit)
    except ModelFitError as error:
        return not_fitted(error.problem)
    covariance = np.asarray(fit.covariance, dtype=float)
    if not fit.converged or not np.all(np.isfinite(covariance)):
        return not_fitted(f"the Pareto/NBD fit did not reach a proper maximum ({fit.message})")
    return PurchaseModelFit(MODEL, FITTED, None, PARETO_NBD, fit.log_params, covariance, fit.log_likelihood,
                            n_customers, time_unit)


def purchase_count_distribution(
    fit: PurchaseModelFit, t, frequency, recency, T, *, levels=INTERVAL_QUANTILES, tail: float = DEFAULT_TAIL
) -> PurchaseCountDistribution:
    """The distribution of purchases in the next t per distinct history (x, t_x, T), as
    ``models.predictive_intervals.purchase_count_distribution`` gives BG/NBD's: k = 0, 1, ... while a history
    has more than ``tail`` (and more than 1 - the highest level) of its mass above k. P(Y = k) = P(alive)
    P(Y = k | alive) + (1 - P(alive)) [k = 0], the if-alive part once per distinct (x, T).

    P(Y = k | alive) is ``models.pareto_nbd.purchase_count_pmf``'s quadrature over the remaining lifetime
    (the same nodes and weights, plus the node u = t for customers alive throughout the horizon), with the
    negative binomial NB(k; r+x, q(u)) stepped from k to k+1 by its ratio (r+x+k)/(k+1) (1 - q(u)) in logs,
    instead of evaluated afresh for every k: a few multiplications per node and count."""
    params = PARETO_NBD._params(fit.theta)
    r, alpha, s, beta = params
    x = np.asarray(frequency, dtype=float).ravel()
    histories = distinct_rows(x, np.asarray(recency, dtype=float).ravel(), np.asarray(T, dtype=float).ravel())
    hx, ht_x, hage = histories.columns
    n = hx.size
    p_alive = probability_alive(params, hx, ht_x, hage)
    pairs = distinct_rows(hx, hage)
    pair_x, pair_age = (c[:, None] for c in pairs.columns)
    pair_index = pairs.inverse

    # the lifetime quadrature of purchase_count_pmf, per pair: nodes u with weights, and u = t
    t = float(t)
    legendre_nodes, legendre_weights = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
    horizon = np.log1p(t / (beta + pair_age))
    half = 0.5 * horizon
    w = half * (legendre_nodes + 1.0)
    u = np.concatenate([(beta + pair_age) * np.expm1(w), np.full_like(horizon, t)], axis=1)
    weight = np.concatenate([half * legendre_weights * s * np.exp(-s * w), np.exp(-s * horizon)], axis=1)
    shape = r + pair_x
    with np.errstate(divide="ignore"):
        log_not_q = np.log(u) - np.log(alpha + pair_age + u)  # ln(1 - q(u)); -inf at u = 0 (t = 0)
    log_nb = shape * (np.log(alpha + pair_age) - np.log(alpha + pair_age + u))  # NB(0; r+x, q(u))

    table = CountTable(n, levels, tail)
    active = table.active
    if_alive = np.zeros(pair_x.shape[0])
    for k in range(MAX_PURCHASES + 1):
        if active.size == 0:
            break
        live = np.unique(pair_index[active])
        if k:
            log_nb[live] += np.log(shape[live] + k - 1.0) - np.log(k) + log_not_q[live]
        if_alive[live] = np.einsum("ij,ij->i", weight[live], np.exp(log_nb[live]))
        mass = p_alive[active] * if_alive[pair_index[active]] + (1.0 - p_alive[active]) * (k == 0)
        active = table.add(k, table.previous[active] - mass)
    return table.distribution(histories.inverse)
