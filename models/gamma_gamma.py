"""Gamma-Gamma model of spend per transaction: Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value
curves for customer base analysis", Journal of Marketing Research 42(4), 415-430, section "Adding monetary
value"; equations as in Fader & Hardie (2013), "The Gamma-Gamma model of monetary value" (note 025).

A repeat buyer's transaction values z_1..z_x are i.i.d. Gamma(p, nu); across customers nu ~ Gamma(q, gamma)
(shape q, rate gamma, so gamma is in money units). Only repeat buyers (x >= 1) carry information: the
first purchase is excluded from m, the average repeat-transaction value. Money, not time, so the fit has no
time unit.

Implemented:
- the likelihood of the observed average m given x (note 025 eq. 1a), in logs:
  ln f(m | p, q, gamma, x) = ln G(px+q) - ln G(px) - ln G(q) + q ln gamma + (px-1) ln m + px ln x
                             - (px+q) ln(gamma + m x)
- E[Z | p, q, gamma, m, x], the expected average transaction value of a customer (note 025 eq. 5):
  (gamma + m x) p / (p x + q - 1) = (q-1)/(px+q-1) * gamma p/(q-1) + px/(px+q-1) * m,
  a weighted average of the population mean gamma p / (q-1) and the customer's own m;
- the frequency/monetary correlation among repeat buyers, to report (not assume) the model's key assumption
  that spend per transaction is independent of the transaction process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import special

from models.errors import ModelFitError
from models.optimise import dot, minimise_negative_log_likelihood

MODEL_NAME = "Gamma-Gamma"

# |Pearson correlation| above which the independence assumption is reported as questionable. FHL (2005)
# found 0.11 on CDNOW and argue independence is reasonable there; 0.3 is a conventional "moderate" cut-off.
CORRELATION_WARNING_THRESHOLD = 0.3


class GammaGammaParams(NamedTuple):
    p: float  # shape of the per-transaction value distribution
    q: float  # shape of the distribution of nu across customers
    gamma: float  # rate of the distribution of nu, in money units


@dataclass(frozen=True)
class GammaGammaFit:
    """A fitted Gamma-Gamma model. ``covariance`` is that of (log p, log q, log gamma), the inverse Hessian of
    the negative weighted log-likelihood computed numerically in that space. ``n_customers`` counts the repeat
    buyers used (customers with x = 0 have no repeat-transaction value and are left out)."""

    params: GammaGammaParams
    log_likelihood: float
    converged: bool
    n_customers: int
    covariance: np.ndarray = field(repr=False, compare=False)
    message: str = "converged"

    @property
    def log_params(self) -> np.ndarray:
        return np.log(np.asarray(self.params, dtype=float))

    @property
    def standard_errors(self) -> GammaGammaParams:
        return GammaGammaParams(*(np.asarray(self.params) * np.sqrt(np.diag(self.covariance))))

    @property
    def population_mean_order_value(self) -> float:
        """E[Z] = gamma p / (q - 1) for a customer with no repeat purchase (infinite when q <= 1)."""
        p, q, gamma = self.params
        return gamma * p / (q - 1) if q > 1 else float("inf")

    def expected_order_value(self, frequency, monetary_value) -> np.ndarray:
        """Note 025 eq. (5): expected average transaction value per customer."""
        return expected_order_value(self.params, frequency, monetary_value)


def _repeat_buyers(frequency, monetary_value) -> tuple[np.ndarray, np.ndarray]:
    try:
        x = np.asarray(frequency, dtype=float).ravel()
        m = np.asarray(monetary_value, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ModelFitError(MODEL_NAME, "frequency and monetary_value must be numeric") from None
    if x.size != m.size:
        raise ModelFitError(
            MODEL_NAME, f"frequency and monetary_value have different lengths ({x.size}, {m.size})"
        )
    if x.size == 0:
        raise ModelFitError(MODEL_NAME, "no customers (empty input)")
    if not np.all(np.isfinite(x)) or np.any(x < 0) or np.any(x != np.round(x)):
        raise ModelFitError(MODEL_NAME, "frequency must be a finite whole number >= 0 for every customer")
    repeat = x > 0
    if not np.any(repeat):
        raise ModelFitError(MODEL_NAME, f"none of the {x.size} customers made a repeat purchase (all x = 0)")
    x, m = x[repeat], m[repeat]
    bad = ~np.isfinite(m) | (m <= 0)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ModelFitError(
            MODEL_NAME,
            f"{int(bad.sum())} repeat buyer(s) have a missing, zero or negative average repeat-order value "
            f"(first: x={x[i]}, m={m[i]}); Gamma spend needs m > 0 (drop refunds/free orders upstream)",
        )
    return x, m


def log_likelihood_contributions(params: GammaGammaParams, frequency, monetary_value) -> np.ndarray:
    """Per-customer ln f(m | p, q, gamma, x), note 025 eq. (1a) in logs; x must be >= 1 and m > 0."""
    p, q, gamma = params
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    px = p * x
    return (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x)
    )


def log_likelihood(params: GammaGammaParams, frequency, monetary_value, weights=None) -> float:
    contributions = log_likelihood_contributions(params, frequency, monetary_value)
    return float(
        np.sum(contributions if weights is None else np.asarray(weights, dtype=float) * contributions)
    )


class _NegativeMeanLogLikelihood:
    """Mean negative log-likelihood and its analytic gradient in (log p, log q, log gamma):
      d/dp     = x [psi(px+q) - psi(px) + ln m + ln x - ln(gamma + m x)]
      d/dq     = psi(px+q) - psi(q) + ln gamma - ln(gamma + m x)
      d/dgamma = q/gamma - (px+q)/(gamma + m x)
    Gamma and digamma functions depend on x only and are summed once per distinct x with its total weight;
    the data-only sums (of w x ln m, w ln m, ...) are computed once. Per customer and evaluation only
    ln(gamma + m x) and 1/(gamma + m x) remain.
    """

    def __init__(self, x: np.ndarray, m: np.ndarray, weights: np.ndarray):
        w = weights / weights.sum()
        self.x_values, x_index = np.unique(x, return_inverse=True)
        self.weight_of_x = np.bincount(x_index, weights=w, minlength=self.x_values.size)
        self.w, self.wx, self.mx = w, w * x, m * x
        log_m = np.log(m)
        self.sum_wx_log_m = dot(self.wx, log_m)
        self.sum_w_log_m = dot(w, log_m)
        self.sum_wx_log_x = dot(self.weight_of_x, self.x_values * np.log(self.x_values))

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, gamma = np.exp(theta)
        xv, wx_of = self.x_values, self.weight_of_x  # sum(wx_of) = 1
        gammaln, digamma = special.gammaln, special.digamma
        gamma_mx = gamma + self.mx
        log_gamma_mx = np.log(gamma_mx)
        inverse_gamma_mx = 1.0 / gamma_mx
        sum_w_log, sum_wx_log = dot(self.w, log_gamma_mx), dot(self.wx, log_gamma_mx)
        sum_w_inv, sum_wx_inv = dot(self.w, inverse_gamma_mx), dot(self.wx, inverse_gamma_mx)
        pxv = p * xv
        psi_pxq = digamma(pxv + q)
        value = (
            dot(wx_of, gammaln(pxv + q) - gammaln(pxv))
            - gammaln(q)
            + q * np.log(gamma)
            + p * (self.sum_wx_log_m + self.sum_wx_log_x)
            - self.sum_w_log_m
            - p * sum_wx_log
            - q * sum_w_log
        )
        d_p = dot(wx_of, xv * (psi_pxq - digamma(pxv))) + self.sum_wx_log_m + self.sum_wx_log_x - sum_wx_log
        d_q = dot(wx_of, psi_pxq) - digamma(q) + np.log(gamma) - sum_w_log
        d_gamma = q / gamma - p * sum_wx_inv - q * sum_w_inv
        return float(-value), -np.array([p * d_p, q * d_q, gamma * d_gamma])


def fit_gamma_gamma(
    frequency, monetary_value, *, weights=None, gradient_tolerance: float = 1e-9
) -> GammaGammaFit:
    """Maximum-likelihood (p, q, gamma) from customers' frequency x and average repeat-order value m.

    Customers with x = 0 are ignored (their m is undefined). Amounts are divided by their mean inside the
    optimiser (gamma rescaled back). Starting values are deterministic: p = 1, q = 2, gamma = mean m (so the
    starting population mean gamma p / (q-1) equals the observed one).
    Raises ModelFitError when there is no repeat buyer or a repeat buyer has m <= 0.
    """
    x, m = _repeat_buyers(frequency, monetary_value)
    if weights is None:
        w = np.ones_like(x)
    else:
        all_weights = np.asarray(weights, dtype=float).ravel()
        all_frequency = np.asarray(frequency, dtype=float).ravel()
        if all_weights.size != all_frequency.size:
            raise ModelFitError(MODEL_NAME, "weights must be positive, finite and one per customer")
        w = all_weights[all_frequency > 0]
        if not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ModelFitError(MODEL_NAME, "weights must be positive, finite and one per customer")
    # Average order values are continuous, so rows rarely repeat: no collapsing to distinct (x, m); the
    # objective groups its x-only terms by distinct x instead.
    scale = dot(w, m) / float(w.sum())
    objective = _NegativeMeanLogLikelihood(x, m / scale, w)
    optimum = minimise_negative_log_likelihood(
        objective, np.log([1.0, 2.0, 1.0]), gradient_tolerance=gradient_tolerance
    )

    params = GammaGammaParams(
        *(float(v) for v in np.exp(optimum.log_params + np.array([0.0, 0.0, np.log(scale)])))
    )
    total_weight = float(w.sum())
    covariance = optimum.covariance(total_weight)
    return GammaGammaFit(
        params=params,
        log_likelihood=log_likelihood(params, x, m, w),
        converged=optimum.converged,
        n_customers=int(round(total_weight)),
        covariance=covariance,
        message=optimum.message,
    )


def expected_order_value(params: GammaGammaParams, frequency, monetary_value) -> np.ndarray:
    """Note 025 eq. (5): E[Z | p, q, gamma, m, x] = p (gamma + m x) / (p x + q - 1).

    For x = 0 this is the population mean gamma p / (q - 1) whatever m is (m may be NaN); that needs q > 1,
    otherwise the result is inf for those customers.
    """
    p, q, gamma = params
    x = np.asarray(frequency, dtype=float)
    m = np.where(x > 0, np.asarray(monetary_value, dtype=float), 0.0)
    denominator = p * x + q - 1
    with np.errstate(divide="ignore"):
        return np.where(
            denominator > 0, p * (gamma + m * x) / np.where(denominator > 0, denominator, 1.0), np.inf
        )


@dataclass(frozen=True)
class SpendIndependenceCheck:
    """Pearson correlation between frequency x and average repeat-order value m among repeat buyers."""

    correlation: float
    n_repeat_customers: int
    threshold: float
    is_violated: bool  # |correlation| > threshold: the Gamma-Gamma independence assumption is doubtful


def frequency_monetary_correlation(
    frequency, monetary_value, threshold: float = CORRELATION_WARNING_THRESHOLD
) -> SpendIndependenceCheck:
    """Report the frequency/monetary correlation among repeat buyers instead of assuming independence.

    NaN correlation (and is_violated False) when fewer than 3 repeat buyers or a constant column.
    """
    x = np.asarray(frequency, dtype=float).ravel()
    m = np.asarray(monetary_value, dtype=float).ravel()
    keep = (x > 0) & np.isfinite(m)
    x, m = x[keep], m[keep]
    if x.size < 3 or np.std(x) == 0 or np.std(m) == 0:
        correlation = float("nan")
    else:
        correlation = float(np.corrcoef(x, m)[0, 1])
    return SpendIndependenceCheck(
        correlation=correlation,
        n_repeat_customers=int(x.size),
        threshold=threshold,
        is_violated=bool(np.isfinite(correlation) and abs(correlation) > threshold),
    )
