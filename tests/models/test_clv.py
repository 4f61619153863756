"""CLV (discounted monthly sum), the per-customer forecast and its parameter-uncertainty intervals."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd

import models.bgnbd as bgnbd_module
import models.clv as clv_module
from models import bgnbd_limits
from models.bgnbd import BGNBDParams, conditional_expected_purchases, fit_bgnbd
from models.clv import customer_lifetime_value, discounted_expected_purchases, forecast_customers
from models.gamma_gamma import GammaGammaParams, expected_order_value, fit_gamma_gamma
from models.simulation import simulate_bgnbd, simulate_monetary_value


def _arrays(cdnow):
    return (
        cdnow["frequency"].to_numpy(),
        cdnow["recency"].to_numpy(),
        cdnow["T"].to_numpy(),
        cdnow["monetary_value"].to_numpy(),
    )


def test_clv_equals_lifetimes_with_the_same_month_length(
    cdnow, cdnow_bgnbd, cdnow_gamma_gamma, lifetimes_bgnbd_with, lifetimes_gamma_gamma_with
):
    """lifetimes' customer_lifetime_value is the same monthly sum with 4.345-week months."""
    x, t_x, T, m = _arrays(cdnow)
    ours = customer_lifetime_value(
        cdnow_bgnbd,
        cdnow_gamma_gamma,
        x,
        t_x,
        T,
        m,
        horizon_months=12,
        monthly_discount_rate=0.01,
        time_units_per_month=4.345,
    )
    reference = lifetimes_gamma_gamma_with(cdnow_gamma_gamma.params).customer_lifetime_value(
        lifetimes_bgnbd_with(cdnow_bgnbd.params),
        cdnow["frequency"],
        cdnow["recency"],
        cdnow["T"],
        cdnow["monetary_value"].fillna(0.0),
        time=12,
        discount_rate=0.01,
        freq="W",
    )
    np.testing.assert_allclose(ours, reference.to_numpy(), rtol=1e-9)


def test_without_discounting_clv_is_order_value_times_expected_purchases(
    cdnow, cdnow_bgnbd, cdnow_gamma_gamma
):
    x, t_x, T, m = _arrays(cdnow)
    undiscounted = customer_lifetime_value(
        cdnow_bgnbd, cdnow_gamma_gamma, x, t_x, T, m, monthly_discount_rate=0.0
    )
    year = 12 * 365.25 / 12 / 7
    expected = conditional_expected_purchases(cdnow_bgnbd.params, year, x, t_x, T) * expected_order_value(
        cdnow_gamma_gamma.params, x, m
    )
    np.testing.assert_allclose(undiscounted, expected, rtol=1e-10)


def test_discounting_lowers_clv_by_the_expected_amount(cdnow, cdnow_bgnbd, cdnow_gamma_gamma):
    """At 1% a month over 12 months every month's purchases lose between 1% and 11.4% (1 - 1.01^-12)."""
    x, t_x, T, m = _arrays(cdnow)
    at_0 = customer_lifetime_value(cdnow_bgnbd, cdnow_gamma_gamma, x, t_x, T, m, monthly_discount_rate=0.0)
    at_1 = customer_lifetime_value(cdnow_bgnbd, cdnow_gamma_gamma, x, t_x, T, m, monthly_discount_rate=0.01)
    at_5 = customer_lifetime_value(cdnow_bgnbd, cdnow_gamma_gamma, x, t_x, T, m, monthly_discount_rate=0.05)
    assert np.all(at_5 < at_1) and np.all(at_1 < at_0)
    ratio = at_1 / at_0
    assert np.all(ratio < 1 / 1.01) and np.all(ratio > 1.01**-12)
    # one month of horizon: exactly one discount factor
    one_month_0 = discounted_expected_purchases(
        cdnow_bgnbd, x, t_x, T, horizon_months=1, monthly_discount_rate=0.0
    )
    one_month_1 = discounted_expected_purchases(
        cdnow_bgnbd, x, t_x, T, horizon_months=1, monthly_discount_rate=0.01
    )
    np.testing.assert_allclose(one_month_1, one_month_0 / 1.01, rtol=1e-12)


def test_forecast_intervals_bracket_the_point_estimates(cdnow, cdnow_bgnbd, cdnow_gamma_gamma):
    x, t_x, T, m = _arrays(cdnow)
    forecast = forecast_customers(cdnow_bgnbd, cdnow_gamma_gamma, x, t_x, T, m)
    assert forecast.time_unit == "weeks" and forecast.quantiles == (0.1, 0.9)
    assert np.all(forecast.expected_purchases_lower < forecast.expected_purchases)
    assert np.all(forecast.expected_purchases < forecast.expected_purchases_upper)
    assert np.all(forecast.clv_lower < forecast.clv) and np.all(forecast.clv < forecast.clv_upper)
    assert np.all(forecast.clv_lower > 0)
    np.testing.assert_allclose(
        forecast.clv, customer_lifetime_value(cdnow_bgnbd, cdnow_gamma_gamma, x, t_x, T, m), rtol=1e-12
    )
    frame = forecast.to_frame(cdnow.index)
    assert list(frame.columns) == [
        "probability_alive",
        "expected_purchases",
        "expected_purchases_lower",
        "expected_purchases_upper",
        "expected_order_value",
        "clv",
        "clv_lower",
        "clv_upper",
    ]
    assert len(frame) == len(cdnow) and frame.notna().all().all()


def test_delta_method_quantiles_match_parameter_draws(cdnow, cdnow_bgnbd, cdnow_gamma_gamma):
    """The log-scale delta method against 2,000 draws from the asymptotic normal of the log-parameters, on
    the first 40 CDNOW customers: quantiles within 3%, interval widths within 10%."""
    x, t_x, T, m = (a[:40] for a in _arrays(cdnow))
    forecast = forecast_customers(cdnow_bgnbd, cdnow_gamma_gamma, x, t_x, T, m)
    rng = np.random.default_rng(80)
    bgnbd_draws = rng.multivariate_normal(cdnow_bgnbd.log_params, cdnow_bgnbd.covariance, 2000)
    gg_draws = rng.multivariate_normal(cdnow_gamma_gamma.log_params, cdnow_gamma_gamma.covariance, 2000)
    purchases, clv = [], []
    for theta_b, theta_g in zip(bgnbd_draws, gg_draws, strict=True):
        params = BGNBDParams(*np.exp(theta_b))
        purchases.append(conditional_expected_purchases(params, forecast.purchase_horizon, x, t_x, T))
        discounted = clv_module._PurchaseForecaster(
            bgnbd_limits.FULL, x, t_x, T, 0.0, 365.25 / 12 / 7, 12, 0.01
        ).evaluate(theta_b)[2]
        clv.append(discounted * expected_order_value(GammaGammaParams(*np.exp(theta_g)), x, m))
    for draws, lower, upper in (
        (np.array(purchases), forecast.expected_purchases_lower, forecast.expected_purchases_upper),
        (np.array(clv), forecast.clv_lower, forecast.clv_upper),
    ):
        q10, q90 = np.quantile(draws, [0.1, 0.9], axis=0)
        np.testing.assert_allclose(lower, q10, rtol=0.03)
        np.testing.assert_allclose(upper, q90, rtol=0.03)
        np.testing.assert_allclose(upper - lower, q90 - q10, rtol=0.10)


def test_intervals_narrow_with_more_customers():
    """Parameter uncertainty shrinks like 1/sqrt(n): 16x the customers, about 1/4 of the relative width."""
    truth = BGNBDParams(0.5, 60.0, 0.7, 3.0)
    rng = np.random.default_rng(11)
    widths = []
    for n in (2_000, 32_000):
        h = simulate_bgnbd(truth, rng.uniform(30, 1095, n), rng)
        m = simulate_monetary_value(GammaGammaParams(6.0, 4.0, 15.0), h.frequency, rng)
        bgnbd = fit_bgnbd(*h, time_unit="days")
        gg = fit_gamma_gamma(h.frequency, m)
        probe = (
            np.array([0.0, 3.0, 10.0]),
            np.array([0.0, 200.0, 700.0]),
            np.array([800.0] * 3),
            np.array([np.nan, 40.0, 30.0]),
        )
        f = forecast_customers(bgnbd, gg, *probe)
        widths.append((f.clv_upper - f.clv_lower) / f.clv)
    assert np.all(widths[1] < widths[0] / 2.5) and np.all(widths[1] > widths[0] / 6)


def test_forecast_cost_is_bounded(monkeypatch):
    """The hypergeometric term is evaluated 1 + 2 x 4 times (delta method over BG/NBD's log-parameters),
    each time once per distinct (x, T) and month, whatever the number of customers."""
    calls = []
    original = bgnbd_module.expected_purchases_if_alive

    def counting(params, t, frequency, T):
        calls.append(np.size(frequency))
        return original(params, t, frequency, T)

    monkeypatch.setattr(bgnbd_module, "expected_purchases_if_alive", counting)
    truth = BGNBDParams(0.5, 60.0, 0.7, 3.0)
    rng = np.random.default_rng(12)
    n = 200_000
    first_day = rng.integers(0, 1095, n)
    h = simulate_bgnbd(truth, (1095 - first_day).astype(float), rng)
    recency = np.minimum(np.ceil(h.recency), h.T)
    m = simulate_monetary_value(GammaGammaParams(6.0, 4.0, 15.0), h.frequency, rng)
    bgnbd = fit_bgnbd(h.frequency, recency, h.T, time_unit="days")
    gg = fit_gamma_gamma(h.frequency, m)
    started = time.perf_counter()
    forecast = forecast_customers(bgnbd, gg, h.frequency, recency, h.T, m, purchase_horizon=365.0)
    elapsed = time.perf_counter() - started
    assert len(calls) == 9
    distinct_pairs = len(pd.MultiIndex.from_arrays([h.frequency, h.T]).unique())
    assert all(c == distinct_pairs for c in calls) and distinct_pairs < n / 5
    assert np.all(np.isfinite(forecast.clv_upper))
    assert elapsed < 10.0


def test_forecast_without_intervals_and_after_an_unconverged_fit(cdnow, cdnow_bgnbd, cdnow_gamma_gamma):
    x, t_x, T, m = _arrays(cdnow)
    point = forecast_customers(cdnow_bgnbd, cdnow_gamma_gamma, x, t_x, T, m, intervals=False)
    assert point.clv_lower is None and point.expected_purchases_upper is None
    assert list(point.to_frame().columns) == [
        "probability_alive",
        "expected_purchases",
        "expected_order_value",
        "clv",
    ]
    full = forecast_customers(cdnow_bgnbd, cdnow_gamma_gamma, x, t_x, T, m)
    np.testing.assert_array_equal(point.clv, full.clv)

    # A fit without covariance gives NaN intervals, never invented ones.
    unconverged = dataclasses.replace(cdnow_bgnbd, converged=False, covariance=np.full((4, 4), np.nan))
    forecast = forecast_customers(unconverged, cdnow_gamma_gamma, x, t_x, T, m)
    assert np.isnan(forecast.clv_lower).all() and np.isnan(forecast.expected_purchases_upper).all()
    np.testing.assert_array_equal(forecast.clv, full.clv)
