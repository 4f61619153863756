"""The exact distribution of a customer's future purchase count (models.purchase_counts) and the predictive
intervals built on it (models.predictive_intervals): the PMF sums to one, its mean is the model's conditional
expectation (FHL 2005 eq. 10 and the limiting variants), it matches a brute-force simulation of the BG/NBD
story, the intervals are calibrated on data generated from the model and on the real CDNOW sample.
``pytest -s`` prints the CDNOW coverage shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from models import bgnbd_limits, fit_purchase_model, fit_spend_model, forecast_customers
from models.backtest import interval_shares
from models.bgnbd import BGNBDParams
from models.gamma_gamma import GammaGammaParams
from models.predictive_intervals import (
    MeanSpendPosterior,
    PurchaseCountDistribution,
    forecast_intervals,
    mean_spend_posterior,
    purchase_count_distribution,
    sigma_points,
    value_quantiles,
)
from models.purchase_counts import (
    SurvivalSteps,
    purchase_count_pmf,
    purchase_count_survival,
    survival_if_alive,
)
from models.simulation import simulate_monetary_value
from models.summaries import summarise_calibration_and_holdout
from pipelines.checks.interval_checks import interval_calibration_problems
from tests.models.conftest import HOLDOUT_END

VALUES = {"r": 0.8, "alpha": 4.0, "a": 0.8, "b": 2.4, "lambda": 0.3, "p": 0.2, "pi": 0.3}
X = np.array([0.0, 1.0, 2.0, 5.0, 10.0, 3.0])
T_X = np.array([0.0, 3.0, 10.0, 20.0, 30.0, 5.0])
AGE = np.array([5.0, 20.0, 30.0, 38.0, 40.0, 39.0])


def _theta(variant) -> np.ndarray:
    values = [VALUES[name] for name in variant.parameters]
    return np.array([np.log(v) if transform == "log" else special.logit(v)
                     for v, transform in zip(values, variant.transforms, strict=True)])


@pytest.mark.parametrize("variant", bgnbd_limits.VARIANTS, ids=lambda v: v.name)
def test_pmf_sums_to_one_and_its_mean_is_the_conditional_expectation(variant):
    theta = _theta(variant)
    k = np.arange(0, 4000)[:, None]
    with np.errstate(all="ignore"):
        pmf = purchase_count_pmf(variant, theta, 39.0, k, X, T_X, AGE)
    survival = purchase_count_survival(variant, theta, 39.0, k, X, T_X, AGE)
    assert np.all(pmf >= -1e-15)
    np.testing.assert_allclose(pmf.sum(axis=0), 1.0, atol=1e-12)
    # the PMF formula and the survival P(alive) S_N(k) D(k) agree: P(X = k) = P(X > k-1) - P(X > k)
    previous = np.vstack([np.ones((1, X.size)), survival[:-1]])
    np.testing.assert_allclose(pmf, previous - survival, atol=1e-13)
    # E[X] = sum_k P(X > k) = E[Y(t) | x, t_x, T]
    np.testing.assert_allclose(
        survival.sum(axis=0), variant.conditional_expected_purchases(theta, 39.0, X, T_X, AGE), atol=1e-8
    )


@pytest.mark.parametrize("variant", bgnbd_limits.VARIANTS, ids=lambda v: v.name)
def test_the_recursion_over_k_agrees_with_the_closed_form(variant):
    theta = _theta(variant)
    steps = SurvivalSteps(variant, variant.params(theta), X, AGE, 39.0)
    everyone = np.arange(X.size)
    for k in range(60):
        if k:
            steps.step(everyone)
        np.testing.assert_allclose(
            steps.value(everyone), survival_if_alive(variant, theta, 39.0, k, X, AGE), rtol=1e-9, atol=1e-14
        )


def _simulate_with_future(params: BGNBDParams, T: float, t: float, n: int, rng) -> tuple[np.ndarray, ...]:
    """Brute force of the BG/NBD story over (0, T + t]: Poisson purchases, a drop-out coin after each, so
    the customer makes the first min(G, N) of their purchase times. Returns x, t_x in (0, T] and X, the
    purchases in (T, T+t]."""
    r, alpha, a, b = params
    rate = rng.gamma(r, 1.0 / alpha, n)
    dropout = rng.beta(a, b, n)
    total = rng.poisson(rate * (T + t))
    made = np.minimum(rng.geometric(dropout), total)
    width = int(made.max())
    times = rng.uniform(0.0, T + t, (n, max(int(total.max()), 1)))
    times[np.arange(times.shape[1])[None, :] >= total[:, None]] = np.inf
    times = np.sort(times, axis=1)[:, :width]
    kept = np.arange(width)[None, :] < made[:, None]
    before = kept & (times <= T)
    x = before.sum(axis=1).astype(float)
    t_x = np.where(before, times, 0.0).max(axis=1, initial=0.0)
    future = (kept & (times > T)).sum(axis=1).astype(float)
    return x, t_x, future


def test_pmf_matches_a_brute_force_simulation():
    """Simulate 400,000 customers' whole story; the customers with no repeat purchase in (0, T] all share
    one history, so their future counts are draws from P(X = k | 0, 0, T) itself; over everyone, the average
    of the conditional PMFs over the simulated histories is the distribution of X (tolerance: 4 standard
    errors of a share, plus the rounding of averaging)."""
    params, T, t, n = BGNBDParams(1.2, 8.0, 1.0, 3.0), 30.0, 40.0, 400_000
    x, t_x, future = _simulate_with_future(params, T, t, n, np.random.default_rng(20261204))
    theta = np.log(np.asarray(params))
    k = np.arange(0, 15)
    never = x == 0
    expected = purchase_count_pmf(bgnbd_limits.FULL, theta, t, k, 0.0, 0.0, T)
    observed = np.bincount(future[never].astype(int), minlength=k.size)[: k.size] / never.sum()
    tolerance = 4 * np.sqrt(expected * (1 - expected) / never.sum()) + 1e-4
    assert np.all(np.abs(observed - expected) <= tolerance), (observed, expected)

    with np.errstate(all="ignore"):
        pmf = purchase_count_pmf(bgnbd_limits.FULL, theta, t, k[:, None], x, t_x, np.full(n, T))
    average = pmf.mean(axis=1)
    observed = np.bincount(future.astype(int), minlength=k.size)[: k.size] / n
    tolerance = 4 * np.sqrt(average * (1 - average) / n) + 1e-4
    assert np.all(np.abs(observed - average) <= tolerance), (observed, average)


def test_sigma_points_reproduce_the_mean_and_covariance():
    theta = np.array([0.1, -1.0, 2.0])
    covariance = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, -0.02], [0.0, -0.02, 0.25]])
    points, weights = sigma_points(theta, covariance)
    assert points.shape == (6, 3) and np.all(weights > 0) and weights.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(weights @ points, theta, atol=1e-14)
    centred = points - theta
    np.testing.assert_allclose((centred * weights[:, None]).T @ centred, covariance, atol=1e-14)
    only, one = sigma_points(theta, np.full((3, 3), np.nan))
    np.testing.assert_array_equal(only, theta[None, :]) and np.testing.assert_array_equal(one, [1.0])


def test_mixed_quantiles_are_the_smallest_counts_reaching_the_level():
    variant, theta = bgnbd_limits.FULL, _theta(bgnbd_limits.FULL)
    distribution = purchase_count_distribution(variant, theta, np.full((4, 4), np.nan), 39.0, X, T_X, AGE,
                                               levels=(0.1, 0.5, 0.9))
    cdf = 1.0 - purchase_count_survival(variant, theta, 39.0, np.arange(200)[:, None], X, T_X, AGE)
    for level, quantile in zip(distribution.levels, distribution.quantiles, strict=True):
        expected = np.argmax(cdf >= level - 1e-12, axis=0)
        np.testing.assert_array_equal(quantile, expected)
    # the stored PMF adds up to all but the tail left above the last count
    total = distribution.zero + np.bincount(distribution.row, distribution.probability,
                                            minlength=distribution.zero.size)
    assert np.all(total <= 1.0 + 1e-12) and np.all(total >= 1.0 - 1e-3)
    # without a covariance the mixture is the point estimate's own distribution
    np.testing.assert_allclose(distribution.customer_zero(), cdf[0], atol=1e-12)


def test_intervals_are_calibrated_on_data_generated_from_the_model():
    """Fit on simulated histories (weeks), predict the next 52 weeks, compare with what the simulated
    customers did: the shares below p10 / above p90 are at most 10 % and those at or below / at or above at
    least 10 %, within 3 standard errors."""
    rng = np.random.default_rng(17)
    params, t, n = BGNBDParams(0.5, 6.0, 0.8, 2.5), 52.0, 30_000
    # customers join at different times: 30 cohorts observed for 10 to 40 weeks
    x, t_x, age, future = (np.empty(n) for _ in range(4))
    for cohort, group in enumerate(np.array_split(np.arange(n), 30)):
        age[group] = 10.0 + cohort
        x[group], t_x[group], future[group] = _simulate_with_future(params, age[group[0]], t, group.size, rng)
    fit = fit_purchase_model(x, t_x, age, time_unit="weeks")
    assert fit.status == "fitted"
    p10, p90 = purchase_count_distribution(fit.variant, fit.theta, fit.covariance, t, x, t_x, age).quantiles
    shares = interval_shares(future, p10, p90)
    error = 3 * np.sqrt(0.1 * 0.9 / n)
    assert shares["share_below_p10"] <= 0.1 + error and shares["share_at_or_below_p10"] >= 0.1 - error
    assert shares["share_above_p90"] <= 0.1 + error and shares["share_at_or_above_p90"] >= 0.1 - error
    assert interval_calibration_problems(shares) == []


def test_value_quantiles_match_a_simulation_of_the_value():
    """A heavy buyer (P(X = 0) < 10 %): the CLV quantiles of delta X mu, X from the exact PMF and mu from
    its inverse-gamma posterior, against 400,000 draws of the same product."""
    variant, theta = bgnbd_limits.FULL, _theta(bgnbd_limits.FULL)
    x, t_x, age = np.array([10.0]), np.array([38.0]), np.array([39.0])
    no_covariance = np.full((4, 4), np.nan)
    counts = purchase_count_distribution(variant, theta, no_covariance, 39.0, x, t_x, age, tail=1e-9)
    assert counts.zero[0] < 0.1
    spend = MeanSpendPosterior(np.array([12.0]), np.array([600.0]), np.array([np.nan]))
    p10, p90 = value_quantiles(counts, spend, np.array([0.95]))
    rng = np.random.default_rng(5)
    k = np.arange(counts.count.max() + 1)
    probability = np.concatenate([counts.zero, counts.probability])
    draws = rng.choice(k, 400_000, p=probability / probability.sum())
    value = 0.95 * draws * 600.0 / rng.gamma(12.0, 1.0, draws.size)
    for level, quantile in ((0.1, p10[0]), (0.9, p90[0])):
        assert np.mean(value <= quantile) == pytest.approx(level, abs=3e-3)


# A heavy buyer's purchases over a year at a million customers: one mode for "gone" (small counts) and one for
# "still buying" (around 21), with P(X = 0) = 0.014 (from the 1M sample, where this history's p10 went wrong)
_BIMODAL = np.array([
    0.01199216, 0.01167096, 0.01136475, 0.01107758, 0.01082193, 0.01062701, 0.01055023, 0.01068859,
    0.01118473, 0.01222102, 0.01399709, 0.0166908, 0.02040918, 0.02514129, 0.03072708, 0.03685346,
    0.04308209, 0.04890505, 0.0538166, 0.05738597, 0.05931603, 0.05947736, 0.05791349, 0.05481985,
    0.05050366, 0.04533442, 0.03969477, 0.03393898, 0.02836373, 0.02319221, 0.01857068, 0.0145744,
    0.01121966, 0.0084786, 0.0062941, 0.00459305, 0.00329687, 0.00232915, 0.00162045, 0.00111082,
    0.00075067, 0.00050033,
])


@pytest.mark.parametrize("start", [1.0, 8.0, 30.0])
def test_value_quantiles_find_the_root_of_a_bimodal_distribution_from_any_start(start):
    """The CLV quantiles' root search on a count distribution with two modes, started low, near and high (the
    start is the count quantile over the mean of V): the answer is the root to the precision, not a point on
    the flat stretch between the modes where a small step after a large one looks converged."""
    k = np.arange(1.0, _BIMODAL.size + 1)
    counts = PurchaseCountDistribution(
        history=np.array([0]), zero=np.array([0.01399368536587886]), row=np.zeros(k.size, dtype=int),
        count=k.astype(int), probability=_BIMODAL, levels=(0.1, 0.9),
        quantiles=(np.array([start]), np.array([start])))
    shape = 326.037597908771
    spend = MeanSpendPosterior(np.array([shape]), np.array([1.0]), np.array([np.nan]))
    found = value_quantiles(counts, spend, np.array([1.0]), (0.1, 0.9))

    def cdf(w):
        return counts.zero[0] + np.sum(_BIMODAL * special.gammaincc(shape, k / w))

    for level, quantile in zip((0.1, 0.9), found, strict=True):
        low, high = 1e-3, 1.0  # bisection in log w to 1e-12
        while np.log(high / low) > 1e-12:
            middle = np.sqrt(low * high)
            low, high = (middle, high) if cdf(middle) < level else (low, middle)
        assert quantile[0] == pytest.approx(high, rel=1e-4)


def test_mean_spend_posterior_is_the_gamma_gamma_expectation():
    x, m = np.array([0.0, 1.0, 4.0]), np.array([np.nan, 30.0, 55.0])
    params = GammaGammaParams(6.0, 4.0, 15.0)
    fit = fit_spend_model(*_spend_sample(params))
    posterior = mean_spend_posterior(fit.variant, fit.theta, x, m)
    mean = posterior.scale / (posterior.shape - 1)
    np.testing.assert_allclose(mean, fit.expected_order_value(x, m), rtol=1e-12)
    median = posterior.quantile(0.5)
    np.testing.assert_allclose(posterior.cdf(median), 0.5, atol=1e-12)


def test_the_count_table_in_two_halves_is_the_table_in_one(monkeypatch, cdnow):
    """From ``_SPLIT_HISTORIES`` distinct histories the k loop runs on two halves of them, on two threads:
    the same zeros, quantiles and (history, count, probability) rows as one loop over all of them."""
    from models import predictive_intervals

    x, t_x, age = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    fit = fit_purchase_model(x, t_x, age, time_unit="weeks")

    def table(split_from: int):
        monkeypatch.setattr(predictive_intervals, "_SPLIT_HISTORIES", split_from)
        return purchase_count_distribution(fit.variant, fit.theta, fit.covariance, 52.0, x, t_x, age)

    one, two = table(10**9), table(100)  # CDNOW: 1,016 distinct histories
    np.testing.assert_array_equal(one.zero, two.zero)
    for mine, theirs in zip(one.quantiles, two.quantiles, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    order_one, order_two = np.lexsort((one.count, one.row)), np.lexsort((two.count, two.row))
    for column in ("row", "count", "probability"):
        np.testing.assert_array_equal(getattr(one, column)[order_one], getattr(two, column)[order_two])


def _spend_sample(params):
    rng = np.random.default_rng(3)
    x = rng.integers(1, 8, 3000).astype(float)
    return x, simulate_monetary_value(params, x, rng)


def _coverage(summary: pd.DataFrame, fit, horizon: float) -> tuple[dict, dict]:
    x, t_x, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    actual = summary["holdout_frequency"].to_numpy(float)
    old = forecast_customers(fit, None, x, t_x, T, np.full(x.size, np.nan), purchase_horizon=horizon)
    before = interval_shares(actual, old.expected_purchases_lower, old.expected_purchases_upper)
    distribution = purchase_count_distribution(fit.variant, fit.theta, fit.covariance, horizon, x, t_x, T)
    p10, p90 = distribution.quantiles
    return before, interval_shares(actual, p10, p90)


@pytest.mark.parametrize("calibration_end", ["1997-06-30", "1997-09-30"])
def test_cdnow_intervals_are_calibrated_against_what_customers_did(cdnow_transactions, calibration_end):
    """CDNOW 1/10 sample (REFERENCE.md): fitted as of 1997-06-30 (issue 17: the following 12 months) or
    1997-09-30 (FHL 2005's 39-week calibration), compared with each customer's repeat purchases to
    1998-06-30. The delta-method intervals (parameter uncertainty only) contained 2.2 % of customers; the
    predictive intervals are calibrated within the check's 5 points."""
    t = cdnow_transactions
    summary = summarise_calibration_and_holdout(
        t["customer_id"], t["date"], t["dollar_value"], calibration_end, HOLDOUT_END, time_unit="weeks"
    )
    horizon = float(summary["holdout_duration"].iloc[0])
    fit = fit_purchase_model(summary["frequency"], summary["recency"], summary["T"], time_unit="weeks")
    before, after = _coverage(summary, fit, horizon)
    print(f"\nCDNOW as of {calibration_end}, next {horizon:.1f} weeks: "
          + "; ".join(f"{name}: before {before[name]:.3f}, after {after[name]:.3f}" for name in after))
    assert before["share_below_p10"] > 0.5 and before["share_above_p90"] > 0.2  # the old intervals were not
    assert interval_calibration_problems(after) == []
    assert after["share_below_p10"] <= 0.1 < after["share_at_or_below_p10"]
    assert after["share_at_or_above_p90"] > 0.1


def test_pipeline_intervals_follow_the_fits(cdnow):
    """forecast_intervals: whole-number count quantiles, CLV quantiles ordered and zero exactly where the
    count's are, null CLV without a spend model."""
    x, t_x, T, m = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T", "monetary_value"))
    purchase = fit_purchase_model(x, t_x, T, time_unit="weeks")
    spend = fit_spend_model(x, m)
    forecast = forecast_customers(purchase, spend, x, t_x, T, m, intervals=False)
    discounted = forecast.clv / forecast.expected_order_value
    horizon = {
        "purchase_horizon": forecast.purchase_horizon,
        "expected_purchases": forecast.expected_purchases,
        "discounted_purchases": discounted,
    }
    result = forecast_intervals(purchase, spend, x, t_x, T, m, **horizon)
    (p10, p90), (clv10, clv90) = result.purchases, result.clv
    assert np.all(p10 == np.round(p10)) and np.all(p10 <= p90)
    assert np.all(clv10 <= clv90)
    assert np.all((clv90 == 0) == (p90 == 0)) and np.all((clv10 == 0) == (p10 == 0))
    # a customer's value per purchase lies between the extremes of their spend posterior
    assert np.all(np.isfinite(clv90))
    without = forecast_intervals(purchase, None, x, t_x, T, m, **horizon)
    assert np.isnan(without.clv[0]).all() and np.array_equal(without.purchases[1], p90)
