"""BG/NBD model of repeat purchasing: Fader, Hardie & Lee (2005), "'Counting your customers' the easy way:
an alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284 (FHL below).

A customer's history is (x, t_x, T): x repeat purchases (distinct purchase days after the first), the last
one at t_x, observed for T since the first purchase, all in one time unit (the fit records it as
``time_unit``). While alive, a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha) (shape
r, rate alpha, so alpha is in the time unit); after each repeat purchase they drop out with probability
p ~ Beta(a, b).

Implemented:
- the individual likelihood, FHL eq. (6) written in logs (gammaln for the Beta/Gamma functions, logaddexp
  for the two-term sum), so a customer with thousands of purchases still has a finite log-likelihood;
- E[X(t)], expected repeat purchases of a new customer by t, FHL eq. (9);
- E[Y(t) | x, t_x, T], expected purchases in the next t, FHL eq. (10);
- P(alive | x, t_x, T), Fader, Hardie & Lee (2008) "Computing P(alive) using the BG/NBD model" (note 021).

Eq. (9) and (10) contain (1 - z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z), z = t / (alpha+T+t). Euler's
transformation 2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) turns it into
(1 - z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose parameters stay small as x grows, so it never overflows.
It also shows that E[Y(t) | x, t_x, T] = P(alive | x, t_x, T) * g(x, T, t): t_x enters only through P(alive),
which lets predictions evaluate the hypergeometric term once per distinct (x, T).

The fit maximises the log-likelihood over distinct (x, t_x, T) histories weighted by their counts, so a
million customers cost what their distinct histories cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import special

from models.distinct import distinct_rows
from models.errors import ModelFitError
from models.optimise import dot, minimise_negative_log_likelihood
from models.time_units import check_time_unit

MODEL_NAME = "BG/NBD"


class BGNBDParams(NamedTuple):
    r: float  # shape of the Gamma distribution of purchase rates
    alpha: float  # rate of the Gamma distribution of purchase rates, in the fit's time unit
    a: float  # Beta distribution of the dropout probability
    b: float


@dataclass(frozen=True)
class BGNBDFit:
    """A fitted BG/NBD model; times in and out of its methods are in ``time_unit``.

    ``covariance`` is the asymptotic covariance of (log r, log alpha, log a, log b): the inverse of the
    Hessian of the negative weighted log-likelihood at the optimum (observed information), computed
    numerically in that optimisation space. NaN when the Hessian is not positive definite.
    """

    params: BGNBDParams
    log_likelihood: float
    converged: bool
    n_customers: int
    n_distinct_histories: int
    time_unit: str
    covariance: np.ndarray = field(repr=False, compare=False)
    message: str = "converged"

    @property
    def log_params(self) -> np.ndarray:
        return np.log(np.asarray(self.params, dtype=float))

    @property
    def standard_errors(self) -> BGNBDParams:
        """Standard errors of r, alpha, a, b by the delta method from the log-parameter covariance."""
        return BGNBDParams(*(np.asarray(self.params) * np.sqrt(np.diag(self.covariance))))

    def expected_purchases(self, t) -> np.ndarray:
        """FHL eq. (9): expected repeat purchases of a new customer in (0, t]."""
        return expected_purchases(self.params, t)

    def conditional_expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """FHL eq. (10): expected purchases in (T, T + t] of a customer with history (x, t_x, T)."""
        return conditional_expected_purchases(self.params, t, frequency, recency, T)

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """P(alive | x, t_x, T) at T."""
        return probability_alive(self.params, frequency, recency, T)


def _floats(values, name: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ModelFitError(MODEL_NAME, f"{name} must be numeric") from None


def check_histories(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate (x, t_x, T) for fitting; raise ModelFitError naming the first problem found."""
    x, t_x, age = (
        _floats(v, n).ravel() for v, n in ((frequency, "frequency"), (recency, "recency"), (T, "T"))
    )
    if not (x.size == t_x.size == age.size):
        raise ModelFitError(
            MODEL_NAME, f"frequency, recency and T have different lengths ({x.size}, {t_x.size}, {age.size})"
        )
    if x.size == 0:
        raise ModelFitError(MODEL_NAME, "no customers (empty input)")

    def fail(mask: np.ndarray, problem: str) -> None:
        if np.any(mask):
            i = int(np.flatnonzero(mask)[0])
            raise ModelFitError(
                MODEL_NAME,
                f"{int(mask.sum())} customer(s) {problem}; "
                f"first at position {i}: x={x[i]}, t_x={t_x[i]}, T={age[i]}",
            )

    fail(
        ~(np.isfinite(x) & np.isfinite(t_x) & np.isfinite(age)),
        "have a missing or infinite frequency, recency or T",
    )
    fail((x < 0) | (t_x < 0) | (age < 0), "have a negative frequency, recency or T")
    fail(x != np.round(x), "have a frequency that is not a whole number of purchases")
    fail(t_x > age, "have recency t_x greater than their age T (last purchase after the as-of date?)")
    fail((x == 0) & (t_x != 0), "have no repeat purchase but a non-zero recency (t_x must be 0 when x = 0)")
    if not np.any(x > 0):
        raise ModelFitError(
            MODEL_NAME,
            f"none of the {x.size} customers made a repeat purchase (all x = 0): "
            "the purchase rate and dropout cannot be separated; collect a longer history",
        )
    if not np.any(t_x > 0):
        raise ModelFitError(
            MODEL_NAME,
            "every recency t_x is 0 although some customers have repeat purchases: recency is probably not "
            "being computed (it is the time from the first to the last purchase)",
        )
    fail(
        (x > 0) & (t_x == 0),
        "have repeat purchases but recency 0 (a repeat purchase day comes after the first)",
    )
    return x, t_x, age


def log_likelihood_contributions(params: BGNBDParams, frequency, recency, T) -> np.ndarray:
    """Per-customer log-likelihood, FHL eq. (6) in logs:

    ln L = ln G(r+x) - ln G(r) + r ln alpha + ln B(a, b+x) - ln B(a, b)
           + ln[ (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) ]
    """
    r, alpha, a, b = params
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    age = np.asarray(T, dtype=float)
    common = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.betaln(a, b + x)
        - special.betaln(a, b)
    )
    alive_term = -(r + x) * np.log(alpha + age)
    dropped_term = np.where(
        x > 0, np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x), -np.inf
    )
    return common + np.logaddexp(alive_term, dropped_term)


def log_likelihood(params: BGNBDParams, frequency, recency, T, weights=None) -> float:
    """Total (weighted) log-likelihood of the histories, FHL eq. (6) summed over customers."""
    contributions = log_likelihood_contributions(params, frequency, recency, T)
    return float(
        np.sum(contributions if weights is None else np.asarray(weights, dtype=float) * contributions)
    )


class _NegativeMeanLogLikelihood:
    """-(sum_i w_i ln L_i) / sum_i w_i and its analytic gradient in (log r, log alpha, log a, log b).

    With w4 = share of the 'dropped out after t_x' term in the bracket of eq. (6) (0 when x = 0):
      d/dr     = psi(r+x) - psi(r) + ln alpha - (1-w4) ln(alpha+T) - w4 ln(alpha+t_x)
      d/dalpha = r/alpha - (r+x) [(1-w4)/(alpha+T) + w4/(alpha+t_x)]
      d/da     = psi(a+b) - psi(a+b+x) + w4/a
      d/db     = psi(a+b) + psi(b+x) - psi(b) - psi(a+b+x) - w4/(b+x-1)
    Terms that depend on x only (Gamma and digamma functions) are summed once per distinct x with the
    total weight of that x; customers without repeat purchase (bracket = -r ln(alpha+T)) are handled apart,
    so the per-row work is a handful of logs and products over the repeat buyers.
    """

    def __init__(self, x: np.ndarray, t_x: np.ndarray, age: np.ndarray, weights: np.ndarray):
        w = weights / weights.sum()
        self.x_values, x_index = np.unique(x, return_inverse=True)
        self.weight_of_x = np.bincount(x_index, weights=w, minlength=self.x_values.size)
        once = x == 0
        self.once_age, self.once_w = age[once], w[once]
        repeat = ~once
        self.rep_x, self.rep_w = x[repeat], w[repeat]
        self.rep_x_values, self.rep_x_index = np.unique(self.rep_x, return_inverse=True)
        # Times take few distinct values (whole days): logs and reciprocals are computed per distinct value
        # and gathered, which is several times cheaper than a logarithm per row.
        self.age_values, self.age_index = np.unique(age[repeat], return_inverse=True)
        self.tx_values, self.tx_index = np.unique(t_x[repeat], return_inverse=True)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(theta)
        xv, wx = self.x_values, self.weight_of_x  # sum(wx) = 1
        gammaln, digamma = special.gammaln, special.digamma

        # x-only terms: ln G(r+x) - ln G(r) + r ln alpha + ln B(a, b+x) - ln B(a, b)
        value = (
            dot(wx, gammaln(r + xv) + gammaln(b + xv) - gammaln(a + b + xv))
            - gammaln(r)
            + r * np.log(alpha)
            + gammaln(a + b)
            - gammaln(b)
        )
        psi_ab = digamma(a + b)
        psi_abx = dot(wx, digamma(a + b + xv))
        d_r = dot(wx, digamma(r + xv)) - digamma(r) + np.log(alpha)
        d_alpha = r / alpha
        d_a = psi_ab - psi_abx
        d_b = psi_ab + dot(wx, digamma(b + xv)) - digamma(b) - psi_abx

        # no repeat purchase: bracket = -r ln(alpha + T)
        once_alpha_T = alpha + self.once_age
        once_log = dot(self.once_w, np.log(once_alpha_T))
        value -= r * once_log
        d_r -= once_log
        d_alpha -= r * np.sum(self.once_w / once_alpha_T)

        # repeat buyers: bracket = logaddexp(A3, A4), A3 = -(r+x) ln(alpha+T),
        # A4 = ln a - ln(b+x-1) - (r+x) ln(alpha+t_x). With w4 = expit(A4 - A3) (the share of the second
        # term), logaddexp(A3, A4) = max(A3, A4) - ln(max(w4, 1 - w4)): one expit and one log per row, and
        # the log's argument is >= 1/2, so nothing is lost to rounding.
        w = self.rep_w
        log_alpha_T = np.log(alpha + self.age_values)[self.age_index]
        log_alpha_tx = np.log(alpha + self.tx_values)[self.tx_index]
        r_x = r + self.rep_x
        alive_term = -r_x * log_alpha_T
        dropped_term = (np.log(a) - np.log(b + self.rep_x_values - 1))[self.rep_x_index] - r_x * log_alpha_tx
        share_dropped = special.expit(dropped_term - alive_term)
        bracket = np.maximum(alive_term, dropped_term) - np.log(
            np.maximum(share_dropped, 1.0 - share_dropped)
        )
        w4 = w * share_dropped
        w3 = w - w4
        value += dot(w, bracket)
        d_r -= dot(w3, log_alpha_T) + dot(w4, log_alpha_tx)
        d_alpha -= dot(w3 * r_x, (1.0 / (alpha + self.age_values))[self.age_index])
        d_alpha -= dot(w4 * r_x, (1.0 / (alpha + self.tx_values))[self.tx_index])
        d_a += np.sum(w4) / a
        w4_of_x = np.bincount(self.rep_x_index, weights=w4, minlength=self.rep_x_values.size)
        d_b -= dot(w4_of_x, 1.0 / (b + self.rep_x_values - 1))
        gradient = -np.array([r * d_r, alpha * d_alpha, a * d_a, b * d_b])
        return float(-value), gradient


def fit_bgnbd(
    frequency, recency, T, *, time_unit: str, weights=None, gradient_tolerance: float = 1e-9
) -> BGNBDFit:
    """Maximum-likelihood estimates of (r, alpha, a, b) from customers' (x, t_x, T) in ``time_unit``.

    ``weights`` (optional) counts the customers each row stands for. Rows are collapsed to distinct
    (x, t_x, T) with summed weights before fitting. Times are divided by max(T) inside the optimiser (alpha
    is rescaled back) so the optimisation is equally well conditioned in days or weeks. Starting values are
    deterministic: r = 1, alpha matching the pooled repeat rate sum(x)/sum(T), a = 1, b = 1.

    Raises ModelFitError for empty, negative, non-finite or inconsistent input, when no customer made a
    repeat purchase, or when every recency is zero. A fit that does not converge returns converged=False.
    """
    check_time_unit(time_unit)
    x, t_x, age = check_histories(frequency, recency, T)
    if weights is None:
        w = np.ones_like(x)
    else:
        w = _floats(weights, "weights").ravel()
        if w.size != x.size or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ModelFitError(MODEL_NAME, "weights must be positive, finite and one per customer")

    distinct = distinct_rows(x, t_x, age)
    dx, dtx, dage = distinct.columns
    dw = np.bincount(distinct.inverse, weights=w, minlength=len(dx))

    scale = float(dage.max())
    objective = _NegativeMeanLogLikelihood(dx, dtx / scale, dage / scale, dw)
    pooled_rate = dot(dw, dx) / dot(dw, dage / scale)
    theta0 = np.log([1.0, 1.0 / pooled_rate, 1.0, 1.0])
    optimum = minimise_negative_log_likelihood(objective, theta0, gradient_tolerance=gradient_tolerance)

    log_params = optimum.log_params + np.array([0.0, np.log(scale), 0.0, 0.0])
    params = BGNBDParams(*(float(v) for v in np.exp(log_params)))
    total_weight = float(dw.sum())
    covariance = optimum.covariance(total_weight)
    return BGNBDFit(
        params=params,
        log_likelihood=log_likelihood(params, dx, dtx, dage, dw),
        converged=optimum.converged,
        n_customers=int(round(total_weight)),
        n_distinct_histories=int(len(dx)),
        time_unit=time_unit,
        covariance=covariance,
        message=optimum.message,
    )


def probability_alive(params: BGNBDParams, frequency, recency, T) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)) (note 021, eq. 2).

    Computed as expit(-log odds of having dropped out), so it is exact at any frequency.
    """
    r, alpha, a, b = params
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    age = np.asarray(T, dtype=float)
    log_odds_dropped = (
        np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
    )
    return np.where(x > 0, special.expit(-log_odds_dropped), 1.0)


def expected_purchases_if_alive(params: BGNBDParams, t, frequency, T) -> np.ndarray:
    """g(x, T, t): E[Y(t) | x, t_x, T] / P(alive | x, t_x, T), the numerator of FHL eq. (10):

    g = (a+b+x-1)/(a-1) [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)],  z = t / (alpha+T+t)

    (eq. (10)'s hypergeometric term after Euler's transformation). Depends on (x, T, t) only. The bracket is
    evaluated as -expm1((a-1) log1p(-z)) - (1-z)^(a-1) (2F1 - 1) to keep precision when t is small.
    Undefined at exactly a = 1 (a removable singularity of the closed form).
    """
    r, alpha, a, b = params
    x = np.asarray(frequency, dtype=float)
    age = np.asarray(T, dtype=float)
    t = np.asarray(t, dtype=float)
    z = t / (alpha + age + t)
    log_1mz_pow = (a - 1) * np.log1p(-z)
    hyp = special.hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    bracket = -np.expm1(log_1mz_pow) - np.exp(log_1mz_pow) * (hyp - 1)
    return (a + b + x - 1) / (a - 1) * bracket


def expected_purchases(params: BGNBDParams, t) -> np.ndarray:
    """FHL eq. (9): E[X(t)] = (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))].

    Eq. (10) with x = t_x = T = 0, evaluated in its Euler-transformed form.
    """
    return expected_purchases_if_alive(params, t, 0.0, 0.0)


def conditional_expected_purchases(params: BGNBDParams, t, frequency, recency, T) -> np.ndarray:
    """FHL eq. (10): E[Y(t) | x, t_x, T], expected purchases in (T, T+t], = P(alive) * g(x, T, t)."""
    return probability_alive(params, frequency, recency, T) * expected_purchases_if_alive(
        params, t, frequency, T
    )
