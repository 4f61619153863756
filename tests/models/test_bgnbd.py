"""BG/NBD: published CDNOW numbers, equality with lifetimes, recovery of known values, numerics, errors."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, stats

from models.bgnbd import (
    BGNBDParams,
    _NegativeMeanLogLikelihood,
    conditional_expected_purchases,
    expected_purchases,
    fit_bgnbd,
    log_likelihood,
    log_likelihood_contributions,
    probability_alive,
)
from models.distinct import distinct_rows
from models.errors import ModelFitError
from models.simulation import simulate_bgnbd

PUBLISHED = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
PRECISE = BGNBDParams(r=0.242593, alpha=4.413532, a=0.792886, b=2.425754)  # REFERENCE.md


# --- Published values: Fader, Hardie & Lee (2005), Marketing Science 24(2), CDNOW 1/10 sample ---------------


def test_cdnow_estimates_match_the_paper_to_three_decimals(cdnow_bgnbd):
    """FHL (2005) section 4: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4."""
    fit = cdnow_bgnbd
    assert fit.converged, fit.message
    assert fit.time_unit == "weeks"
    assert fit.n_customers == 2357
    np.testing.assert_allclose(np.round(fit.params, 3), PUBLISHED, atol=1e-12)
    assert round(fit.log_likelihood, 1) == -9582.4


def test_cdnow_estimates_match_the_precise_reference_on_the_published_summary():
    """REFERENCE.md: r=0.242593, alpha=4.413532, a=0.792886, b=2.425754 — the maximum on FHL's own summary
    (x, t_x, T rounded to 2 decimals, shipped with lifetimes as cdnow_customers_summary.csv). Our summary
    from the raw transactions has unrounded times and lands 1e-5 away, hence this test on the shipped one."""
    import lifetimes

    summary = pd.read_csv(
        os.path.join(os.path.dirname(lifetimes.__file__), "datasets", "cdnow_customers_summary.csv")
    )
    fit = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"], time_unit="weeks")
    np.testing.assert_allclose(fit.params, PRECISE, rtol=1e-6)


def test_cdnow_new_customer_expected_purchases_match_the_paper(cdnow_bgnbd):
    """FHL (2005) eq. (9) at t = 1, 3, 32, 78 weeks: 0.0532, 0.1506, 1.0437, 1.8576 (REFERENCE.md).

    At the maximum-likelihood parameters the first three agree to the 4 published decimals; t = 78 gives
    1.85797, 4e-4 above the published 1.8576. The closed form is checked here against a direct numerical
    integration of E[X(t) | lambda, p] = (1 - exp(-lambda p t)) / p (FHL eq. 7) over the Gamma and Beta
    mixing distributions, which gives 1.85797 too, so the published fourth value is taken as rounded
    differently and tested at 5e-4.
    """
    times = np.array([1.0, 3.0, 32.0, 78.0])
    expected = expected_purchases(PRECISE, times)
    np.testing.assert_allclose(expected[:3], [0.0532, 0.1506, 1.0437], atol=5e-5)
    assert expected[3] == pytest.approx(1.8576, abs=5e-4)
    r, alpha, a, b = PRECISE
    for t, value in zip(times, expected, strict=True):
        direct, _ = integrate.quad(
            lambda p, t=t: (1 - (alpha / (alpha + p * t)) ** r) / p * stats.beta.pdf(p, a, b),
            0,
            1,
            limit=500,
            epsabs=1e-13,
            epsrel=1e-12,
        )
        assert value == pytest.approx(direct, rel=1e-9)
    np.testing.assert_allclose(cdnow_bgnbd.expected_purchases(times), expected, rtol=1e-4)


def test_cdnow_conditional_expectation_matches_the_paper(cdnow_bgnbd):
    """FHL (2005) eq. (10): x = 2, t_x = 30.43, T = 38.86, next 39 weeks -> 1.226."""
    assert round(float(conditional_expected_purchases(PUBLISHED, 39.0, 2, 30.43, 38.86)), 3) == 1.226
    assert round(float(cdnow_bgnbd.conditional_expected_purchases(39.0, 2, 30.43, 38.86)), 3) == 1.226


# --- Equality with lifetimes' BetaGeoFitter -------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        PUBLISHED,
        BGNBDParams(0.5, 60.0, 0.7, 3.0),
        BGNBDParams(2.0, 10.0, 1.8, 0.6),
        BGNBDParams(0.1, 1.0, 4.0, 8.0),
    ],
)
def test_predictions_equal_lifetimes_formulas_with_identical_parameters(params, cdnow, lifetimes_bgnbd_with):
    x, t_x, T = cdnow["frequency"].to_numpy(), cdnow["recency"].to_numpy(), cdnow["T"].to_numpy()
    reference = lifetimes_bgnbd_with(params)
    for t in (1.0, 13.0, 39.0, 104.0):
        np.testing.assert_allclose(
            conditional_expected_purchases(params, t, x, t_x, T),
            reference.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T),
            rtol=1e-6,
        )
    times = np.array([0.5, 1.0, 3.0, 32.0, 78.0, 500.0])
    np.testing.assert_allclose(
        expected_purchases(params, times), reference.expected_number_of_purchases_up_to_time(times), rtol=1e-6
    )
    np.testing.assert_allclose(
        probability_alive(params, x, t_x, T), reference.conditional_probability_alive(x, t_x, T), rtol=1e-6
    )


def test_fit_and_predictions_equal_lifetimes_own_fit(cdnow, cdnow_bgnbd, lifetimes_bgnbd):
    """Both libraries fitted independently on the same arrays agree to 1e-6 relative."""
    np.testing.assert_allclose(cdnow_bgnbd.params, lifetimes_bgnbd.params_.to_numpy(), rtol=1e-6)
    x, t_x, T = cdnow["frequency"].to_numpy(), cdnow["recency"].to_numpy(), cdnow["T"].to_numpy()
    np.testing.assert_allclose(
        cdnow_bgnbd.conditional_expected_purchases(39.0, x, t_x, T),
        lifetimes_bgnbd.conditional_expected_number_of_purchases_up_to_time(39.0, x, t_x, T),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        cdnow_bgnbd.probability_alive(x, t_x, T),
        lifetimes_bgnbd.conditional_probability_alive(x, t_x, T),
        rtol=1e-6,
    )
    times = np.array([1.0, 39.0, 78.0])
    np.testing.assert_allclose(
        cdnow_bgnbd.expected_purchases(times),
        lifetimes_bgnbd.expected_number_of_purchases_up_to_time(times),
        rtol=1e-6,
    )
    # Standard errors: lifetimes also inverts the Hessian in log-parameter space (autograd), then uses the
    # delta method; ours is a numerical Hessian, so agreement is to the finite-difference error.
    np.testing.assert_allclose(
        cdnow_bgnbd.standard_errors, lifetimes_bgnbd.standard_errors_.to_numpy(), rtol=1e-3
    )


# --- The likelihood and the fit --------------------------------------------------------------------------


def test_analytic_gradient_matches_finite_differences(cdnow):
    objective = _NegativeMeanLogLikelihood(
        cdnow["frequency"].to_numpy(),
        cdnow["recency"].to_numpy() / 40,
        cdnow["T"].to_numpy() / 40,
        np.ones(len(cdnow)),
    )
    theta = np.log([0.3, 0.2, 0.9, 2.0])
    _, gradient = objective(theta)
    numeric = optimize.approx_fprime(theta, lambda th: objective(th)[0], 1e-7)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-8)


def test_weighted_distinct_fit_equals_the_per_customer_fit(cdnow, cdnow_bgnbd):
    """The fit on distinct (x, t_x, T) with counts as weights is the per-customer maximum likelihood."""
    x, t_x, T = cdnow["frequency"].to_numpy(), cdnow["recency"].to_numpy(), cdnow["T"].to_numpy()
    distinct = distinct_rows(x, t_x, T)
    assert len(distinct.counts) < len(x) / 2  # CDNOW has 1,016 distinct histories for 2,357 customers
    weighted = fit_bgnbd(*distinct.columns, weights=distinct.counts, time_unit="weeks")
    np.testing.assert_allclose(weighted.params, cdnow_bgnbd.params, rtol=1e-9)
    assert weighted.log_likelihood == pytest.approx(cdnow_bgnbd.log_likelihood, rel=1e-12)
    assert weighted.n_customers == cdnow_bgnbd.n_customers
    np.testing.assert_allclose(weighted.covariance, cdnow_bgnbd.covariance, rtol=1e-4)

    # An independent per-customer maximisation (no collapsing, no analytic gradient) finds the same optimum.
    def negative(theta):
        return -log_likelihood(BGNBDParams(*np.exp(theta)), x, t_x, T)

    direct = optimize.minimize(
        negative,
        np.log([1.0, 10.0, 1.0, 1.0]),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20000, "maxfev": 20000},
    )
    np.testing.assert_allclose(np.exp(direct.x), cdnow_bgnbd.params, rtol=1e-4)


@pytest.mark.parametrize("many_columns", [False, True])
def test_distinct_rows_equals_numpy_unique_over_rows(many_columns):
    """Also with 60 columns of three values each: 3^60 combinations, more than one int64 key can number
    (their product wrapped around in int64 once, and rows were merged that differ)."""
    rng = np.random.default_rng(3)
    columns = (
        rng.integers(0, 5, 5000).astype(float),
        rng.integers(0, 30, 5000) / 7,
        rng.integers(0, 40, 5000) / 7,
    ) if not many_columns else tuple(rng.integers(0, 3, 300).astype(float) for _ in range(60))
    ours = distinct_rows(*columns)
    rows, inverse, counts = np.unique(
        np.column_stack(columns), axis=0, return_inverse=True, return_counts=True
    )
    np.testing.assert_array_equal(np.column_stack(ours.columns), rows)
    np.testing.assert_array_equal(ours.inverse, inverse.ravel())
    np.testing.assert_array_equal(ours.counts, counts)


def test_fit_is_the_same_in_days_and_weeks(cdnow, cdnow_bgnbd):
    """Only alpha carries the time unit: it scales by 7, the other parameters do not move."""
    in_days = fit_bgnbd(cdnow["frequency"], cdnow["recency"] * 7, cdnow["T"] * 7, time_unit="days")
    assert in_days.time_unit == "days"
    expected = np.array(cdnow_bgnbd.params) * [1, 7, 1, 1]
    np.testing.assert_allclose(in_days.params, expected, rtol=1e-7)


@pytest.mark.parametrize(
    "truth, n_customers",
    [(BGNBDParams(0.25, 4.0, 0.8, 2.5), 20_000), (BGNBDParams(1.5, 10.0, 2.0, 6.0), 20_000)],
)
def test_recovers_known_parameters_from_simulated_customers(truth, n_customers):
    """20,000 customers simulated from known parameters (weeks, observed 10-60 weeks): every estimate lies
    within 4 of its own standard errors of the truth, and within 20% of it."""
    rng = np.random.default_rng(20050101)
    histories = simulate_bgnbd(truth, rng.uniform(10, 60, n_customers), rng)
    fit = fit_bgnbd(*histories, time_unit="weeks")
    assert fit.converged, fit.message
    estimate, truth_array, se = np.array(fit.params), np.array(truth), np.array(fit.standard_errors)
    assert np.all(np.abs(estimate - truth_array) < 4 * se), (estimate, truth_array, se)
    np.testing.assert_allclose(estimate, truth_array, rtol=0.2)


def test_log_likelihood_stays_finite_at_very_high_frequency():
    """x in the thousands: Gamma functions, powers and the two-term sum are all taken in logs."""
    params = BGNBDParams(0.5, 60.0, 0.7, 3.0)
    x = np.array([1000.0, 5000.0, 20000.0, 20000.0])
    t_x = np.array([900.0, 1000.0, 1095.0, 1090.0])
    T = np.array([1000.0, 1095.0, 1095.0, 1095.0])
    assert np.all(np.isfinite(log_likelihood_contributions(params, x, t_x, T)))
    assert np.all(np.isfinite(probability_alive(params, x, t_x, T)))
    predicted = conditional_expected_purchases(params, 365.0, x, t_x, T)
    assert np.all(np.isfinite(predicted)) and np.all(predicted >= 0)
    # 20,000 purchases in 3 years, the last one today: alive, and buying at most at the same pace
    # (18 a day) next year, less the small chance of dropping out along the way.
    assert predicted[2] == pytest.approx(20000 / 1095 * 365, rel=0.5) and predicted[2] < 20000 / 1095 * 365
    # The same customer silent for the last 5 days has missed ~90 expected purchases: almost surely gone.
    assert probability_alive(params, x, t_x, T)[3] < 1e-20

    rng = np.random.default_rng(5)
    histories = simulate_bgnbd(params, rng.uniform(30, 1095, 5000), rng)
    fit = fit_bgnbd(
        np.concatenate([histories.frequency, x]),
        np.concatenate([histories.recency, t_x]),
        np.concatenate([histories.T, T]),
        time_unit="days",
    )
    assert fit.converged and np.isfinite(fit.log_likelihood)


def test_fit_is_deterministic(cdnow):
    first = fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"], time_unit="weeks")
    second = fit_bgnbd(cdnow["frequency"], cdnow["recency"], cdnow["T"], time_unit="weeks")
    assert first == second


# --- Data that cannot be fitted -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frequency, recency, T, message",
    [
        ([], [], [], "empty"),
        ([0, 0, 0], [0, 0, 0], [10, 20, 30], "none of the 3 customers made a repeat purchase"),
        ([1, 2, 0], [0, 0, 0], [10, 20, 30], "every recency t_x is 0"),
        ([1, -1, 0], [5, 3, 0], [10, 20, 30], "negative"),
        ([1, 2, 0], [15, 3, 0], [10, 20, 30], "recency t_x greater than their age T"),
        ([1, 0, 0], [5, 3, 0], [10, 20, 30], "no repeat purchase but a non-zero recency"),
        ([1.5, 2, 0], [5, 3, 0], [10, 20, 30], "not a whole number"),
        ([1, 2, 0], [5, np.nan, 0], [10, 20, 30], "missing or infinite"),
        ([1, 2], [5, 3], [10, 20, 30], "different lengths"),
    ],
)
def test_unfittable_data_raises_a_clear_model_fit_error(frequency, recency, T, message):
    with pytest.raises(ModelFitError, match=message) as raised:
        fit_bgnbd(frequency, recency, T, time_unit="weeks")
    assert str(raised.value).startswith("cannot fit BG/NBD: ")


def test_unknown_time_unit_is_rejected():
    with pytest.raises(ValueError, match="time_unit"):
        fit_bgnbd([1, 0], [3, 0], [5, 5], time_unit="fortnights")


def test_unidentified_dropout_returns_an_unconverged_fit_with_a_message():
    """Every customer bought on the as-of day: nothing shows dropout, so a heads for its lower bound (where
    L-BFGS-B stops on the way depends on the machine's floating point). The fit comes back (the caller
    decides), flagged as not identified, without a covariance."""
    rng = np.random.default_rng(0)
    T = rng.uniform(10, 50, 500)
    fit = fit_bgnbd(rng.integers(1, 5, 500), T, T, time_unit="weeks")
    assert not fit.converged
    assert "not identified" in fit.message
    assert np.isnan(fit.covariance).all()
