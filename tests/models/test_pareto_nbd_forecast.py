"""Pareto/NBD as a published purchase model (models.pareto_nbd_forecast) and the back-test's choice between it
and BG/NBD (models.purchase_model_choice): the forecast and the count distribution equal models.pareto_nbd's
own functions, the intervals are calibrated on the real CDNOW sample, and the choice follows its rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models import pareto_nbd
from models.backtest import interval_shares
from models.clv import forecast_customers
from models.pareto_nbd_forecast import fit_pareto_nbd_model, purchase_count_distribution
from models.predictive_intervals import fitted_count_distribution
from models.purchase_model_choice import choose_purchase_model, fallback
from models.selection import NOT_FITTED, fit_purchase_model
from models.summaries import summarise_calibration_and_holdout

from tests.models.conftest import HOLDOUT_END


@pytest.fixture(scope="module")
def cdnow_pareto(cdnow):
    x, t_x, T = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    return fit_pareto_nbd_model(x, t_x, T, time_unit="weeks"), x, t_x, T


def test_the_fit_is_the_published_cdnow_estimate(cdnow_pareto):
    """FHL (2005), Marketing Science 24(2), Pareto/NBD on CDNOW (REFERENCE.md): r 0.553, alpha 10.578,
    s 0.606, beta 11.669 weeks."""
    fit = cdnow_pareto[0]
    assert fit.status == "fitted" and fit.model == "pareto_nbd" and fit.variant_name == "pareto_nbd"
    assert {k: round(v, 3) for k, v in fit.params.items()} == {"r": 0.553, "alpha": 10.578, "s": 0.606,
                                                               "beta": 11.669}
    assert round(fit.log_likelihood, 1) == -9595.0
    assert all(np.isfinite(list(fit.standard_errors.values())))


def test_the_forecast_is_the_models_own(cdnow_pareto):
    """models.clv's forecast with the Pareto/NBD variant (g once per (x, T)) equals models.pareto_nbd."""
    fit, x, t_x, T = cdnow_pareto
    params = pareto_nbd.ParetoNBDParams(**fit.params)
    forecast = forecast_customers(fit, None, x, t_x, T, np.full(x.size, np.nan), purchase_horizon=39.0,
                                  intervals=False)
    np.testing.assert_allclose(forecast.probability_alive, pareto_nbd.probability_alive(params, x, t_x, T),
                               rtol=1e-12)
    np.testing.assert_allclose(forecast.expected_purchases,
                               pareto_nbd.conditional_expected_purchases(params, 39.0, x, t_x, T), rtol=1e-10)
    np.testing.assert_allclose(fit.expected_purchases(39.0), pareto_nbd.expected_purchases(params, 39.0))


def test_the_count_distribution_is_the_models_pmf(cdnow_pareto):
    """The k-by-k recurrence equals models.pareto_nbd.purchase_count_pmf, and its mean the conditional
    expectation (tail 1e-10 left out)."""
    fit, x, t_x, T = cdnow_pareto
    params = pareto_nbd.ParetoNBDParams(**fit.params)
    counts = purchase_count_distribution(fit, 52.0, x, t_x, T, tail=1e-10)
    np.testing.assert_allclose(counts.customer_zero(), pareto_nbd.purchase_count_pmf(params, 52.0, 0.0, x, t_x, T),
                               rtol=1e-10, atol=1e-14)
    history = counts.history
    for customer in (0, int(np.argmax(x)), int(np.argmax(x == 2))):
        h = history[customer]
        mine = counts.probability[counts.row == h]
        k = counts.count[counts.row == h].astype(float)
        theirs = pareto_nbd.purchase_count_pmf(params, 52.0, k, x[customer], t_x[customer], T[customer])
        np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-15)
    mean = np.bincount(counts.row, weights=counts.count * counts.probability, minlength=counts.zero.size)
    expected = pareto_nbd.conditional_expected_purchases(params, 52.0, x, t_x, T)
    np.testing.assert_allclose(mean[history], expected, rtol=1e-6, atol=1e-8)  # (the tail k P(k) left out)
    # the dispatcher picks it for a Pareto/NBD fit
    dispatched = fitted_count_distribution(fit, 52.0, x, t_x, T)
    np.testing.assert_array_equal(dispatched.quantiles[1], purchase_count_distribution(fit, 52.0, x, t_x, T)
                                  .quantiles[1])


def test_cdnow_pareto_intervals_are_calibrated_against_what_customers_did(cdnow_transactions):
    """As test_purchase_counts' BG/NBD check: fitted as of 1997-06-30, each customer's repeat purchases to
    1998-06-30 against their 80 % interval."""
    t = cdnow_transactions
    summary = summarise_calibration_and_holdout(
        t["customer_id"], t["date"], t["dollar_value"], "1997-06-30", HOLDOUT_END, time_unit="weeks")
    horizon = float(summary["holdout_duration"].iloc[0])
    x, t_x, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    fit = fit_pareto_nbd_model(x, t_x, T, time_unit="weeks")
    p10, p90 = purchase_count_distribution(fit, horizon, x, t_x, T).quantiles
    shares = interval_shares(summary["holdout_frequency"].to_numpy(float), p10, p90)
    print(f"\nCDNOW Pareto/NBD as of 1997-06-30: {shares}")
    assert shares["share_below_p10"] <= 0.15 and shares["share_at_or_below_p10"] >= 0.05
    assert shares["share_above_p90"] <= 0.15 and shares["share_at_or_above_p90"] >= 0.05


def test_the_lower_backtest_error_is_chosen_and_bg_nbd_wins_ties():
    choice = choose_purchase_model({"bg_nbd": 0.42, "pareto_nbd": 0.41}, True, 91)
    assert choice.chosen == "pareto_nbd"
    assert choice.reasons["pareto_nbd"].startswith("lowest back-test error")
    assert "0.4100" in choice.reasons["pareto_nbd"] and "BG/NBD 0.4200" in choice.reasons["pareto_nbd"]
    assert choice.reasons["bg_nbd"].startswith("higher back-test error")
    assert choose_purchase_model({"bg_nbd": 0.41, "pareto_nbd": 0.41}, True, 91).chosen == "bg_nbd"


def test_without_a_comparison_bg_nbd_is_the_default_unless_it_cannot_be_fitted():
    unscored = choose_purchase_model({"bg_nbd": 0.4, "pareto_nbd": math.nan}, True, 91)
    assert unscored.chosen == "bg_nbd" and "could not score Pareto/NBD" in unscored.reasons["bg_nbd"]
    assert choose_purchase_model({}, False, 91).chosen == "pareto_nbd"
    # BG/NBD forecast better but cannot be fitted on the full history: Pareto/NBD, saying why
    better = choose_purchase_model({"bg_nbd": 0.3, "pareto_nbd": 0.4}, False, 91)
    assert better.chosen == "pareto_nbd" and "BG/NBD could not be fitted" in better.reasons["pareto_nbd"]
    # Pareto/NBD chosen, then not fitted on the full history: BG/NBD after all
    back = fallback(choose_purchase_model({"bg_nbd": 0.5, "pareto_nbd": 0.4}, True, 91), "no maximum")
    assert back.chosen == "bg_nbd" and "no maximum" in back.reasons["pareto_nbd"]


def test_too_little_data_is_not_fitted_with_the_reason():
    fit = fit_pareto_nbd_model([0.0, 1.0], [0.0, 3.0], [10.0, 10.0], time_unit="days")
    bg = fit_purchase_model([0.0, 1.0], [0.0, 3.0], [10.0, 10.0], time_unit="days")
    assert fit.status == NOT_FITTED and fit.reason == bg.reason.replace("BG/NBD", "Pareto/NBD")
