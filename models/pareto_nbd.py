"""Pareto/NBD model of repeat purchasing: Schmittlein, Morrison & Colombo (1987), "Counting your customers:
who are they and what will they do next?", Management Science 33(1), 1-24 (SMC), implemented as in Fader,
Hardie & Lee (2005), "A note on implementing the Pareto/NBD model in MATLAB" (FHL below), with the
expressions of Fader & Hardie (2005), "A note on deriving the Pareto/NBD model and related expressions"
(note 009, FH below; equation numbers as lifetimes cites them).

A customer's history is (x, t_x, T): x repeat purchases, the last one at t_x, observed for T since the first
purchase, all in one time unit (the fit records it as ``time_unit``; alpha and beta are rates in that unit,
so a fit in weeks has alpha and beta 7 times those of the same fit in days). While alive, a customer buys as
a Poisson process with rate lambda ~ Gamma(r, alpha); their lifetime is exponential with rate
mu ~ Gamma(s, beta) (shape s, rate beta), independent of lambda.

Implemented:
- the individual likelihood as FHL compute it, in logs:
      ln L = ln G(r+x) - ln G(r) + r ln alpha + s ln beta
             + ln[ (alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) A0 ]          (FH eq. 18)
  with A0 = F(t_x) - F(T) and, for alpha >= beta,
      F(t) = 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+t)) / (alpha+t)^(r+s+x),
  for alpha < beta the same with (alpha, s+1) replaced by (beta, r+x) (FHL; FH eq. 19, 20). ``_log_F``
  says how each F is kept finite for large x; A0 is formed as F(t_x) (1 - exp(ln F(T) - ln F(t_x))) (F
  decreases), so it is 0, not a rounding error, when t_x = T;
- P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0) (FH eq. 36-37), the share of the
  first term in the bracket of ln L;
- E[X(t)], expected repeat purchases of a new customer in (0, t]:
      r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]   (FH eq. 27);
- E[Y(t) | x, t_x, T], expected purchases in (T, T+t]:
      (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)] P(alive | x, t_x, T)
  (FH eq. 41). Both are written as L * exprel(-(s-1) L), L = ln(1 + t/(beta+T)), so s = 1 (where
  the closed form is 0/0 and the answer is (r+x)/(alpha+T) (beta+T) L) needs no special case;
- P(Y(t) = k | x, t_x, T), the distribution of the number of purchases in (T, T+t], ``purchase_count_pmf``
  (its docstring derives it; Fader & Hardie's closed form, note 028, is a check in the tests only).

The fit maximises the log-likelihood over distinct (x, t_x, T) histories weighted by their counts, so a
million customers cost what their distinct histories cost; F(t) depends on (x, t) only and is evaluated
once per distinct (x, t_x) and (x, T) pair. The gradient is analytic except for the derivatives of ln F in the
parameters (2F1's derivatives in its parameters have no closed form), which are central differences on those
pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import special

from models.bgnbd import check_histories as _check_bgnbd_histories
from models.distinct import distinct_rows
from models.errors import ModelFitError
from models.optimise import dot, minimise_negative_log_likelihood
from models.time_units import check_time_unit

MODEL_NAME = "Pareto/NBD"

# Gauss-Legendre nodes for the two fixed-node integrals: the fallback for 2F1 (``_log_F``) and the lifetime
# integral of ``purchase_count_pmf``. Both integrands are smooth after their change of variable.
_FALLBACK_NODES = 200
_LOG_EPS_TAIL = 45.0  # e^-45 = 3e-20: the part of an e^-w integral beyond w = 45 is below double rounding


class ParetoNBDParams(NamedTuple):
    r: float  # shape of the Gamma distribution of purchase rates
    alpha: float  # rate of the Gamma distribution of purchase rates, in the fit's time unit
    s: float  # shape of the Gamma distribution of dropout rates
    beta: float  # rate of the Gamma distribution of dropout rates, in the fit's time unit


@dataclass(frozen=True)
class ParetoNBDFit:
    """A fitted Pareto/NBD model; times in and out of its methods are in ``time_unit``.

    ``covariance`` is the asymptotic covariance of (log r, log alpha, log s, log beta): the inverse of the
    Hessian of the negative weighted log-likelihood at the optimum (observed information), computed
    numerically in that optimisation space. NaN when the Hessian is not positive definite.
    """

    params: ParetoNBDParams
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
    def standard_errors(self) -> ParetoNBDParams:
        """Standard errors of r, alpha, s, beta by the delta method from the log-parameter covariance."""
        return ParetoNBDParams(*(np.asarray(self.params) * np.sqrt(np.diag(self.covariance))))

    def expected_purchases(self, t) -> np.ndarray:
        """FH eq. (27): expected repeat purchases of a new customer in (0, t]."""
        return expected_purchases(self.params, t)

    def conditional_expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """FH eq. (41): expected purchases in (T, T + t] of a customer with history (x, t_x, T)."""
        return conditional_expected_purchases(self.params, t, frequency, recency, T)

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """P(alive | x, t_x, T) at T."""
        return probability_alive(self.params, frequency, recency, T)

    def purchase_count_pmf(self, t, k, frequency, recency, T) -> np.ndarray:
        """P(k purchases in (T, T + t] | x, t_x, T)."""
        return purchase_count_pmf(self.params, t, k, frequency, recency, T)


def check_histories(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate (x, t_x, T) for fitting (the BG/NBD rules: same data, same story up to the dropout process);
    raise ModelFitError naming this model and the first problem found."""
    try:
        return _check_bgnbd_histories(frequency, recency, T)
    except ModelFitError as error:
        raise ModelFitError(MODEL_NAME, error.problem) from None


def _log_F_by_quadrature(a, b, z) -> np.ndarray:
    """ln 2F1(a, b; a+1; z) for 0 <= z < 1 from its Euler integral, for the arguments scipy cannot evaluate.

    2F1(a, b; a+1; z) = a int_0^1 v^(a-1) (1 - z v)^-b dv = int_0^inf e^-w (eps + z (1 - e^(-w/a)))^-b dw
    (v = e^(-w/a), eps = 1 - z). Near w = 0 the bracket is eps (1 + w/(a eps)): with w = a eps (e^u - 1) that
    factor becomes eps^-b e^(-b u) and the integrand is smooth in u on [0, ln(1 + 45/(a eps))] (e^-w below
    double rounding beyond), so fixed-node Gauss-Legendre is accurate; summed in logs, it cannot overflow.
    """
    a, b, z = (np.asarray(v, dtype=float)[..., None] for v in np.broadcast_arrays(a, b, z))
    eps = 1.0 - z
    scale = a * eps
    upper = np.log1p(_LOG_EPS_TAIL / scale)
    nodes, weights = np.polynomial.legendre.leggauss(_FALLBACK_NODES)
    u = 0.5 * upper * (nodes + 1.0)
    w = scale * np.expm1(u)
    base = eps + z * -np.expm1(-w / a)
    log_integrand = -w - b * np.log(base) + np.log(scale) + u + np.log(0.5 * upper * weights)
    return special.logsumexp(log_integrand, axis=-1)


def _log_F(params: ParetoNBDParams, x, t) -> np.ndarray:
    """ln F(t) of the module docstring, the antiderivative in A0 = F(t_x) - F(T), for x, t broadcast.

    alpha >= beta: ln 2F1(r+s+x, s+1; r+s+x+1; z) - (r+s+x) ln(alpha+t), z = (alpha-beta)/(alpha+t), as in
    FHL. alpha < beta: FHL's 2F1(r+s+x, r+x; r+s+x+1; z) grows like (1-z)^-(r+x), which overflows for a
    few hundred purchases when beta >> alpha; Euler's transformation 2F1(A, B; A+1; z) =
    (1-z)^(1-B) 2F1(1, A+1-B; A+1; z) leaves 2F1(1, s+1; r+s+x+1; z), which stays below (r+s+x)/(r+x-1),
    and the power goes into the logarithm. scipy's hyp2f1 returns NaN for an upper parameter above ~200
    with z > 0.99 (alpha > 100 (beta + t) with hundreds of purchases); those few are integrated numerically
    (``_log_F_by_quadrature``). Everything is in logs, so F(t) of a customer with thousands of purchases
    (~1e-10000) is represented.
    """
    r, alpha, s, beta = params
    x = np.asarray(x, dtype=float)
    t = np.asarray(t, dtype=float)
    a = r + s + x
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        b = s + 1.0
        log_hyp = np.log(special.hyp2f1(a, b, a + 1.0, z))
        log_power = -a * np.log(alpha + t)
    else:
        z = (beta - alpha) / (beta + t)
        b = r + x
        log_hyp = (1.0 - b) * np.log1p(-z) + np.log(special.hyp2f1(1.0, s + 1.0, a + 1.0, z))
        log_power = -a * np.log(beta + t)
    failed = ~np.isfinite(log_hyp)
    if np.any(failed):
        log_hyp = np.array(log_hyp, dtype=float)  # writable, also for scalars
        a_f, b_f, z_f = (np.broadcast_to(v, failed.shape)[failed] for v in (a, b, z))
        log_hyp[failed] = _log_F_by_quadrature(a_f, b_f, z_f)
    return log_hyp + log_power


def _log_F_at_recency_and_age(params: ParetoNBDParams, x, t_x, age) -> tuple[np.ndarray, np.ndarray]:
    """ln F(t_x) and ln F(T) per customer, each hypergeometric function once per distinct (x, t) pair: a
    million customers' histories take a few tens of thousands of pairs (the same values, elementwise)."""
    x, t_x, age = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, age)))
    if x.size < 10_000:
        return _log_F(params, x, t_x), _log_F(params, x, age)
    n = x.size
    pairs = distinct_rows(np.concatenate([x.ravel(), x.ravel()]), np.concatenate([t_x.ravel(), age.ravel()]))
    log_F = _log_F(params, *pairs.columns)[pairs.inverse]
    return log_F[:n].reshape(x.shape), log_F[n:].reshape(x.shape)


def _log_A0(log_F_tx: np.ndarray, log_F_T: np.ndarray) -> np.ndarray:
    """ln A0 = ln(F(t_x) - F(T)); -inf when t_x = T (no interval in which the customer could have died)."""
    with np.errstate(divide="ignore"):
        difference = np.minimum(log_F_T - log_F_tx, 0.0)
        # log(1 - e^d): log(-expm1(d)) for d near 0, log1p(-e^d) for d very negative (precise both ways)
        log_one_minus = np.where(
            difference > -np.log(2.0), np.log(-np.expm1(difference)), np.log1p(-np.exp(difference))
        )
    return log_F_tx + log_one_minus


def _bracket_terms(params: ParetoNBDParams, x, t_x, age, log_F_tx=None, log_F_T=None):
    """The logs of the two terms in the bracket of ln L: alive at T, and died in (t_x, T]."""
    r, alpha, s, beta = params
    if log_F_tx is None or log_F_T is None:
        log_F_tx, log_F_T = _log_F_at_recency_and_age(params, x, t_x, age)
    alive_term = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
    died_term = np.log(s) - np.log(r + s + x) + _log_A0(log_F_tx, log_F_T)
    return alive_term, died_term


def log_likelihood_contributions(params: ParetoNBDParams, frequency, recency, T) -> np.ndarray:
    """Per-customer log-likelihood, FH eq. (18)-(20) as FHL compute it, in logs (module docstring)."""
    r, alpha, s, beta = params
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    age = np.asarray(T, dtype=float)
    alive_term, died_term = _bracket_terms(params, x, t_x, age)
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return common + np.logaddexp(alive_term, died_term)


def log_likelihood(params: ParetoNBDParams, frequency, recency, T, weights=None) -> float:
    """Total (weighted) log-likelihood of the histories, summed over customers."""
    contributions = log_likelihood_contributions(params, frequency, recency, T)
    return float(
        np.sum(contributions if weights is None else np.asarray(weights, dtype=float) * contributions)
    )


class _NegativeMeanLogLikelihood:
    """-(sum_i w_i ln L_i) / sum_i w_i in (log r, log alpha, log s, log beta), with its gradient.

    F(t) depends on (x, t) only: it is evaluated once per distinct (x, t) pair among the histories' (x, t_x)
    and (x, T) and gathered, and ln G(r+x) once per distinct x. The gradient is analytic except for the
    derivatives of ln F in the parameters (2F1's derivatives in its parameters have no closed form), which are
    central differences on the distinct pairs only: a million customers have about ten histories per pair,
    so a gradient costs about three likelihoods instead of nine. With ln A0 = ln(F(t_x) - F(T)), d ln A0 =
    c d ln F(t_x) + (1 - c) d ln F(T), c = 1 / (1 - F(T)/F(t_x)); a history's ln L moves with its alive term
    in proportion P(alive) and with its died term in proportion 1 - P(alive), and the died term's ln F parts
    are summed per pair before they meet the pair's derivatives. A step of 1e-5 in the log-parameters
    balances the O(h^2) truncation (~1e-11) against the rounding of ln F (~1e-15 / h), so the gradient is good
    to ~1e-10, enough for the optimiser's 1e-9 tolerance and for the Newton polish.
    """

    STEP = 1e-5

    def __init__(self, x: np.ndarray, t_x: np.ndarray, age: np.ndarray, weights: np.ndarray):
        self.w = weights / weights.sum()
        n = x.size
        pairs = distinct_rows(np.concatenate([x, x]), np.concatenate([t_x, age]))
        self.pair_x, self.pair_t = pairs.columns
        self.tx_index, self.age_index = pairs.inverse[:n], pairs.inverse[n:]
        self.x, self.age = x, age
        self.x_values, x_index = np.unique(x, return_inverse=True)
        self.weight_of_x = np.bincount(x_index, weights=self.w, minlength=self.x_values.size)

    def _terms(self, theta: np.ndarray):
        params = ParetoNBDParams(*np.exp(theta))
        log_F = _log_F(params, self.pair_x, self.pair_t)
        log_F_tx, log_F_T = log_F[self.tx_index], log_F[self.age_index]
        alive_term, died_term = _bracket_terms(params, self.x, None, self.age, log_F_tx, log_F_T)
        r, alpha, s, beta = params
        common = (dot(self.weight_of_x, special.gammaln(r + self.x_values)) - special.gammaln(r)
                  + r * np.log(alpha) + s * np.log(beta))
        return params, log_F_tx, log_F_T, alive_term, died_term, common

    def value(self, theta: np.ndarray) -> float:
        *_, alive_term, died_term, common = self._terms(theta)
        return float(-(common + dot(self.w, np.logaddexp(alive_term, died_term))))

    def _log_F_derivatives(self, theta: np.ndarray) -> np.ndarray:
        """d ln F / d theta_j per distinct pair, shape (4, pairs), by central differences."""
        derivatives = np.empty((theta.size, self.pair_x.size))
        for j in range(theta.size):
            shift = np.zeros(theta.size)
            shift[j] = self.STEP
            forward = _log_F(ParetoNBDParams(*np.exp(theta + shift)), self.pair_x, self.pair_t)
            backward = _log_F(ParetoNBDParams(*np.exp(theta - shift)), self.pair_x, self.pair_t)
            derivatives[j] = (forward - backward) / (2 * self.STEP)
        return derivatives

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        params, log_F_tx, log_F_T, alive_term, died_term, common = self._terms(theta)
        r, alpha, s, beta = params
        x, age, w = self.x, self.age, self.w
        total = np.logaddexp(alive_term, died_term)
        value = -(common + dot(w, total))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # the died term's share, weighted; 0 where the customer bought at T (no room to have died)
            died_weight = w * np.exp(died_term - total)
            c = 1.0 / -np.expm1(np.minimum(log_F_T - log_F_tx, 0.0))
            to_tx = np.where(died_weight > 0, died_weight * c, 0.0)
        alive_weight = w - died_weight
        r_s_x = r + s + x
        # the derivatives in (r, alpha, s, beta), then times the parameter for the log-parameters
        gradient = np.array([
            dot(self.weight_of_x, special.digamma(r + self.x_values)) - special.digamma(r) + np.log(alpha)
            - dot(alive_weight, np.log(alpha + age)) - dot(died_weight, 1.0 / r_s_x),
            r / alpha - dot(alive_weight, (r + x) / (alpha + age)),
            np.log(beta) - dot(alive_weight, np.log(beta + age)) + dot(died_weight, 1.0 / s - 1.0 / r_s_x),
            s / beta - s * dot(alive_weight, 1.0 / (beta + age)),
        ]) * np.asarray(params)
        pairs = self.pair_x.size
        per_pair = (np.bincount(self.tx_index, weights=to_tx, minlength=pairs)
                    + np.bincount(self.age_index, weights=died_weight - to_tx, minlength=pairs))
        gradient += self._log_F_derivatives(theta) @ per_pair
        return float(value), -gradient


def fit_pareto_nbd(
    frequency, recency, T, *, time_unit: str, weights=None, gradient_tolerance: float = 1e-8
) -> ParetoNBDFit:
    """Maximum-likelihood estimates of (r, alpha, s, beta) from customers' (x, t_x, T) in ``time_unit``.

    ``weights`` (optional) counts the customers each row stands for. Rows are collapsed to distinct
    (x, t_x, T) with summed weights before fitting. Times are divided by max(T) inside the optimiser (alpha
    and beta are rescaled back) so the optimisation is equally well conditioned in days or weeks. Starting
    values are deterministic: r = 1, alpha matching the pooled repeat rate sum(x)/sum(T), s = 1, beta = 1
    (a mean lifetime of the order of the observation window). The default ``gradient_tolerance`` is 10 times
    looser than BG/NBD's because the gradient is partly numerical (good to ~1e-10).

    Raises ModelFitError for empty, negative, non-finite or inconsistent input, when no customer made a
    repeat purchase, or when every recency is zero. A fit that does not converge returns converged=False.
    """
    check_time_unit(time_unit)
    x, t_x, age = check_histories(frequency, recency, T)
    if weights is None:
        w = np.ones_like(x)
    else:
        try:
            w = np.asarray(weights, dtype=float).ravel()
        except (TypeError, ValueError):
            raise ModelFitError(MODEL_NAME, "weights must be numeric") from None
        if w.size != x.size or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ModelFitError(MODEL_NAME, "weights must be positive, finite and one per customer")

    distinct = distinct_rows(x, t_x, age)
    dx, dtx, dage = distinct.columns
    dw = np.bincount(distinct.inverse, weights=w, minlength=len(dx))

    scale = float(dage.max())
    objective = _NegativeMeanLogLikelihood(dx, dtx / scale, dage / scale, dw)
    pooled_rate = dot(dw, dx) / dot(dw, dage / scale)
    theta0 = np.log([1.0, 1.0 / pooled_rate, 1.0, 1.0])
    # Two Newton steps after L-BFGS: they reach the gradient's noise floor (~1e-10); more would only
    # re-estimate the Hessian (4 gradients each) without getting closer.
    optimum = minimise_negative_log_likelihood(objective, theta0, gradient_tolerance=gradient_tolerance,
                                               newton_steps=2)

    log_params = optimum.log_params + np.array([0.0, np.log(scale), 0.0, np.log(scale)])
    params = ParetoNBDParams(*(float(v) for v in np.exp(log_params)))
    total_weight = float(dw.sum())
    return ParetoNBDFit(
        params=params,
        log_likelihood=log_likelihood(params, dx, dtx, dage, dw),
        converged=optimum.converged,
        n_customers=int(round(total_weight)),
        n_distinct_histories=int(len(dx)),
        time_unit=time_unit,
        covariance=optimum.covariance(total_weight),
        message=optimum.message,
    )


def probability_alive(params: ParetoNBDParams, frequency, recency, T) -> np.ndarray:
    """P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0) (FH eq. 36-37).

    Computed as expit(ln alive term - ln died term) from the bracket of ln L, so it is exact at any frequency
    (1 when t_x = T: the customer bought at the last moment observed).
    """
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    age = np.asarray(T, dtype=float)
    alive_term, died_term = _bracket_terms(params, x, t_x, age)
    return special.expit(alive_term - died_term)


def _lifetime_exposure(s: float, L) -> np.ndarray:
    """E[min(tau, t)] / (beta+T) for tau Lomax(s, beta+T): [1 - e^(-(s-1) L)] / (s-1), L = ln(1 + t/(beta+T)),
    written as L exprel(-(s-1) L) (exprel(y) = (e^y - 1)/y), which is L itself at s = 1."""
    return L * special.exprel(-(s - 1.0) * L)


def expected_purchases(params: ParetoNBDParams, t) -> np.ndarray:
    """FH eq. (27): E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]: the rate r/alpha times the
    expected time alive in (0, t]."""
    r, alpha, s, beta = params
    t = np.asarray(t, dtype=float)
    return r / alpha * beta * _lifetime_exposure(s, np.log1p(t / beta))


def conditional_expected_purchases(params: ParetoNBDParams, t, frequency, recency, T) -> np.ndarray:
    """FH eq. (41): E[Y(t) | x, t_x, T], expected purchases in (T, T+t]: P(alive) times the posterior rate
    (r+x)/(alpha+T) times the expected remaining time alive within the horizon, (beta+T) [1 -
    ((beta+T)/(beta+T+t))^(s-1)] / (s-1)."""
    r, alpha, s, beta = params
    x = np.asarray(frequency, dtype=float)
    age = np.asarray(T, dtype=float)
    t = np.asarray(t, dtype=float)
    exposure = (beta + age) * _lifetime_exposure(s, np.log1p(t / (beta + age)))
    return probability_alive(params, frequency, recency, T) * (r + x) / (alpha + age) * exposure


def purchase_count_pmf(
    params: ParetoNBDParams, t, k, frequency, recency, T, *, nodes: int = 64
) -> np.ndarray:
    """P(Y = k | x, t_x, T): the probability of k purchases in (T, T+t] (k broadcast against the customers,
    e.g. k of shape (K, 1) against n customers gives (K, n); t a scalar or broadcast like them).

    A customer who died before T buys nothing. Given alive at T, the likelihood of the history is
    lambda^x e^(-lambda T) e^(-mu T) times constants, so lambda | alive ~ Gamma(r+x, alpha+T) and
    mu | alive ~ Gamma(s, beta+T), independent. The remaining lifetime tau ~ Exp(mu) is then Lomax:
    P(tau > u) = ((beta+T)/(beta+T+u))^s. Purchases in the horizon are N(min(tau, t)) with N | lambda a
    Poisson process; integrating lambda out, N(u) is negative binomial NB(k; r+x, q(u)),
    q(u) = (alpha+T)/(alpha+T+u). So

        P(Y = k | alive) = P(tau > t) NB(k; r+x, q(t)) + int_0^t f_tau(u) NB(k; r+x, q(u)) du,
        P(Y = k) = P(alive) P(Y = k | alive) + (1 - P(alive)) [k = 0].

    The integral is taken in w = ln(1 + u/(beta+T)), where the Lomax density becomes s e^(-s w) on
    [0, ln(1 + t/(beta+T))] and a purchase count's NB bump has a width that does not shrink with the
    horizon, by ``nodes``-point Gauss-Legendre (deterministic). The lifetime weights then integrate an
    exponential, which the rule does to rounding: the PMF sums to 1 and its mean is
    ``conditional_expected_purchases`` to ~1e-15 whatever ``nodes``; ``nodes`` only sets how well each single
    probability is resolved (64 is good to 1e-9 relative up to a few hundred purchases in the horizon; heavier
    buyers over long horizons want more). Memory is (broadcast size) x ``nodes`` floats.
    """
    r, alpha, s, beta = params
    x = np.asarray(frequency, dtype=float)
    age = np.asarray(T, dtype=float)
    k = np.asarray(k, dtype=float)
    t = np.asarray(t, dtype=float)
    p_alive = probability_alive(params, frequency, recency, T)
    shape = r + x
    horizon = np.log1p(t / (beta + age))

    def negative_binomial(k, shape, age, u):
        # NB(k; r+x, q(u)) in logs; xlogy makes k = 0 at u = 0 (t = 0) a probability of 1, not a NaN
        return np.exp(
            special.gammaln(shape + k) - special.gammaln(shape) - special.gammaln(k + 1.0)
            + shape * (np.log(alpha + age) - np.log(alpha + age + u))
            + special.xlogy(k, u) - k * np.log(alpha + age + u)
        )

    legendre_nodes, legendre_weights = np.polynomial.legendre.leggauss(nodes)
    half = 0.5 * horizon[..., None]
    w = half * (legendre_nodes + 1.0)
    lifetime_weights = half * legendre_weights * s * np.exp(-s * w)
    u = (beta + age)[..., None] * np.expm1(w)
    died_within = np.sum(
        lifetime_weights * negative_binomial(k[..., None], shape[..., None], age[..., None], u), axis=-1
    )
    if_alive = np.exp(-s * horizon) * negative_binomial(k, shape, age, t) + died_within
    return p_alive * if_alive + (1.0 - p_alive) * (k == 0)
