"""Choosing among the full models and their limiting cases (models/selection.py), and the minimum-data rule
(models/minimum_data.py): CDNOW keeps the published estimates, customers who do not differ get the limiting
model with finite predictions, too little data gets a reason in words, and nothing raises for the data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models import bgnbd_limits
from models.bgnbd import BGNBDParams
from models.bgnbd_limits import VariantFit
from models.clv import forecast_customers
from models.gamma_gamma import GammaGammaParams
from models.minimum_data import MIN_REPEAT_BUYERS_BGNBD, MIN_REPEAT_BUYERS_GAMMA_GAMMA
from models.selection import (
    FITTED,
    LIMITING_CASE,
    NOT_FITTED,
    _choose,
    fit_purchase_model,
    fit_spend_model,
)
from models.simulation import simulate_bgnbd, simulate_monetary_value


def steady_buyers(n: int = 412, seed: int = 14):
    """Customers who buy every 25-35 days (each their own interval, +-2 days) from a first day in the first two
    years until the as-of day 730, and spend 30 EUR +-10 % an order: more regular than a Poisson process, no
    drop-out, no difference between customers beyond the noise."""
    rng = np.random.default_rng(seed)
    x, t_x, T, m = [], [], [], []
    for first in rng.integers(0, 700, n):
        days = np.arange(first, 731, rng.uniform(25, 35)).astype(int) + rng.integers(-2, 3)
        days = np.unique(np.clip(days, first, 730))
        x.append(len(days) - 1)
        t_x.append(days[-1] - days[0])
        T.append(730 - days[0])
        amounts = 30 * rng.uniform(0.9, 1.1, len(days))
        m.append(amounts[1:].mean() if len(days) > 1 else np.nan)
    return (np.array(v, dtype=float) for v in (x, t_x, T, m))


# --- The full model where customers differ ---------------------------------------------------------------


def test_cdnow_keeps_the_published_bgnbd_and_gamma_gamma(cdnow, cdnow_bgnbd, cdnow_gamma_gamma):
    """FHL (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426 (weeks), log-likelihood -9582.4."""
    purchases = fit_purchase_model(cdnow["frequency"], cdnow["recency"], cdnow["T"], time_unit="weeks")
    assert purchases.status == FITTED and purchases.variant_name == "bg_nbd" and purchases.reason is None
    np.testing.assert_allclose(list(purchases.params.values()), cdnow_bgnbd.params, rtol=1e-12)
    assert [round(v, 3) for v in purchases.params.values()] == [0.243, 4.414, 0.793, 2.426]
    assert round(purchases.log_likelihood, 1) == -9582.4
    # a proper interior maximum: the limits are not needed (nor fitted)
    assert [c.variant for c in purchases.candidates] == ["bg_nbd"]
    np.testing.assert_allclose(
        list(purchases.standard_errors.values()), cdnow_bgnbd.standard_errors, rtol=1e-12
    )

    spend = fit_spend_model(cdnow["frequency"], cdnow["monetary_value"])
    assert spend.status == FITTED and spend.variant_name == "gamma_gamma" and spend.n_customers == 946
    np.testing.assert_allclose(list(spend.params.values()), cdnow_gamma_gamma.params, rtol=1e-12)


def test_predictions_of_the_chosen_full_model_equal_the_plain_fit(cdnow, cdnow_bgnbd, cdnow_gamma_gamma):
    x, t_x, T, m = (cdnow[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    chosen = forecast_customers(
        fit_purchase_model(x, t_x, T, time_unit="weeks"), fit_spend_model(x, m), x, t_x, T, m
    )
    plain = forecast_customers(cdnow_bgnbd, cdnow_gamma_gamma, x, t_x, T, m)
    for name in ("probability_alive", "expected_purchases", "clv", "clv_lower", "expected_purchases_upper"):
        np.testing.assert_allclose(getattr(chosen, name), getattr(plain, name), rtol=1e-10)


# --- Customers who do not differ: the limiting cases -----------------------------------------------------


def test_steady_buyers_get_a_poisson_process_with_finite_predictions():
    """The 412 steady buyers: the maximum lies where r, alpha grow without bound and nobody drops out, so the
    published model is the Poisson process. Its rate is the MLE sum(x) / sum(T), by hand; every customer is
    alive and expects lambda * 365 purchases next year, about 12 (a purchase every 30 days)."""
    x, t_x, T, m = steady_buyers()
    fit = fit_purchase_model(x, t_x, T, time_unit="days")
    assert fit.status == LIMITING_CASE and fit.variant_name == "common_rate_no_dropout"
    assert "common rate" in fit.reason
    assert fit.params["lambda"] == pytest.approx(x.sum() / T.sum(), rel=1e-9)
    assert 1 / fit.params["lambda"] == pytest.approx(30, rel=0.1)
    np.testing.assert_array_equal(fit.probability_alive(x, t_x, T), 1.0)
    forecast = forecast_customers(fit, fit_spend_model(x, m), x, t_x, T, m, purchase_horizon=365.0)
    np.testing.assert_allclose(forecast.expected_purchases, 365 * fit.params["lambda"], rtol=1e-12)
    for name in ("expected_purchases_lower", "expected_purchases_upper", "clv", "clv_lower", "clv_upper"):
        assert np.all(np.isfinite(getattr(forecast, name))), name
    assert np.all(forecast.clv_lower < forecast.clv) and np.all(forecast.clv < forecast.clv_upper)
    # The full model was tried and could not converge: its maximum is on the boundary.
    assert not fit.candidates[0].converged


def test_a_shop_without_heterogeneity_recovers_the_common_rate_and_dropout():
    """5,000 customers simulated with one purchase rate (1/30 a day) and one drop-out probability (5 %): a
    common-rate model is chosen, its rate within 4 standard errors of the truth and its mean drop-out
    probability within 10 % of 5 %. (Sampling noise lets a Beta of large but finite a, b fit a hair better than
    one common p, as it should: the choice is by likelihood.)"""
    rng = np.random.default_rng(30)
    k = 1e9
    truth = BGNBDParams(k / 30, k, 0.05 * k, 0.95 * k)
    x, t_x, T = simulate_bgnbd(truth, rng.integers(30, 1095, 5000).astype(float), rng)
    fit = fit_purchase_model(x, np.minimum(np.ceil(t_x), T), T, time_unit="days")
    assert fit.status == LIMITING_CASE and fit.variant_name in ("common_rate", "common_rate_common_dropout")
    assert abs(fit.params["lambda"] - 1 / 30) < 4 * fit.standard_errors["lambda"]
    mean_dropout = fit.params.get("p") or fit.params["a"] / (fit.params["a"] + fit.params["b"])
    assert mean_dropout == pytest.approx(0.05, rel=0.1)
    assert fit.has_covariance and np.isfinite(fit.conditional_expected_purchases(365.0, x, t_x, T)).all()


def test_one_price_gives_the_constant_spend():
    x = np.array([0, 1, 2, 5, 3] * 10, dtype=float)
    m = np.where(x > 0, 29.9, np.nan)
    fit = fit_spend_model(x, m)
    assert fit.status == LIMITING_CASE and fit.variant_name == "constant_spend"
    assert fit.params == {"order_value": pytest.approx(29.9)} and fit.standard_errors == {"order_value": 0.0}
    np.testing.assert_allclose(fit.expected_order_value([0, 1, 7], [np.nan, 29.9, 29.9]), 29.9)


def test_baskets_that_do_not_differ_between_customers_give_the_common_spend():
    """2,000 repeat buyers whose orders are Gamma(20, nu = 2/3): q and gamma run off together; the common-spend
    model is chosen and its p / nu is the population mean, 30."""
    rng = np.random.default_rng(20)
    x = rng.integers(1, 12, 2000).astype(float)
    m = rng.gamma(20 * x, 1 / (x * 20 / 30))
    fit = fit_spend_model(x, m)
    assert fit.status == LIMITING_CASE and fit.variant_name == "common_spend"
    assert fit.params["p"] / fit.params["nu"] == pytest.approx(30, rel=0.01)
    np.testing.assert_allclose(
        fit.expected_order_value([0, 1, 11], [np.nan, 10.0, 90.0]), fit.params["p"] / fit.params["nu"]
    )


def test_each_customer_always_spending_the_same_gives_own_spend():
    """Each repeat buyer's amount is fixed (a subscription at their own price), amounts differ between
    customers: gamma -> 0 and p -> infinity; a repeat buyer's expected order value is their own amount. (With a
    truth on the boundary, sampling puts the maximum inside about half the time, where Gamma-Gamma is rightly
    kept; this seed draws a sample whose maximum is on the boundary.)"""
    rng = np.random.default_rng(22)
    x = rng.integers(1, 12, 500).astype(float)
    m = 1 / rng.gamma(4.0, 1 / 90.0, 500)
    fit = fit_spend_model(x, m)
    assert fit.status == LIMITING_CASE and fit.variant_name == "own_spend"
    np.testing.assert_allclose(fit.expected_order_value(x, m), m)
    assert float(fit.expected_order_value(0, np.nan)) == pytest.approx(
        fit.params["p_gamma"] / (fit.params["q"] - 1)
    )


def test_intervals_of_a_constant_spend_come_from_the_purchases_alone():
    x, t_x, T, _ = steady_buyers()
    spend = fit_spend_model(x, np.where(x > 0, 29.9, np.nan))
    forecast = forecast_customers(
        fit_purchase_model(x, t_x, T, time_unit="days"), spend, x, t_x, T, np.where(x > 0, 29.9, np.nan)
    )
    np.testing.assert_allclose(
        forecast.clv_upper / forecast.clv,
        forecast.expected_purchases_upper / forecast.expected_purchases,
        rtol=1e-3,
    )


# --- Too little data, unusable data: not fitted, with the reason -------------------------------------------


def test_too_few_repeat_buyers_is_not_fitted_and_says_so():
    assert (MIN_REPEAT_BUYERS_BGNBD, MIN_REPEAT_BUYERS_GAMMA_GAMMA) == (
        50,
        10,
    )  # benchmarks/minimum_history.py
    x = np.array([1, 2, 1] + [0] * 9, dtype=float)
    fit = fit_purchase_model(x, np.where(x > 0, 20.0, 0.0), np.full(12, 100.0), time_unit="days")
    assert fit.status == NOT_FITTED and fit.variant is None and fit.params == {}
    assert fit.reason == (
        f"BG/NBD needs repeat purchases: 3 of 12 customers bought on two or more days, at least "
        f"{MIN_REPEAT_BUYERS_BGNBD} are needed for stable predictions"
    )
    spend = fit_spend_model(x, np.where(x > 0, 30.0, np.nan))
    assert spend.status == NOT_FITTED and spend.reason == (
        f"Gamma-Gamma needs repeat purchases with a value: 3 of 12 customers have one, at least "
        f"{MIN_REPEAT_BUYERS_GAMMA_GAMMA} are needed for a stable expected order value"
    )


@pytest.mark.parametrize(
    "frequency, recency, T, reason",
    [
        ([], [], [], "BG/NBD needs customers: nobody has purchased yet"),
        (
            [0.0] * 25,
            [0.0] * 25,
            [0.0] * 25,
            "all purchases of the 25 customers are on one day, the as-of date: BG/NBD needs time between purchases",
        ),
        ([0.0] * 25, [0.0] * 25, [40.0] * 25, "BG/NBD needs repeat purchases: 0 of 25 customers"),
        (
            [1.0] * 60 + [0.0] * 40,
            [10.0] * 60 + [0.0] * 40,
            [200.0] * 100,
            (
                "BG/NBD needs customers who bought on three or more days to tell drop-out from the purchase "
                "rate: none of the 100 customers did (60 bought on two days)"
            ),
        ),
        ([1.0, -1.0], [5.0, 3.0], [10.0, 20.0], "negative"),
        ([1.0, 2.0], [5.0, np.nan], [10.0, 20.0], "missing or infinite"),
    ],
)
def test_unusable_histories_are_not_fitted_never_raised(frequency, recency, T, reason):
    fit = fit_purchase_model(frequency, recency, T, time_unit="days")
    assert fit.status == NOT_FITTED and reason in fit.reason
    assert not fit.is_fitted and math.isnan(fit.log_likelihood)


def test_unusable_spend_is_not_fitted_never_raised():
    assert fit_spend_model([], []).reason.startswith(
        "Gamma-Gamma needs repeat purchases with a value: 0 of 0"
    )
    assert (
        fit_spend_model([1, 2], [10.0]).reason
        == "frequency, monetary value and weights have different lengths"
    )
    # repeat buyers without a positive value are left out, and counted out
    x = np.ones(40)
    m = np.r_[np.full(5, 30.0), np.zeros(35)]
    assert "5 of 40 customers have one" in fit_spend_model(x, m).reason


def test_below_the_minimum_the_fit_can_still_be_forced_for_the_study():
    x, t_x, T, _ = steady_buyers(n=20)
    assert fit_purchase_model(x, t_x, T, time_unit="days").status == NOT_FITTED
    assert fit_purchase_model(x, t_x, T, time_unit="days", apply_minimum_data=False).is_fitted


# --- The choice ---------------------------------------------------------------------------------------------


def _fake(variant, log_likelihood, converged, message="converged"):
    k = len(variant.parameters)
    return VariantFit(variant, np.zeros(k), np.eye(k), log_likelihood, converged, message)


def test_the_highest_likelihood_among_converged_models_is_chosen_the_full_one_on_ties():
    full, common = bgnbd_limits.FULL, bgnbd_limits.COMMON_RATE
    poisson = bgnbd_limits.COMMON_RATE_NO_DROPOUT
    chosen, _ = _choose([_fake(full, -100.0, True), _fake(common, -100.0 + 1e-8, True)], 1000)
    assert chosen.variant is full  # within LIKELIHOOD_TIE per customer: the full model
    chosen, _ = _choose([_fake(full, -100.0, True), _fake(common, -99.0, True)], 1000)
    assert chosen.variant is common  # a boundary higher than an interior local maximum
    chosen, _ = _choose(
        [
            _fake(full, -99.99, False, "at the bound"),
            _fake(common, -100.0, True),
            _fake(poisson, -120.0, True),
        ],
        1000,
    )
    assert chosen.variant is common


def test_a_significantly_better_point_no_model_reaches_means_not_fitted():
    """The full model drops one parameter to common_rate: chi2(0.95, 1) / 2 = 1.92, so a non-converged full fit
    1.5 above it is within sampling noise, 3.0 above rejects it. Against the Poisson process (3 parameters
    fewer) the allowance is chi2(0.95, 3) / 2 = 3.91."""
    full, common, poisson = bgnbd_limits.FULL, bgnbd_limits.COMMON_RATE, bgnbd_limits.COMMON_RATE_NO_DROPOUT
    chosen, reason = _choose([_fake(full, -98.5, False, "gradient"), _fake(common, -100.0, True)], 1000)
    assert chosen.variant is common and reason is None
    chosen, reason = _choose([_fake(full, -97.0, False, "gradient"), _fake(common, -100.0, True)], 1000)
    assert chosen is None and "bg_nbd reaches a log-likelihood 3.00 above common_rate (the best" in reason
    chosen, reason = _choose([_fake(full, -97.0, False, "gradient"), _fake(poisson, -100.0, True)], 1000)
    assert chosen.variant is poisson
    chosen, reason = _choose([_fake(full, -95.0, False, "gradient"), _fake(poisson, -100.0, True)], 1000)
    assert chosen is None
    chosen, reason = _choose([_fake(full, -97.0, False, "no Hessian")], 1000)
    assert chosen is None and reason == "bg_nbd: no Hessian"


def test_the_choice_is_deterministic():
    x, t_x, T, _ = steady_buyers()
    first = fit_purchase_model(x, t_x, T, time_unit="days")
    second = fit_purchase_model(x, t_x, T, time_unit="days")
    assert first.variant_name == second.variant_name and first.params == second.params
    assert first.candidates == second.candidates


def test_simulated_heterogeneous_shop_keeps_the_full_model():
    rng = np.random.default_rng(8)
    x, t_x, T = simulate_bgnbd(
        BGNBDParams(0.9, 20.0, 0.8, 9.0), rng.integers(30, 1095, 5000).astype(float), rng
    )
    fit = fit_purchase_model(x, np.minimum(np.ceil(t_x), T), T, time_unit="days")
    assert fit.status == FITTED and fit.variant_name == "bg_nbd"
    spend = fit_spend_model(x, simulate_monetary_value(GammaGammaParams(6.0, 4.0, 30.0), x, rng))
    assert spend.status == FITTED and spend.variant_name == "gamma_gamma"
