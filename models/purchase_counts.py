"""How many purchases a customer makes in the next t: the exact conditional distribution under BG/NBD and its
limiting cases (``models.bgnbd_limits``).

A customer with history (x, t_x, T) is alive at T with probability P(alive | x, t_x, T) (FHL 2005 eq. 12, and
the limiting variants' versions). Given alive, the likelihood of the history is lambda^x e^(-lambda T) (1-p)^x
times constants, so the posteriors of the two individual-level quantities are independent:

    rate       lambda | alive ~ Gamma(r + x, alpha + T)       (common rate: the point lambda)
    drop-out   p | alive      ~ Beta(a, b + x)                 (common: the point p; none: 0; split: 1 with
                                                                probability pi_x, else 0, pi_x = pi for x = 0
                                                                and 0 for x >= 1, as in ``bgnbd_limits``)

After T, purchases are a Poisson(lambda) process N(.), and after each purchase the customer drops out with
probability p: the number of purchases until drop-out G is geometric on {1, 2, ...}, independent of N. The
purchases in (T, T+t] are X = min(N(t), G), so, with the independence,

    P(X > k | alive) = P(N(t) > k) P(G > k) = S_N(k) D(k),     D(k) = E[(1-p)^k],

and a customer who is no longer alive makes none: P(X > k) = P(alive) S_N(k) D(k) for k >= 0. Differencing
gives the probability mass function P(X = 0) = 1 - P(alive) S_N(0) and, for k >= 1,

    P(X = k) = P(alive) [P(N = k) E[(1-p)^(k-1)] + P(N > k) E[(1-p)^(k-1) p]].

Integrating lambda out, N(t) is negative binomial with r + x "successes" and success probability
q = (alpha+T)/(alpha+T+t): P(N = k) = G(r+x+k)/(G(r+x) k!) q^(r+x) (1-q)^k and P(N > k) = I_(1-q)(k+1, r+x),
the regularized incomplete beta function (a common rate: Poisson(lambda t), P(N > k) = P(k+1, lambda t), the
regularized lower incomplete gamma function). Integrating p out: E[(1-p)^k] = B(a, b+x+k) / B(a, b+x) and
E[(1-p)^(k-1) p] = B(a+1, b+x+k-1) / B(a, b+x) (common: (1-p)^k and p (1-p)^(k-1); none: 1 and 0; split:
1 - pi_x [k >= 1] and pi_x [k = 1]).

Everything is closed form: no series to truncate, no simulation. The mean sum_k P(X > k) equals
``conditional_expected_purchases`` (E[min(N, G)] = E[(1 - e^(-lambda p t)) / p], FHL eq. 7/10), which the
tests check to 1e-8 for every variant. The rate and drop-out parts depend on the history through (x, T)
only, P(alive) through (x, t_x, T): callers evaluate the first once per distinct (x, T).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from models.bgnbd_limits import PurchaseVariant


def _rate_posterior(variant: PurchaseVariant, params: dict, x, T, t):
    """(shape, q) of the negative binomial N(t) | alive (shape = inf for a common rate: then q holds the
    Poisson mean lambda t)."""
    if variant.rate.name == "gamma":
        shape = params["r"] + x
        q = (params["alpha"] + T) / (params["alpha"] + T + t)
        return shape, q
    return np.full(np.shape(x), np.inf), params["lambda"] * t + np.zeros(np.shape(x))


def rate_survival(variant: PurchaseVariant, params: dict, k, x, T, t) -> np.ndarray:
    """P(N(t) > k | alive at T, x): purchases in the next t before any drop-out (broadcast over k, x, T)."""
    k = np.asarray(k, dtype=float)
    shape, q = _rate_posterior(variant, params, x, T, t)
    if variant.rate.name == "gamma":
        # P(NB > k) = I_{1-q}(k+1, shape); 1 - q = t / (alpha+T+t) computed without cancellation
        one_minus_q = t / (params["alpha"] + T + t)
        return special.betainc(k + 1.0, shape, one_minus_q)
    return special.gammainc(k + 1.0, q)


def rate_pmf(variant: PurchaseVariant, params: dict, k, x, T, t) -> np.ndarray:
    """P(N(t) = k | alive at T, x)."""
    k = np.asarray(k, dtype=float)
    shape, q = _rate_posterior(variant, params, x, T, t)
    if variant.rate.name == "gamma":
        log_one_minus_q = np.log(t) - np.log(params["alpha"] + T + t)
        log_pmf = (
            special.gammaln(shape + k) - special.gammaln(shape) - special.gammaln(k + 1.0)
            + shape * np.log(q) + special.xlogy(k, np.exp(log_one_minus_q))
        )
        return np.exp(log_pmf)
    return np.exp(special.xlogy(k, q) - q - special.gammaln(k + 1.0))


def _split_share(params: dict, x):
    return np.where(np.asarray(x) > 0, 0.0, params["pi"])


def survive_dropout(variant: PurchaseVariant, params: dict, k, x) -> np.ndarray:
    """D(k) = E[(1-p)^k | alive at T, x], the probability of not dropping out at the next k purchases."""
    k = np.asarray(k, dtype=float)
    x = np.asarray(x, dtype=float)
    name = variant.dropout.name
    if name == "beta":
        a, b = params["a"], params["b"]
        return np.exp(special.betaln(a, b + x + k) - special.betaln(a, b + x))
    if name == "common":
        return np.exp(k * np.log1p(-params["p"])) + np.zeros(np.shape(x))
    if name == "none":
        return np.ones(np.broadcast(k, x).shape)
    share = _split_share(params, x)  # split: p is 1 with probability pi_x, else 0
    return 1.0 - share * (k >= 1)


def drop_at(variant: PurchaseVariant, params: dict, k, x) -> np.ndarray:
    """E[(1-p)^(k-1) p | alive at T, x] for k >= 1: survive k-1 purchases and drop out at the k-th."""
    k = np.asarray(k, dtype=float)
    x = np.asarray(x, dtype=float)
    name = variant.dropout.name
    if name == "beta":
        a, b = params["a"], params["b"]
        return np.exp(special.betaln(a + 1.0, b + x + k - 1.0) - special.betaln(a, b + x))
    if name == "common":
        p = params["p"]
        return p * np.exp((k - 1.0) * np.log1p(-p)) + np.zeros(np.shape(x))
    if name == "none":
        return np.zeros(np.broadcast(k, x).shape)
    return _split_share(params, x) * (k == 1)


def survival_if_alive(variant: PurchaseVariant, theta, t, k, frequency, T) -> np.ndarray:
    """P(X > k | alive at T, x) = P(N(t) > k) D(k): depends on the history through (x, T) only."""
    params = variant.params(theta)
    x = np.asarray(frequency, dtype=float)
    age = np.asarray(T, dtype=float)
    t = float(t)
    return rate_survival(variant, params, k, x, age, t) * survive_dropout(variant, params, k, x)


def purchase_count_survival(variant: PurchaseVariant, theta, t, k, frequency, recency, T) -> np.ndarray:
    """P(X > k | x, t_x, T): purchases in the next t (k broadcast against the customers)."""
    p_alive = variant.probability_alive(theta, frequency, recency, T)
    return p_alive * survival_if_alive(variant, theta, t, k, frequency, T)


def purchase_count_pmf(variant: PurchaseVariant, theta, t, k, frequency, recency, T) -> np.ndarray:
    """P(X = k | x, t_x, T) by the module docstring's formula (k >= 0, broadcast against the customers)."""
    params = variant.params(theta)
    x = np.asarray(frequency, dtype=float)
    age = np.asarray(T, dtype=float)
    k = np.asarray(k, dtype=float)
    t = float(t)
    p_alive = variant.probability_alive(theta, frequency, recency, T)
    survive_first = survive_dropout(variant, params, k - 1.0, x)
    at_k = rate_pmf(variant, params, k, x, age, t) * survive_first + rate_survival(
        variant, params, k, x, age, t
    ) * drop_at(variant, params, k, x)
    none = 1.0 - p_alive * rate_survival(variant, params, 0.0, x, age, t)
    return np.where(k == 0, none, p_alive * at_k)


class SurvivalSteps:
    """P(X > k | alive at T, x) = S_N(k) D(k) for k = 0, 1, 2, ... in turn, by the exact recursions of its
    factors, for many (x, T) at once: P(N = k) = P(N = k-1) (r+x+k-1)/k (1-q) (Poisson: lambda t / k),
    S_N(k) = S_N(k-1) - P(N = k), D(k) = D(k-1) (b+x+k-1)/(a+b+x+k-1) (common: (1-p); none: 1; split:
    1 - pi_x from k = 1). ``step(index)`` advances the rows in ``index`` by one k; a caller that drops rows
    never brings them back (the rows it keeps advance together). Agrees with ``survival_if_alive`` to rounding
    (absolute error of order 1e-16 per step, the subtraction in S_N): for many k it costs a few
    multiplications per row instead of an incomplete beta function."""

    def __init__(self, variant: PurchaseVariant, params: dict, x, T, t: float):
        x = np.asarray(x, dtype=float)
        age = np.asarray(T, dtype=float)
        self.k = 0
        if variant.rate.name == "gamma":
            self.shape = params["r"] + x
            log_q = np.log(params["alpha"] + age) - np.log(params["alpha"] + age + t)
            self.growth = t / (params["alpha"] + age + t)  # 1 - q
            self.pmf = np.exp(self.shape * log_q)
            self.survival = -np.expm1(self.shape * log_q)
        else:
            mean = params["lambda"] * t
            self.shape = None
            self.growth = np.full(x.shape, mean)
            self.pmf = np.full(x.shape, np.exp(-mean))
            self.survival = np.full(x.shape, -np.expm1(-mean))
        self.dropout = variant.dropout.name
        self.stay = np.ones(x.shape)  # D(k)
        if self.dropout == "beta":
            self.b_x, self.a = params["b"] + x, params["a"]
        elif self.dropout == "common":
            self.keep = 1.0 - params["p"]
        elif self.dropout == "split":
            self.share = _split_share(params, x)

    def value(self, index) -> np.ndarray:
        return self.survival[index] * self.stay[index]

    def step(self, index) -> None:
        self.k += 1
        k = float(self.k)
        if self.shape is None:
            self.pmf[index] *= self.growth[index] / k
        else:
            self.pmf[index] *= (self.shape[index] + k - 1.0) / k * self.growth[index]
        self.survival[index] = np.maximum(self.survival[index] - self.pmf[index], 0.0)
        if self.dropout == "beta":
            b_x = self.b_x[index]
            self.stay[index] *= (b_x + k - 1.0) / (self.a + b_x + k - 1.0)
        elif self.dropout == "common":
            self.stay[index] *= self.keep
        elif self.dropout == "split" and self.k == 1:
            self.stay[index] = 1.0 - self.share[index]
