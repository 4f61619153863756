"""Customers simulated from the BG/NBD and Gamma-Gamma generative stories, for parameter-recovery tests and
benchmarks (known truth, any size, no transaction log needed).

BG/NBD (Fader, Hardie & Lee 2005, section 2): lambda ~ Gamma(r, alpha), p ~ Beta(a, b); repeat purchases
follow a Poisson process with rate lambda; after each repeat purchase the customer drops out with
probability p, so the number of repeat purchases before dropout K ~ Geometric(p) on {1, 2, ...}. Observed
for T: with N(T) ~ Poisson(lambda T) purchases in (0, T], x = min(K, N(T)), and t_x is the x-th of N(T)
uniform points on (0, T), i.e. T * Beta(x, N(T) - x + 1). Everything is vectorised: no per-customer loop.

Gamma-Gamma (note 025): nu ~ Gamma(q, gamma); each repeat transaction ~ Gamma(p, nu), so the sum of x
transactions is Gamma(p x, nu) and m = sum / x.

Pareto/NBD (Schmittlein, Morrison & Colombo 1987): lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta), lifetime
tau ~ Exp(mu); Poisson(lambda) purchases while alive. Observed for T: x ~ Poisson(lambda min(tau, T)), and
t_x is the largest of x uniform points on (0, min(tau, T)), i.e. min(tau, T) * Beta(x, 1).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from models.bgnbd import BGNBDParams
from models.gamma_gamma import GammaGammaParams
from models.pareto_nbd import ParetoNBDParams


class SimulatedHistories(NamedTuple):
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray


def simulate_bgnbd(params: BGNBDParams, T, rng: np.random.Generator) -> SimulatedHistories:
    """One simulated (x, t_x, T) per entry of ``T`` (the customers' observation lengths)."""
    r, alpha, a, b = params
    age = np.asarray(T, dtype=float)
    n = age.size
    rate = rng.gamma(shape=r, scale=1.0 / alpha, size=n)
    dropout = rng.beta(a, b, size=n)
    purchases_until_dropout = rng.geometric(np.clip(dropout, 1e-12, 1.0))
    purchases_in_window = rng.poisson(rate * age)
    x = np.minimum(purchases_until_dropout, purchases_in_window)
    repeat = x > 0
    t_x = np.zeros(n)
    t_x[repeat] = age[repeat] * rng.beta(x[repeat], purchases_in_window[repeat] - x[repeat] + 1)
    return SimulatedHistories(x.astype(float), t_x, age)


def simulate_monetary_value(params: GammaGammaParams, frequency, rng: np.random.Generator) -> np.ndarray:
    """Average repeat-transaction value m for each customer (NaN when x = 0)."""
    p, q, gamma = params
    x = np.asarray(frequency, dtype=float)
    nu = rng.gamma(shape=q, scale=1.0 / gamma, size=x.size)
    repeat = x > 0
    m = np.full(x.size, np.nan)
    m[repeat] = rng.gamma(shape=p * x[repeat], scale=1.0 / nu[repeat]) / x[repeat]
    return m


def simulate_pareto_nbd(params: ParetoNBDParams, T, rng: np.random.Generator) -> SimulatedHistories:
    """One simulated (x, t_x, T) per entry of ``T`` (the customers' observation lengths, in the time unit of
    alpha and beta): the Pareto/NBD story of the module docstring, vectorised."""
    r, alpha, s, beta = params
    age = np.asarray(T, dtype=float)
    n = age.size
    rate = rng.gamma(shape=r, scale=1.0 / alpha, size=n)
    dropout = rng.gamma(shape=s, scale=1.0 / beta, size=n)
    with np.errstate(divide="ignore"):  # a dropout rate that underflows to 0 is a customer who never leaves
        lifetime = rng.standard_exponential(n) / dropout
    observed = np.minimum(lifetime, age)
    x = rng.poisson(rate * observed)
    repeat = x > 0
    t_x = np.zeros(n)
    t_x[repeat] = observed[repeat] * rng.beta(x[repeat], 1.0)
    return SimulatedHistories(x.astype(float), t_x, age)
