"""The BG/NBD model and its limiting cases: what the model becomes when customers do not differ.

BG/NBD (Fader, Hardie & Lee 2005, FHL below) mixes two individual-level stories over customers: purchases at
rate lambda ~ Gamma(r, alpha), drop-out after each repeat purchase with probability p ~ Beta(a, b). When the
customers of a shop do not differ (steady buyers, a subscription), the likelihood's maximum lies on the
boundary of that parameter space and the optimiser runs off to infinity. Each such boundary is a simpler
model, well defined, with finite predictions:

- r, alpha -> infinity with r / alpha = lambda: every customer buys at the **common rate** lambda (Gamma(r,
  alpha) tends to a point mass: Gamma(r+x)/Gamma(r) alpha^r (alpha+s)^-(r+x) -> lambda^x e^(-lambda s));
- a, b -> infinity with a / (a+b) = p: a **common drop-out probability** p
  (B(a, b+x)/B(a, b) -> (1-p)^x and B(a+1, b+x-1)/B(a, b) -> p (1-p)^(x-1));
- a / (a+b) -> 0 (a -> 0 or b -> infinity): **no drop-out**, p = 0 (the alive term's Beta ratio -> 1, the
  dropped term -> 0): the NBD model, or a Poisson process when the rate is common too;
- a, b -> 0 with a / (a+b) = pi: Beta(a, b) tends to the two points 0 and 1, a **split**: a share pi of
  customers drops out at their first repeat purchase, the others never (B(a, b+x)/B(a, b) -> 1 - pi for
  x >= 1, B(a+1, b)/B(a, b) -> pi for x = 1, and B(a+1, b+x-1)/B(a, b) -> 0 for x >= 2).

A variant is one rate component (gamma: r, alpha; common: lambda) and one drop-out component (beta: a, b;
common: p; none; split: pi): eight variants, the full BG/NBD among them, each nested in the full model as a
boundary case. Every variant's individual likelihood is FHL eq. (6) with its own pieces, in logs:

    ln L(x, t_x, T) = C_rate(x) + C_dropout(x) + logaddexp(-rho(T, x), [x>0] (ln D(x) - rho(t_x, x)))

    rate       C_rate(x)                                   rho(s, x)
    gamma      ln G(r+x) - ln G(r) + r ln alpha             (r+x) ln(alpha + s)
    common     x ln lambda                                 lambda s

    drop-out   C_dropout(x)                                D(x), the odds factor of having dropped out
    beta       ln B(a, b+x) - ln B(a, b)                   a / (b+x-1)
    common     x ln(1-p)                                   p / (1-p)
    none       0                                           0
    split      [x>=1] ln(1-pi)                             pi / (1-pi) for x = 1, 0 for x >= 2

so P(alive | x, t_x, T) = 1 / (1 + [x>0] D(x) exp(rho(T, x) - rho(t_x, x))) (FHL 2008, note 021, eq. 2 with
the same pieces). Expected purchases in the next t of a customer alive at T, g(x, T, t), from the individual
E[Y(t) | lambda, p, alive] = (1 - e^(-lambda p t)) / p (FHL eq. 7) averaged over the posterior of lambda,
Gamma(r+x, alpha+T), and of p (Beta(a, b+x); for the split, the dropping share pi_x = pi when x = 0 and 0 once
a repeat purchase has shown the customer is of the other kind):

    gamma rate,  beta:    FHL eq. (10) (models.bgnbd)
    gamma rate,  common:  (1 - ((alpha+T)/(alpha+T+pt))^(r+x)) / p
    gamma rate,  none:    (r+x) t / (alpha+T)
    gamma rate,  split:   (1 - pi_x) (r+x) t / (alpha+T) + pi_x (1 - ((alpha+T)/(alpha+T+t))^(r+x))
    common rate, beta:    (a+b+x-1)/(a-1) [1 - 1F1(a-1; a+b+x-1; -lambda t)]
    common rate, common:  (1 - e^(-lambda p t)) / p
    common rate, none:    lambda t
    common rate, split:   (1 - pi_x) lambda t + pi_x (1 - e^(-lambda t))

The common-rate / Beta entry is E[1/p] - E[e^(-lambda t p)/p] under Beta(a, b+x), whose second term is the
Beta integral of 1F1 (Kummer's function); it is also the confluent limit of eq. (10)'s 2F1 as r, alpha grow.
E[Y(t) | x, t_x, T] = P(alive) g(x, T, t) and E[X(t)] = g(0, 0, t) for every variant, as for the full model.

Parameters are optimised as logarithms (r, alpha, a, b, lambda) and as logits (p, pi), so every variant fits
with ``models.optimise`` under the same bounds and convergence rules as the full model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

from models import bgnbd
from models.bgnbd import BGNBDParams
from models.optimise import dot, minimise_negative_log_likelihood

# --- The rate components ---------------------------------------------------------------------------------


class GammaRate:
    """lambda ~ Gamma(r, alpha); theta = (ln r, ln alpha)."""

    name = "gamma"
    parameters = ("r", "alpha")
    time_powers = (0, 1)  # alpha is in the time unit: it scales with the times
    transforms = ("log", "log")

    @staticmethod
    def start(pooled_rate: float) -> np.ndarray:
        return np.log([1.0, 1.0 / pooled_rate])

    @staticmethod
    def start_from(full: dict) -> np.ndarray:
        return np.log([full["r"], full["alpha"]])

    @staticmethod
    def constant(theta, x):
        """C_rate(x) and its gradient in theta, shape (2, len(x))."""
        r, alpha = np.exp(theta)
        value = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        gradient = np.stack(
            [r * (special.digamma(r + x) - special.digamma(r) + np.log(alpha)), np.full(x.shape, r)]
        )
        return value, gradient

    @staticmethod
    def decay(theta, x, s, index=None):
        """rho(s, x) and its gradient in theta; with ``index``, ``s`` holds distinct times and row i has
        s[index[i]] (the logarithms are then taken once per distinct time)."""
        r, alpha = np.exp(theta)
        log_alpha_s, inverse = np.log(alpha + s), 1.0 / (alpha + s)
        if index is not None:
            log_alpha_s, inverse = log_alpha_s[index], inverse[index]
        return (r + x) * log_alpha_s, np.stack([r * log_alpha_s, alpha * (r + x) * inverse])

    @staticmethod
    def decay_difference(theta, x, s1, s0):
        """rho(s1, x) - rho(s0, x), the log of the rate part of the odds of having dropped out."""
        r, alpha = np.exp(theta)
        return (r + x) * (np.log(alpha + s1) - np.log(alpha + s0))


class CommonRate:
    """Every customer buys at the same rate lambda (the limit r, alpha -> infinity, r/alpha = lambda);
    theta = (ln lambda,)."""

    name = "common"
    parameters = ("lambda",)
    time_powers = (-1,)  # lambda is per time unit
    transforms = ("log",)

    @staticmethod
    def start(pooled_rate: float) -> np.ndarray:
        return np.log([pooled_rate])

    @staticmethod
    def start_from(full: dict) -> np.ndarray:
        return np.log([full["r"] / full["alpha"]])

    @staticmethod
    def constant(theta, x):
        return x * theta[0], x[None, :].astype(float)

    @staticmethod
    def decay(theta, x, s, index=None):
        s = np.asarray(s, dtype=float) if index is None else np.asarray(s, dtype=float)[index]
        value = np.exp(theta[0]) * np.broadcast_to(s, np.broadcast(x, s).shape)
        return value, value[None, :]

    @staticmethod
    def decay_difference(theta, x, s1, s0):
        return np.exp(theta[0]) * (np.asarray(s1, dtype=float) - s0)


# --- The drop-out components -----------------------------------------------------------------------------


class BetaDropout:
    """p ~ Beta(a, b); theta = (ln a, ln b)."""

    name = "beta"
    parameters = ("a", "b")
    time_powers = (0, 0)
    transforms = ("log", "log")

    @staticmethod
    def start() -> np.ndarray:
        return np.zeros(2)

    @staticmethod
    def start_from(full: dict) -> np.ndarray:
        return np.log([full["a"], full["b"]])

    @staticmethod
    def constant(theta, x):
        """C_dropout(x) = ln B(a, b+x) - ln B(a, b) and its gradient."""
        a, b = np.exp(theta)
        psi_ab, psi_abx = special.digamma(a + b), special.digamma(a + b + x)
        value = special.betaln(a, b + x) - special.betaln(a, b)
        gradient = np.stack(
            [a * (psi_ab - psi_abx), b * (special.digamma(b + x) - special.digamma(b) + psi_ab - psi_abx)]
        )
        return value, gradient

    @staticmethod
    def log_odds(theta, x):
        """ln D(x) = ln a - ln(b+x-1) for x >= 1 (x = 0 rows are never used) and its gradient."""
        a, b = np.exp(theta)
        denominator = b + np.maximum(x, 1) - 1
        return np.log(a) - np.log(denominator), np.stack([np.ones(x.shape), -b / denominator])


class CommonDropout:
    """Every customer drops out after a repeat purchase with the same probability p (the limit a, b ->
    infinity, a/(a+b) = p); theta = (logit p,)."""

    name = "common"
    parameters = ("p",)
    time_powers = (0,)
    transforms = ("logit",)

    @staticmethod
    def start() -> np.ndarray:
        return np.zeros(1)  # p = 1/2, BG/NBD's starting a = b = 1

    @staticmethod
    def start_from(full: dict) -> np.ndarray:
        return np.log([full["a"] / full["b"]])  # logit of a / (a+b)

    @staticmethod
    def constant(theta, x):
        # ln(1-p) = -softplus(logit p); d ln(1-p) / d logit p = -p
        return -x * np.logaddexp(0.0, theta[0]), (-x * special.expit(theta[0]))[None, :]

    @staticmethod
    def log_odds(theta, x):
        return np.full(x.shape, float(theta[0])), np.ones((1,) + x.shape)


class NoDropout:
    """Nobody drops out (the limit a / (a+b) -> 0): no parameter."""

    name = "none"
    parameters = ()
    time_powers = ()
    transforms = ()

    @staticmethod
    def start() -> np.ndarray:
        return np.zeros(0)

    @staticmethod
    def start_from(full: dict) -> np.ndarray:
        return np.zeros(0)

    @staticmethod
    def constant(theta, x):
        return np.zeros(x.shape), np.zeros((0,) + x.shape)

    @staticmethod
    def log_odds(theta, x):
        return np.full(x.shape, -np.inf), np.zeros((0,) + x.shape)


class SplitDropout:
    """Two kinds of customer: a share pi drops out at their first repeat purchase, the others never (the limit
    a, b -> 0, a/(a+b) = pi: Beta(a, b) tends to the two points 0 and 1); theta = (logit pi,).

    L(x=0) has no drop-out factor; for x >= 1 the never-dropping share contributes (1-pi) to the alive term,
    and only x = 1 has a dropped-out term (pi): C_dropout(x) = [x>=1] ln(1-pi), D(1) = pi/(1-pi), D(x>=2) = 0.
    """

    name = "split"
    parameters = ("pi",)
    time_powers = (0,)
    transforms = ("logit",)

    @staticmethod
    def start() -> np.ndarray:
        return np.zeros(1)

    @staticmethod
    def start_from(full: dict) -> np.ndarray:
        return np.log([full["a"] / full["b"]])  # logit of a / (a+b)

    @staticmethod
    def constant(theta, x):
        repeat = (x > 0).astype(float)
        return -repeat * np.logaddexp(0.0, theta[0]), (-repeat * special.expit(theta[0]))[None, :]

    @staticmethod
    def log_odds(theta, x):
        once = x == 1
        return np.where(once, float(theta[0]), -np.inf), once.astype(float)[None, :]


# --- g(x, T, t): expected purchases in the next t of a customer alive at T (module docstring's table) -----


def _if_alive_gamma_beta(params, t, x, T):
    return bgnbd.expected_purchases_if_alive(
        BGNBDParams(params["r"], params["alpha"], params["a"], params["b"]), t, x, T
    )


def _if_alive_gamma_common(params, t, x, T):
    r, alpha, p = params["r"], params["alpha"], params["p"]
    # 1 - ((alpha+T)/(alpha+T+pt))^(r+x) = -expm1(-(r+x) log1p(pt/(alpha+T))): exact for small p t
    return -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T))) / p


def _if_alive_gamma_none(params, t, x, T):
    return (params["r"] + x) * t / (params["alpha"] + T)


def _if_alive_common_beta(params, t, x, T):
    rate, a, b = params["lambda"], params["a"], params["b"]
    c = a + b + x - 1
    # Undefined at exactly a = 1 (a removable singularity of the closed form, as for eq. 10).
    return c / (a - 1) * (1.0 - special.hyp1f1(a - 1, c, -rate * t))


def _split_share(params, x):
    """Posterior share of the dropping kind among customers alive at T: pi for x = 0 (no repeat purchase
    yet, no evidence), 0 for x >= 1 (that kind is gone after its first repeat purchase)."""
    return np.where(x > 0, 0.0, params["pi"])


def _if_alive_gamma_split(params, t, x, T):
    # the dropping kind buys once more at most: P(a purchase in t) = 1 - ((alpha+T)/(alpha+T+t))^(r+x)
    r, alpha = params["r"], params["alpha"]
    share = _split_share(params, x)
    at_most_once = -np.expm1(-(r + x) * np.log1p(t / (alpha + T)))
    return (1 - share) * (r + x) * t / (alpha + T) + share * at_most_once


def _if_alive_common_split(params, t, x, T):
    rate = params["lambda"]
    share = _split_share(params, x)
    return (1 - share) * rate * t - share * np.expm1(-rate * t)


def _per_customer(value, x):
    """A value that does not depend on the history, in the shape of broadcast(t, x) the callers expect."""
    return value + np.zeros(np.shape(x))


def _if_alive_common_common(params, t, x, T):
    p = params["p"]
    return _per_customer(-np.expm1(-params["lambda"] * p * t) / p, x)


def _if_alive_common_none(params, t, x, T):
    return _per_customer(params["lambda"] * t, x)


# --- The variants ----------------------------------------------------------------------------------------


def _flat(*arrays) -> tuple[tuple[int, ...], list[np.ndarray]]:
    """The arrays broadcast together and flattened (the components work on 1-D rows), and the shape to
    give the result back."""
    broadcast = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in arrays))
    return broadcast[0].shape, [b.ravel() for b in broadcast]


@dataclass(frozen=True)
class PurchaseVariant:
    """One member of the BG/NBD family: a rate component and a drop-out component (module docstring)."""

    name: str
    rate: type
    dropout: type
    limit: str | None  # what the boundary means, in words; None for the full model
    if_alive_function: Callable

    @property
    def parameters(self) -> tuple[str, ...]:
        return self.rate.parameters + self.dropout.parameters

    @property
    def transforms(self) -> tuple[str, ...]:
        return self.rate.transforms + self.dropout.transforms

    @property
    def is_full_model(self) -> bool:
        return self.limit is None

    def _split(self, theta):
        theta = np.asarray(theta, dtype=float)
        k = len(self.rate.parameters)
        return theta[:k], theta[k:]

    def params(self, theta) -> dict[str, float]:
        """Parameters on their natural scale, keyed by the papers' names."""
        return {
            name: float(np.exp(value) if transform == "log" else special.expit(value))
            for name, transform, value in zip(
                self.parameters, self.transforms, np.asarray(theta, dtype=float), strict=True
            )
        }

    def standard_errors(self, theta, covariance) -> dict[str, float]:
        """Delta method from the covariance of theta: value * sd for log-parameters, p (1-p) sd for logits."""
        sd = np.sqrt(np.diag(covariance)) if len(theta) else np.zeros(0)
        errors = {}
        for (name, value), transform, s in zip(self.params(theta).items(), self.transforms, sd, strict=True):
            errors[name] = float(value * s if transform == "log" else value * (1.0 - value) * s)
        return errors

    def start(self, pooled_rate: float) -> np.ndarray:
        return np.concatenate([self.rate.start(pooled_rate), self.dropout.start()])

    def start_from(self, full: dict) -> np.ndarray:
        """theta at the limit of the full model's (r, alpha, a, b): lambda = r/alpha, p = pi = a/(a+b)."""
        return np.concatenate([self.rate.start_from(full), self.dropout.start_from(full)])

    def log_likelihood_contributions(self, theta, frequency, recency, T) -> np.ndarray:
        """Per-customer ln L (module docstring)."""
        rate_theta, dropout_theta = self._split(theta)
        shape, (x, t_x, age) = _flat(frequency, recency, T)
        alive_term = -self.rate.decay(rate_theta, x, age)[0]
        log_odds = self.dropout.log_odds(dropout_theta, x)[0]
        dropped_term = np.where(x > 0, log_odds - self.rate.decay(rate_theta, x, t_x)[0], -np.inf)
        contributions = (
            self.rate.constant(rate_theta, x)[0]
            + self.dropout.constant(dropout_theta, x)[0]
            + np.logaddexp(alive_term, dropped_term)
        )
        return contributions.reshape(shape)

    def probability_alive(self, theta, frequency, recency, T) -> np.ndarray:
        """P(alive | x, t_x, T) = expit(-(ln D(x) + rho(T, x) - rho(t_x, x))) for x >= 1, 1 for x = 0."""
        rate_theta, dropout_theta = self._split(theta)
        shape, (x, t_x, age) = _flat(frequency, recency, T)
        log_odds_dropped = self.dropout.log_odds(dropout_theta, x)[0] + self.rate.decay_difference(
            rate_theta, x, age, t_x
        )
        return np.where(x > 0, special.expit(-log_odds_dropped), 1.0).reshape(shape)

    def expected_purchases_if_alive(self, theta, t, frequency, T) -> np.ndarray:
        """g(x, T, t): expected purchases in the next t of a customer alive at T (module docstring)."""
        return self.if_alive_function(
            self.params(theta),
            np.asarray(t, dtype=float),
            np.asarray(frequency, dtype=float),
            np.asarray(T, dtype=float),
        )

    def conditional_expected_purchases(self, theta, t, frequency, recency, T) -> np.ndarray:
        """E[Y(t) | x, t_x, T] = P(alive | x, t_x, T) g(x, T, t) (FHL eq. 10 for the full model)."""
        return self.probability_alive(theta, frequency, recency, T) * self.expected_purchases_if_alive(
            theta, t, frequency, T
        )

    def expected_purchases(self, theta, t) -> np.ndarray:
        """E[X(t)], repeat purchases of a new customer by t: g(0, 0, t) (FHL eq. 9 for the full model)."""
        return self.expected_purchases_if_alive(theta, t, 0.0, 0.0)


FULL = PurchaseVariant("bg_nbd", GammaRate, BetaDropout, None, _if_alive_gamma_beta)
COMMON_RATE = PurchaseVariant(
    "common_rate",
    CommonRate,
    BetaDropout,
    "customers do not differ in purchase rate: r and alpha grow without bound together, r/alpha stays finite; "
    "the limit is a common rate lambda = r/alpha",
    _if_alive_common_beta,
)
COMMON_DROPOUT = PurchaseVariant(
    "common_dropout",
    GammaRate,
    CommonDropout,
    "customers do not differ in drop-out probability: a and b grow without bound together, a/(a+b) stays "
    "finite; the limit is a common drop-out probability p = a/(a+b)",
    _if_alive_gamma_common,
)
NO_DROPOUT = PurchaseVariant(
    "no_dropout",
    GammaRate,
    NoDropout,
    "no customer is seen to drop out: a/(a+b) goes to 0; the limit is the NBD model without drop-out "
    "(P(alive) = 1)",
    _if_alive_gamma_none,
)
COMMON_RATE_COMMON_DROPOUT = PurchaseVariant(
    "common_rate_common_dropout",
    CommonRate,
    CommonDropout,
    "customers differ neither in purchase rate nor in drop-out probability: the limit is a common rate "
    "lambda = r/alpha and a common drop-out probability p = a/(a+b)",
    _if_alive_common_common,
)
COMMON_RATE_NO_DROPOUT = PurchaseVariant(
    "common_rate_no_dropout",
    CommonRate,
    NoDropout,
    "customers do not differ in purchase rate and none is seen to drop out: the limit is a Poisson process at "
    "a common rate lambda = r/alpha (P(alive) = 1)",
    _if_alive_common_none,
)
SPLIT_DROPOUT = PurchaseVariant(
    "split_dropout",
    GammaRate,
    SplitDropout,
    "customers split into those who drop out at their first repeat purchase and those who never do: a and b go "
    "to 0 together, a/(a+b) stays finite; the limit is a share pi = a/(a+b) dropping out at once",
    _if_alive_gamma_split,
)
COMMON_RATE_SPLIT_DROPOUT = PurchaseVariant(
    "common_rate_split_dropout",
    CommonRate,
    SplitDropout,
    "customers do not differ in purchase rate, and split into those who drop out at their first repeat "
    "purchase and those who never do: the limit is a common rate lambda = r/alpha and a share pi = a/(a+b) "
    "dropping out",
    _if_alive_common_split,
)
VARIANTS: tuple[PurchaseVariant, ...] = (
    FULL,
    COMMON_RATE,
    COMMON_DROPOUT,
    NO_DROPOUT,
    SPLIT_DROPOUT,
    COMMON_RATE_COMMON_DROPOUT,
    COMMON_RATE_NO_DROPOUT,
    COMMON_RATE_SPLIT_DROPOUT,
)
VARIANTS_BY_NAME = {variant.name: variant for variant in VARIANTS}


# --- Fitting a limiting variant ---------------------------------------------------------------------------


class _NegativeMeanLogLikelihood:
    """-(sum_i w_i ln L_i) / sum_i w_i of a variant and its analytic gradient in theta.

    With w4 = expit(A4 - A3), the share of the dropped-out term A4 = ln D(x) - rho(t_x, x) in the bracket
    (A3 = -rho(T, x)):
      d ln L = dC_rate + dC_dropout - (1 - w4) d rho(T) + w4 (d ln D - d rho(t_x)).
    As in ``models.bgnbd``'s objective, the x-only terms (C_rate, C_dropout, ln D) are computed once per
    distinct x, customers without repeat purchase (bracket = -rho(T, 0), which depends on T only) once per
    distinct T, and the repeat buyers' times through their distinct values.
    """

    def __init__(self, variant: PurchaseVariant, x, t_x, age, weights):
        self.rate, self.dropout = variant.rate, variant.dropout
        self.k_rate = len(variant.rate.parameters)
        w = weights / weights.sum()
        self.x_values, x_index = np.unique(x, return_inverse=True)
        self.weight_of_x = np.bincount(x_index, weights=w, minlength=self.x_values.size)
        once = x == 0
        self.once_ages, once_index = np.unique(age[once], return_inverse=True)
        self.once_weight_of_age = np.bincount(once_index, weights=w[once], minlength=self.once_ages.size)
        repeat = ~once
        self.rep_w, self.rep_x = w[repeat], x[repeat]
        self.rep_x_values, self.rep_x_index = np.unique(self.rep_x, return_inverse=True)
        self.ages, self.age_index = np.unique(age[repeat], return_inverse=True)
        self.recencies, self.recency_index = np.unique(t_x[repeat], return_inverse=True)

    def __call__(self, theta):
        rate_theta, dropout_theta = theta[: self.k_rate], theta[self.k_rate :]
        xv, wx = self.x_values, self.weight_of_x
        c_rate, dc_rate = self.rate.constant(rate_theta, xv)
        c_drop, dc_drop = self.dropout.constant(dropout_theta, xv)
        value = dot(wx, c_rate + c_drop)
        gradient_rate = np.einsum("kn,n->k", dc_rate, wx)  # no BLAS: see optimise.dot
        gradient_dropout = np.einsum("kn,n->k", dc_drop, wx)

        # no repeat purchase: bracket = -rho(T, 0)
        rho_once, d_rho_once = self.rate.decay(rate_theta, 0.0, self.once_ages)
        value -= dot(self.once_weight_of_age, rho_once)
        gradient_rate -= np.einsum("kn,n->k", d_rho_once, self.once_weight_of_age)

        # repeat buyers: bracket = logaddexp(A3, A4) = max(A3, A4) - ln(max(w4, 1 - w4)), as in models.bgnbd
        log_odds, d_log_odds = self.dropout.log_odds(dropout_theta, self.rep_x_values)
        rho_T, d_rho_T = self.rate.decay(rate_theta, self.rep_x, self.ages, self.age_index)
        rho_tx, d_rho_tx = self.rate.decay(rate_theta, self.rep_x, self.recencies, self.recency_index)
        alive_term = -rho_T
        dropped_term = log_odds[self.rep_x_index] - rho_tx
        share_dropped = special.expit(dropped_term - alive_term)
        bracket = np.maximum(alive_term, dropped_term) - np.log(
            np.maximum(share_dropped, 1.0 - share_dropped)
        )
        value += dot(self.rep_w, bracket)
        w4 = self.rep_w * share_dropped
        w3 = self.rep_w - w4
        gradient_rate -= np.einsum("kn,n->k", d_rho_T, w3) + np.einsum("kn,n->k", d_rho_tx, w4)
        w4_of_x = np.bincount(self.rep_x_index, weights=w4, minlength=self.rep_x_values.size)
        gradient_dropout += np.einsum("kn,n->k", d_log_odds, w4_of_x)
        return float(-value), -np.concatenate([gradient_rate, gradient_dropout])


@dataclass(frozen=True)
class VariantFit:
    """One variant fitted by maximum likelihood; ``covariance`` is that of theta (NaN without a proper
    maximum), ``converged`` follows ``models.optimise``'s rules (finite, positive-definite Hessian, gradient
    at the rounding floor, no parameter at its bound)."""

    variant: PurchaseVariant
    theta: np.ndarray
    covariance: np.ndarray
    log_likelihood: float
    converged: bool
    message: str
    full_fit: bgnbd.BGNBDFit | None = None  # models.bgnbd's own fit, for the full model


def fit_variant(
    variant: PurchaseVariant, x, t_x, age, weights, *, time_unit: str, full: dict | None = None
) -> VariantFit:
    """Fit one variant on validated, distinct (x, t_x, T) rows with weights (``models.selection`` collapses
    them). The full model goes through ``models.bgnbd.fit_bgnbd``; the others through the objective above,
    with times divided by max(T) for conditioning (alpha and lambda rescaled back). ``full``: the full model's
    (r, alpha, a, b) where its optimiser stopped, to start from the point of the boundary it was heading for
    (lambda = r/alpha, p = a/(a+b), ...) rather than from scratch."""
    if variant.is_full_model:
        fit = bgnbd.fit_bgnbd(x, t_x, age, weights=weights, time_unit=time_unit)
        return VariantFit(
            variant, fit.log_params, fit.covariance, fit.log_likelihood, fit.converged, fit.message, fit
        )
    scale = float(age.max())
    objective = _NegativeMeanLogLikelihood(variant, x, t_x / scale, age / scale, weights)
    powers = np.array(variant.rate.time_powers + variant.dropout.time_powers, dtype=float)
    if full is None:
        start = variant.start(dot(weights, x) / dot(weights, age / scale))
    else:
        # in the scaled times; kept inside the bounds, where the optimiser can move
        start = np.clip(variant.start_from(full) - powers * np.log(scale), -15.0, 15.0)
    optimum = minimise_negative_log_likelihood(objective, start)
    theta = optimum.log_params + powers * np.log(scale)
    covariance = optimum.covariance(float(weights.sum()))
    log_likelihood = float(np.sum(weights * variant.log_likelihood_contributions(theta, x, t_x, age)))
    return VariantFit(variant, theta, covariance, log_likelihood, optimum.converged, optimum.message)
