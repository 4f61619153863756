"""Gamma-Gamma spend model: equality with lifetimes' GammaGammaFitter on CDNOW, recovery, the independence
check, and unfittable data."""

from __future__ import annotations

import numpy as np
import pytest

from models.errors import ModelFitError
from models.gamma_gamma import (
    GammaGammaParams,
    expected_order_value,
    fit_gamma_gamma,
    frequency_monetary_correlation,
    log_likelihood_contributions,
)
from models.simulation import simulate_monetary_value


def test_cdnow_estimates_equal_lifetimes(cdnow_gamma_gamma, lifetimes_gamma_gamma):
    """lifetimes (penalizer_coef=0) on the same repeat buyers; both near p = 6.25, q = 3.74, gamma = 15.44
    (lifetimes' documentation for CDNOW)."""
    fit = cdnow_gamma_gamma
    assert fit.converged, fit.message
    assert fit.n_customers == 946  # REFERENCE.md: 946 repeat buyers
    np.testing.assert_allclose(fit.params, lifetimes_gamma_gamma.params_.to_numpy(), rtol=1e-4)
    np.testing.assert_allclose(fit.params, [6.25, 3.74, 15.44], atol=0.01)
    np.testing.assert_allclose(
        fit.standard_errors, lifetimes_gamma_gamma.standard_errors_.to_numpy(), rtol=1e-3
    )


def test_expected_order_value_equals_lifetimes(cdnow, cdnow_gamma_gamma, lifetimes_gamma_gamma_with):
    reference = lifetimes_gamma_gamma_with(cdnow_gamma_gamma.params)
    x = cdnow["frequency"].to_numpy()
    m = cdnow["monetary_value"].fillna(0.0).to_numpy()  # lifetimes' convention: m = 0 when x = 0
    np.testing.assert_allclose(
        cdnow_gamma_gamma.expected_order_value(x, cdnow["monetary_value"].to_numpy()),
        reference.conditional_expected_average_profit(x, m),
        rtol=1e-9,
    )


def test_expected_order_value_shrinks_towards_the_population_mean(cdnow_gamma_gamma):
    fit = cdnow_gamma_gamma
    population = fit.population_mean_order_value
    # no repeat purchase: the population mean, whatever m says (NaN allowed)
    assert expected_order_value(fit.params, 0, np.nan) == pytest.approx(population)
    # more repeat purchases: closer to the customer's own average
    values = expected_order_value(fit.params, np.array([1, 5, 50]), np.full(3, 100.0))
    assert population < values[0] < values[1] < values[2] < 100.0


def test_recovers_known_parameters_from_simulated_spend():
    truth = GammaGammaParams(p=6.0, q=4.0, gamma=15.0)
    rng = np.random.default_rng(2005)
    frequency = rng.integers(1, 10, 20_000).astype(float)
    m = simulate_monetary_value(truth, frequency, rng)
    fit = fit_gamma_gamma(frequency, m)
    assert fit.converged, fit.message
    estimate, se = np.array(fit.params), np.array(fit.standard_errors)
    assert np.all(np.abs(estimate - np.array(truth)) < 4 * se), (estimate, se)
    np.testing.assert_allclose(estimate, truth, rtol=0.15)


def test_customers_without_repeat_purchase_are_left_out_of_the_fit(cdnow, cdnow_gamma_gamma):
    repeat = cdnow[cdnow["frequency"] > 0]
    only_repeat = fit_gamma_gamma(repeat["frequency"], repeat["monetary_value"])
    assert only_repeat.params == cdnow_gamma_gamma.params


def test_independence_check_on_cdnow(cdnow):
    """FHL (2005, JMR) report a frequency/monetary correlation of 0.11 on CDNOW: independence is plausible."""
    check = frequency_monetary_correlation(cdnow["frequency"], cdnow["monetary_value"])
    assert check.n_repeat_customers == 946
    assert check.correlation == pytest.approx(0.11, abs=0.01)
    assert not check.is_violated


def test_independence_check_flags_a_strong_correlation():
    rng = np.random.default_rng(1)
    frequency = rng.integers(1, 20, 500).astype(float)
    m = 10 * frequency + rng.normal(0, 5, 500)
    check = frequency_monetary_correlation(frequency, m)
    assert check.correlation > 0.9 and check.is_violated


@pytest.mark.parametrize(
    "frequency, monetary_value, message",
    [
        ([], [], "empty"),
        ([0, 0], [np.nan, np.nan], "none of the 2 customers made a repeat purchase"),
        ([1, 2], [10.0, -5.0], "zero or negative average repeat-order value"),
        ([1, 2], [10.0, np.nan], "missing"),
        ([1, -2], [10.0, 5.0], "whole number >= 0"),
    ],
)
def test_unfittable_data_raises_a_clear_model_fit_error(frequency, monetary_value, message):
    with pytest.raises(ModelFitError, match=message) as raised:
        fit_gamma_gamma(frequency, monetary_value)
    assert str(raised.value).startswith("cannot fit Gamma-Gamma: ")


def test_analytic_gradient_matches_finite_differences(cdnow):
    from scipy import optimize

    from models.gamma_gamma import _NegativeMeanLogLikelihood

    repeat = cdnow[cdnow["frequency"] > 0]
    m = repeat["monetary_value"].to_numpy()
    objective = _NegativeMeanLogLikelihood(repeat["frequency"].to_numpy(), m / m.mean(), np.ones(len(repeat)))
    theta = np.log([3.0, 2.0, 1.5])
    numeric = optimize.approx_fprime(theta, lambda th: objective(th)[0], 1e-7)
    np.testing.assert_allclose(objective(theta)[1], numeric, rtol=1e-5, atol=1e-8)
    # and the objective is the mean of the public per-customer log-likelihood
    p, q, gamma = np.exp(theta)
    assert objective(theta)[0] == pytest.approx(
        -np.mean(
            log_likelihood_contributions(GammaGammaParams(p, q, gamma), repeat["frequency"], m / m.mean())
        ),
        rel=1e-12,
    )


def test_unidentified_spend_returns_an_unconverged_fit_not_garbage_silently():
    """Every repeat buyer spending exactly the same: no spread between customers, q runs to its bound."""
    fit = fit_gamma_gamma([1, 2, 3, 4, 5] * 20, [10.0] * 100)
    assert not fit.converged
    assert "not identified" in fit.message and "bound" in fit.message
    assert np.isnan(fit.covariance).all()
