"""The Gamma-Gamma spend model and its limiting cases: what it becomes when customers spend alike.

Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013, note 025): a customer's repeat
transactions are Gamma(p, nu), and nu ~ Gamma(q, gamma) across customers. When baskets do not differ between
customers (one price, a subscription box), the likelihood's maximum lies where q and gamma grow without bound
together, q / gamma = nu staying finite: every customer has the same nu. The limit, **common spend**, is
well defined. With gamma = q / nu, note 025 eq. (1a)

    ln f(m | p, q, gamma, x) = ln G(px+q) - ln G(px) - ln G(q) + q ln gamma + (px-1) ln m + px ln x
                               - (px+q) ln(gamma + m x)

tends (ln G(px+q) - ln G(q) ~ px ln q, (1 + m x nu / q)^-(px+q) -> e^(-nu m x)) to the density of the mean of
x Gamma(p, nu) transactions, Gamma(px, nu x):

    ln f(m | p, nu, x) = px ln(nu x) - ln G(px) + (px-1) ln m - nu x m,

and the expected order value, note 025 eq. (5), (q-1)/(px+q-1) gamma p/(q-1) + px/(px+q-1) m, tends to p / nu
for every customer: with nothing differing between customers, a customer's own average says nothing more.

The other boundary: p -> infinity and gamma -> 0 with p gamma = beta finite, when each customer always spends
the same amount but customers differ (a subscription at a few price points). A customer's transactions then
have mean mu = p / nu and variance mu^2 / p -> 0, and mu ~ InvGamma(q, p gamma): the limit, **own spend**, is

    ln f(m | q, beta, x) = q ln beta - ln G(q) - (q+1) ln m - beta / m      (whatever x),

and eq. (5) tends to m for a repeat buyer (their amount is known exactly) and to beta / (q-1) for the others.

When every repeat buyer's average order value is the same amount (a single price, one item per order), spend
varies neither between customers nor between orders (both limits at once) and the likelihood has no maximum:
the answer is the **constant spend** model, E[Z] = that amount, known exactly (standard error 0).

Parameters are optimised as logarithms, under ``models.optimise``'s bounds and convergence rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

from models import gamma_gamma
from models.gamma_gamma import GammaGammaParams
from models.optimise import dot, minimise_negative_log_likelihood

# Average order values equal to this relative precision count as one amount (cents on thousands and more).
SAME_AMOUNT_RELATIVE_TOLERANCE = 1e-9


def _full_log_likelihood(params, x, m):
    return gamma_gamma.log_likelihood_contributions(
        GammaGammaParams(params["p"], params["q"], params["gamma"]), x, m
    )


def _full_order_value(params, x, m):
    return gamma_gamma.expected_order_value(GammaGammaParams(params["p"], params["q"], params["gamma"]), x, m)


def _common_log_likelihood(params, x, m):
    p, nu = params["p"], params["nu"]
    px = p * x
    return px * np.log(nu * x) - special.gammaln(px) + (px - 1) * np.log(m) - nu * x * m


def _common_order_value(params, x, m):
    return params["p"] / params["nu"] + np.zeros(np.shape(x))


def _own_log_likelihood(params, x, m):
    q, beta = params["q"], params["p_gamma"]
    return q * np.log(beta) - special.gammaln(q) - (q + 1) * np.log(m) - beta / m + np.zeros(np.shape(x))


def _own_order_value(params, x, m):
    q, beta = params["q"], params["p_gamma"]
    population = beta / (q - 1) if q > 1 else np.inf  # the mean of InvGamma(q, beta), as for eq. (5)
    return np.where(x > 0, m, population)


def _constant_order_value(params, x, m):
    return params["order_value"] + np.zeros(np.shape(x))


@dataclass(frozen=True)
class SpendVariant:
    """Gamma-Gamma or one of its limiting cases; every parameter is optimised as its logarithm."""

    name: str
    parameters: tuple[str, ...]
    limit: str | None  # what the boundary means, in words; None for the full model
    log_likelihood_function: Callable | None
    order_value_function: Callable

    @property
    def is_full_model(self) -> bool:
        return self.limit is None

    def params(self, theta) -> dict[str, float]:
        return {
            name: float(np.exp(v))
            for name, v in zip(self.parameters, np.asarray(theta, dtype=float), strict=True)
        }

    def standard_errors(self, theta, covariance) -> dict[str, float]:
        sd = np.sqrt(np.diag(covariance))
        return {
            name: float(value * s) for (name, value), s in zip(self.params(theta).items(), sd, strict=True)
        }

    def log_likelihood_contributions(self, theta, frequency, monetary_value) -> np.ndarray:
        x, m = np.asarray(frequency, dtype=float), np.asarray(monetary_value, dtype=float)
        if self.log_likelihood_function is None:  # constant spend: a point mass has no density
            return np.full(np.shape(x), np.nan)
        return self.log_likelihood_function(self.params(theta), x, m)

    def expected_order_value(self, theta, frequency, monetary_value) -> np.ndarray:
        """E[Z | m, x]: note 025 eq. (5) for the full model, p / nu or the one amount for the limits."""
        x = np.asarray(frequency, dtype=float)
        return self.order_value_function(self.params(theta), x, np.asarray(monetary_value, dtype=float))


FULL = SpendVariant("gamma_gamma", ("p", "q", "gamma"), None, _full_log_likelihood, _full_order_value)
COMMON_SPEND = SpendVariant(
    "common_spend",
    ("p", "nu"),
    "customers do not differ in spend: q and gamma grow without bound together, q/gamma stays finite; the "
    "limit is a common nu, every customer's expected order value p/nu",
    _common_log_likelihood,
    _common_order_value,
)
OWN_SPEND = SpendVariant(
    "own_spend",
    ("q", "p_gamma"),
    "each customer always spends the same amount, customers differ: p grows without bound and gamma goes to 0, "
    "p gamma stays finite; the limit gives a repeat buyer their own average, the others the population mean",
    _own_log_likelihood,
    _own_order_value,
)
CONSTANT_SPEND = SpendVariant(
    "constant_spend",
    ("order_value",),
    "every repeat buyer's average order value is the same amount: spend varies neither between customers nor "
    "between orders; the expected order value is that amount",
    None,
    _constant_order_value,
)
VARIANTS: tuple[SpendVariant, ...] = (FULL, COMMON_SPEND, OWN_SPEND, CONSTANT_SPEND)
VARIANTS_BY_NAME = {variant.name: variant for variant in VARIANTS}


def is_constant_spend(monetary_value) -> bool:
    """Every average order value is the same amount (to SAME_AMOUNT_RELATIVE_TOLERANCE)."""
    m = np.asarray(monetary_value, dtype=float)
    return bool(m.size and np.ptp(m) <= SAME_AMOUNT_RELATIVE_TOLERANCE * np.max(np.abs(m)))


class _CommonSpendObjective:
    """Mean negative log-likelihood of common spend and its gradient in (ln p, ln nu):
    d/d ln p  = p x [ln(nu x) - psi(px) + ln m]
    d/d ln nu = px - nu x m
    """

    def __init__(self, x: np.ndarray, m: np.ndarray, weights: np.ndarray):
        w = weights / weights.sum()
        self.w, self.wx, self.x = w, w * x, x
        self.sum_wx = float(self.wx.sum())
        self.sum_wx_log_xm = dot(self.wx, np.log(x) + np.log(m))  # the data-only sums, once
        self.sum_w_log_m = dot(w, np.log(m))
        self.sum_wxm = dot(self.wx, m)

    def __call__(self, theta):
        p, nu = np.exp(theta)
        px = p * self.x
        value = (
            p * (self.sum_wx * np.log(nu) + self.sum_wx_log_xm)
            - dot(self.w, special.gammaln(px))
            - self.sum_w_log_m
            - nu * self.sum_wxm
        )
        d_p = p * (self.sum_wx * np.log(nu) + self.sum_wx_log_xm - dot(self.wx, special.digamma(px)))
        d_nu = p * self.sum_wx - nu * self.sum_wxm
        return float(-value), -np.array([d_p, d_nu])


class _OwnSpendObjective:
    """Mean negative log-likelihood of own spend (averages InvGamma(q, beta)), gradient in (ln q, ln beta):
    d/d ln q    = q [ln beta - psi(q) - ln m]
    d/d ln beta = q - beta / m
    """

    def __init__(self, x: np.ndarray, m: np.ndarray, weights: np.ndarray):
        w = weights / weights.sum()
        self.sum_w_log_m = dot(w, np.log(m))
        self.sum_w_inverse_m = dot(w, 1.0 / m)

    def __call__(self, theta):
        q, beta = np.exp(theta)
        value = (
            q * np.log(beta) - special.gammaln(q) - (q + 1) * self.sum_w_log_m - beta * self.sum_w_inverse_m
        )
        d_q = q * (np.log(beta) - special.digamma(q) - self.sum_w_log_m)
        d_beta = q - beta * self.sum_w_inverse_m
        return float(-value), -np.array([d_q, d_beta])


@dataclass(frozen=True)
class SpendVariantFit:
    """One spend variant fitted by maximum likelihood (``covariance`` of theta; NaN without a maximum)."""

    variant: SpendVariant
    theta: np.ndarray
    covariance: np.ndarray
    log_likelihood: float
    converged: bool
    message: str
    full_fit: gamma_gamma.GammaGammaFit | None = None  # models.gamma_gamma's own fit, for the full model


def fit_spend_variant(variant: SpendVariant, x, m, weights) -> SpendVariantFit:
    """Fit one variant on repeat buyers' validated (x, m) with weights. Amounts are divided by their mean
    inside the optimiser, as in ``fit_gamma_gamma`` (gamma and nu rescaled back)."""
    if variant is CONSTANT_SPEND:
        # Nothing to estimate: the one amount, with no sampling variation left under this model.
        amount = float(dot(weights, m) / weights.sum())
        return SpendVariantFit(variant, np.log([amount]), np.zeros((1, 1)), float("nan"), True, "converged")
    if variant.is_full_model:
        fit = gamma_gamma.fit_gamma_gamma(x, m, weights=weights)
        return SpendVariantFit(
            variant, fit.log_params, fit.covariance, fit.log_likelihood, fit.converged, fit.message, fit
        )
    scale = dot(weights, m) / float(weights.sum())
    if variant is COMMON_SPEND:
        # Start at p = 1 with the observed mean, p / nu = 1 (in scaled amounts); nu is per money unit.
        objective, theta0, money_power = _CommonSpendObjective(x, m / scale, weights), np.zeros(2), -1.0
    else:
        # Start at q = 2 with the observed mean, beta / (q-1) = 1; beta is in money units.
        objective, theta0, money_power = _OwnSpendObjective(x, m / scale, weights), np.log([2.0, 1.0]), 1.0
    optimum = minimise_negative_log_likelihood(objective, theta0)
    theta = optimum.log_params + np.array([0.0, money_power * np.log(scale)])
    covariance = optimum.covariance(float(weights.sum()))
    log_likelihood = float(np.sum(weights * variant.log_likelihood_contributions(theta, x, m)))
    return SpendVariantFit(variant, theta, covariance, log_likelihood, optimum.converged, optimum.message)
