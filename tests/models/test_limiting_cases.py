"""The limiting models of BG/NBD and Gamma-Gamma (models/bgnbd_limits.py, models/gamma_gamma_limits.py): each
is the limit of the full model as its parameters grow (or shrink) without bound, checked on the likelihood,
P(alive), the expected purchases and the expected order value; hand-computed values; analytic gradients.

The full model's eq. (10) is evaluated here by its own power series (FHL 2005: 2F1(r+x, b+x; a+b+x-1; z) summed
term by term), because scipy's hyp2f1 returns NaN for parameters of 1e6 and more: that is an independent
computation of the full model at the large parameters the limits need.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

from models import bgnbd, bgnbd_limits, gamma_gamma, gamma_gamma_limits
from models.bgnbd import BGNBDParams
from models.bgnbd_limits import (
    COMMON_DROPOUT,
    COMMON_RATE,
    COMMON_RATE_COMMON_DROPOUT,
    COMMON_RATE_NO_DROPOUT,
    COMMON_RATE_SPLIT_DROPOUT,
    FULL,
    NO_DROPOUT,
    SPLIT_DROPOUT,
    _NegativeMeanLogLikelihood,
)
from models.gamma_gamma import GammaGammaParams
from models.gamma_gamma_limits import COMMON_SPEND, OWN_SPEND
from models.simulation import simulate_bgnbd

LAMBDA, P, R, ALPHA, A, B, PI = 0.03, 0.2, 0.5, 60.0, 0.7, 3.0, 0.15
HISTORIES = (
    np.array([0.0, 1, 2, 5, 20]),
    np.array([0.0, 30, 100, 200, 300]),
    np.array([50.0, 200, 300, 320, 330]),
)
# (x, T, t) for the expected purchases: a newcomer, a first-timer, a regular, a frequent buyer
PROBES = [(0.0, 0.0, 10.0), (0.0, 50.0, 365.0), (2.0, 200.0, 30.0), (20.0, 330.0, 365.0)]


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def eq10_by_series(r, alpha, a, b, t, x, T) -> float:
    """g(x, T, t) of FHL eq. (10) in its original form, (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
    2F1(r+x, b+x; a+b+x-1; z)], z = t/(alpha+T+t), the 2F1 summed term by term (the terms change sign when
    a + b + x < 1)."""
    c, z = a + b + x - 1, t / (alpha + T + t)
    term = total = 1.0
    for n in range(100_000):
        term *= (r + x + n) * (b + x + n) / ((c + n) * (n + 1)) * z
        total += term
        if n > 5 and abs(term) < 1e-17 * abs(total):
            break
    return c / (a - 1) * (1 - math.exp(-(r + x) * math.log1p(t / (alpha + T))) * total)


# (variant, its theta, the full model's (r, alpha, a, b) at scale K)
LIMITS = [
    (COMMON_RATE, [math.log(LAMBDA), math.log(A), math.log(B)], lambda k: (LAMBDA * k, k, A, B)),
    (COMMON_DROPOUT, [math.log(R), math.log(ALPHA), logit(P)], lambda k: (R, ALPHA, P * k, (1 - P) * k)),
    (NO_DROPOUT, [math.log(R), math.log(ALPHA)], lambda k: (R, ALPHA, 1 / k, B)),
    (SPLIT_DROPOUT, [math.log(R), math.log(ALPHA), logit(PI)], lambda k: (R, ALPHA, PI / k, (1 - PI) / k)),
    (COMMON_RATE_COMMON_DROPOUT, [math.log(LAMBDA), logit(P)], lambda k: (LAMBDA * k, k, P * k, (1 - P) * k)),
    (COMMON_RATE_NO_DROPOUT, [math.log(LAMBDA)], lambda k: (LAMBDA * k, k, 1 / k, B)),
    (
        COMMON_RATE_SPLIT_DROPOUT,
        [math.log(LAMBDA), logit(PI)],
        lambda k: (LAMBDA * k, k, PI / k, (1 - PI) / k),
    ),
]


@pytest.mark.parametrize("variant, theta, full_at", LIMITS, ids=[v.name for v, _, _ in LIMITS])
def test_each_limit_is_the_full_model_with_parameters_growing_without_bound(variant, theta, full_at):
    """At K = 1e8 the full model's likelihood, P(alive) and expected purchases equal the limiting model's to
    about 1/K; at K = 1e6 the gap is about 100 times larger: the limit, approached like 1/K."""
    theta = np.array(theta)
    x, t_x, T = HISTORIES
    for k, tolerance in ((1e6, 1e-3), (1e8, 1e-5)):
        full = BGNBDParams(*full_at(k))
        np.testing.assert_allclose(
            bgnbd.log_likelihood_contributions(full, x, t_x, T),
            variant.log_likelihood_contributions(theta, x, t_x, T),
            rtol=tolerance,
        )
        np.testing.assert_allclose(
            bgnbd.probability_alive(full, x, t_x, T),
            variant.probability_alive(theta, x, t_x, T),
            rtol=tolerance,
        )
        for probe_x, probe_T, t in PROBES:
            assert variant.expected_purchases_if_alive(theta, t, probe_x, probe_T) == pytest.approx(
                eq10_by_series(*full, t, probe_x, probe_T), rel=tolerance
            ), (k, probe_x, probe_T, t)


def test_the_series_used_above_is_the_full_models_eq_10():
    for x, T, t in PROBES:
        assert eq10_by_series(R, ALPHA, A, B, t, x, T) == pytest.approx(
            float(bgnbd.expected_purchases_if_alive(BGNBDParams(R, ALPHA, A, B), t, x, T)), rel=1e-12
        )


def test_the_full_variant_is_models_bgnbd():
    x, t_x, T = HISTORIES
    params = BGNBDParams(R, ALPHA, A, B)
    theta = np.log(np.asarray(params))
    np.testing.assert_allclose(
        FULL.log_likelihood_contributions(theta, x, t_x, T),
        bgnbd.log_likelihood_contributions(params, x, t_x, T),
        rtol=1e-13,
    )
    np.testing.assert_allclose(
        FULL.probability_alive(theta, x, t_x, T), bgnbd.probability_alive(params, x, t_x, T), rtol=1e-13
    )
    np.testing.assert_allclose(
        FULL.conditional_expected_purchases(theta, 39.0, x, t_x, T),
        bgnbd.conditional_expected_purchases(params, 39.0, x, t_x, T),
        rtol=1e-13,
    )


def test_common_rate_and_dropout_by_hand():
    """lambda = 0.1 a day, p = 0.2; a customer with x = 2, t_x = 20, T = 30:
    - E[Y(10) | alive] = (1 - e^(-0.1 * 0.2 * 10)) / 0.2 = (1 - e^-0.2) / 0.2 = 0.906346;
    - P(alive) = 1 / (1 + 0.2/0.8 * e^(0.1 * (30 - 20))) = 1 / (1 + 0.25 e) = 0.595391;
    - L = 0.8^2 0.1^2 e^-3 + 0.2 * 0.8 * 0.1^2 e^-2 = 3.18637e-4 + 2.16536e-4, ln L = -7.532919."""
    theta = np.array([math.log(0.1), logit(0.2)])
    assert float(COMMON_RATE_COMMON_DROPOUT.expected_purchases_if_alive(theta, 10.0, 2, 30)) == pytest.approx(
        0.906346, abs=1e-6
    )
    assert float(COMMON_RATE_COMMON_DROPOUT.probability_alive(theta, 2, 20, 30)) == pytest.approx(
        0.595391, abs=1e-6
    )
    assert float(COMMON_RATE_COMMON_DROPOUT.log_likelihood_contributions(theta, 2, 20, 30)) == pytest.approx(
        -7.532919, abs=1e-6
    )
    # A new customer's expected purchases by t: (1 - e^(-lambda p t)) / p, FHL eq. (7) at the common values.
    assert float(COMMON_RATE_COMMON_DROPOUT.expected_purchases(theta, 10.0)) == pytest.approx(
        0.906346, abs=1e-6
    )


def test_poisson_limit_by_hand():
    """No drop-out and a common rate: a Poisson process. lambda = 0.1: E[Y(10)] = 1 for everyone, P(alive) = 1,
    ln L(x = 2, T = 30) = 2 ln 0.1 - 0.1 * 30 = -7.605170."""
    theta = np.array([math.log(0.1)])
    np.testing.assert_allclose(
        COMMON_RATE_NO_DROPOUT.conditional_expected_purchases(
            theta, 10.0, [0, 2, 9], [0, 5, 1], [30, 30, 300]
        ),
        1.0,
    )
    assert float(COMMON_RATE_NO_DROPOUT.log_likelihood_contributions(theta, 2, 20, 30)) == pytest.approx(
        -7.605170, abs=1e-6
    )


def test_split_dropout_by_hand():
    """lambda = 0.1, pi = 0.25: a newcomer alive buys (1 - 0.25) * 0.1 * 10 + 0.25 (1 - e^-1) = 0.908030 in 10
    days; a customer with x = 1 last seen at 5 of 30 days: P(alive) = 1 / (1 + (1/3) e^2.5) = 0.197596; with
    x = 2 the dropping kind is ruled out: P(alive) = 1 and E[Y(10)] = 1."""
    theta = np.array([math.log(0.1), logit(0.25)])
    assert float(COMMON_RATE_SPLIT_DROPOUT.expected_purchases(theta, 10.0)) == pytest.approx(
        0.908030, abs=1e-6
    )
    np.testing.assert_allclose(
        COMMON_RATE_SPLIT_DROPOUT.probability_alive(theta, [1, 2], [5, 5], [30, 30]),
        [0.197596, 1.0],
        atol=1e-6,
    )
    assert float(
        COMMON_RATE_SPLIT_DROPOUT.conditional_expected_purchases(theta, 10.0, 2, 5, 30)
    ) == pytest.approx(1.0)


def test_common_rate_with_beta_dropout_is_the_beta_integral():
    """(a+b+x-1)/(a-1) [1 - 1F1(a-1; a+b+x-1; -lambda t)] = E[(1 - e^(-lambda t p)) / p], p ~ Beta(a, b+x), by
    quadrature, for a below and above 1 and large lambda t."""
    for a, b, x, rate, t in [
        (0.7, 3.0, 0, 0.03, 365.0),
        (0.7, 3.0, 5, 1.0, 365.0),
        (2.5, 10.0, 2, 0.2, 50.0),
    ]:
        c = b + x

        def integrand(p, a=a, c=c, s=rate * t):
            beta_density = np.exp((a - 1) * np.log(p) + (c - 1) * np.log1p(-p) - special.betaln(a, c))
            return -np.expm1(-s * p) / p * beta_density

        expected = integrate.quad(integrand, 0, 1, limit=200, epsabs=0, epsrel=1e-12)[0]
        theta = np.log([rate, a, b])
        assert float(COMMON_RATE.expected_purchases_if_alive(theta, t, x, 100.0)) == pytest.approx(
            expected, rel=1e-10
        )


@pytest.mark.parametrize("variant", bgnbd_limits.VARIANTS[1:], ids=lambda v: v.name)
def test_analytic_gradients_match_finite_differences(variant):
    rng = np.random.default_rng(4)
    x, t_x, T = simulate_bgnbd(BGNBDParams(0.5, 60.0, 0.7, 3.0), rng.uniform(30, 1000, 2000), rng)
    objective = _NegativeMeanLogLikelihood(variant, x, t_x / 1000, T / 1000, np.ones(x.size))
    theta = variant.start(0.5) + 0.1
    value, gradient = objective(theta)
    assert value == pytest.approx(
        -np.mean(variant.log_likelihood_contributions(theta, x, t_x / 1000, T / 1000)), rel=1e-12
    )
    numeric = optimize.approx_fprime(theta, lambda th: objective(th)[0], 1e-7)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-6)


def test_standard_errors_of_a_probability_use_the_logit_scale():
    """p = 0.2 with sd(logit p) = 0.5: se(p) = p (1 - p) 0.5 = 0.08; lambda = 0.1, sd(ln lambda) = 0.1: 0.01."""
    errors = COMMON_RATE_COMMON_DROPOUT.standard_errors(
        np.array([math.log(0.1), logit(0.2)]), np.diag([0.1**2, 0.5**2])
    )
    assert errors == pytest.approx({"lambda": 0.01, "p": 0.08})


# --- Gamma-Gamma -------------------------------------------------------------------------------------------

SPEND_X, SPEND_M = np.array([1.0, 2, 5, 12]), np.array([25.0, 31.5, 28.0, 40.0])


# (variant, its parameters, the full model's (p, q, gamma) at scale K, expected order values of a newcomer and
# of SPEND_X / SPEND_M's repeat buyers)
SPEND_LIMITS = [
    # q = K, gamma = K / nu: everyone's expected order value is p / nu = 6 / 0.2 = 30
    (COMMON_SPEND, [6.0, 0.2], lambda k: (6.0, k, k / 0.2), [30.0] * 5),
    # p = K, gamma = beta / K: a newcomer's is beta / (q - 1) = 90 / 3 = 30, a repeat buyer's their own m
    (OWN_SPEND, [4.0, 90.0], lambda k: (k, 4.0, 90.0 / k), [30.0, *SPEND_M]),
]


@pytest.mark.parametrize("variant, params, full_at, order_values", SPEND_LIMITS, ids=["common", "own"])
def test_each_spend_limit_is_gamma_gamma_with_parameters_growing_without_bound(
    variant, params, full_at, order_values
):
    theta = np.log(params)
    for k, tolerance in ((1e6, 1e-3), (1e8, 1e-5)):
        full = GammaGammaParams(*full_at(k))
        np.testing.assert_allclose(
            gamma_gamma.log_likelihood_contributions(full, SPEND_X, SPEND_M),
            variant.log_likelihood_contributions(theta, SPEND_X, SPEND_M),
            rtol=tolerance,
        )
        np.testing.assert_allclose(
            gamma_gamma.expected_order_value(full, [0, *SPEND_X], [np.nan, *SPEND_M]),
            order_values,
            rtol=tolerance,
        )
    np.testing.assert_allclose(
        variant.expected_order_value(theta, [0, *SPEND_X], [np.nan, *SPEND_M]), order_values, rtol=1e-12
    )


def test_own_spend_likelihood_is_an_inverse_gamma_density():
    q, beta = 4.0, 90.0
    inverse_gamma = q * math.log(beta) - math.lgamma(q) - (q + 1) * math.log(25.0) - beta / 25.0
    assert float(OWN_SPEND.log_likelihood_contributions(np.log([q, beta]), 1, 25.0)) == pytest.approx(
        inverse_gamma
    )


@pytest.mark.parametrize("variant", [COMMON_SPEND, OWN_SPEND], ids=lambda v: v.name)
def test_spend_gradients_match_finite_differences(variant):
    from models.gamma_gamma_limits import _CommonSpendObjective, _OwnSpendObjective

    rng = np.random.default_rng(6)
    x = rng.integers(1, 10, 1000).astype(float)
    m = rng.gamma(6 * x, 1 / (x * 0.2)) / 30
    objective = (_CommonSpendObjective if variant is COMMON_SPEND else _OwnSpendObjective)(
        x, m, np.ones(x.size)
    )
    theta = np.log([3.0, 1.5])
    assert objective(theta)[0] == pytest.approx(
        -np.mean(variant.log_likelihood_contributions(theta, x, m)), rel=1e-12
    )
    central = [(objective(theta + h)[0] - objective(theta - h)[0]) / 2e-6 for h in np.eye(2) * 1e-6]
    np.testing.assert_allclose(objective(theta)[1], central, rtol=1e-6, atol=1e-8)


def test_spend_variants_are_listed_in_the_order_they_are_tried():
    assert [v.name for v in gamma_gamma_limits.VARIANTS] == [
        "gamma_gamma",
        "common_spend",
        "own_spend",
        "constant_spend",
    ]
