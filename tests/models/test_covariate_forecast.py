"""The covariate models' forecasts and intervals for everyone at once (a stretched clock per cell) equal the
cells' own."""

from __future__ import annotations

import numpy as np
import pytest

from models import covariate_forecast, forecast_customers
from models.covariate_forecast import cell_fits
from models.covariates import design_from_frame, fit_bgnbd_with_covariates, fit_gamma_gamma_with_covariates
from models.predictive_intervals import CLV_RELATIVE_PRECISION, fitted_count_distribution, forecast_intervals
from tests.models.test_covariates import DROPOUT_A_EFFECT, RATE_EFFECT, SPEND_EFFECT, simulate_channels

HORIZON = 52.0  # weeks


@pytest.fixture(scope="module")
def two_covariates():
    """Customers of two channels (rate and spend effects) in three countries: six cells."""
    customers = simulate_channels(12_000, seed=31, rate=RATE_EFFECT, spend=SPEND_EFFECT)
    customers["country"] = np.random.default_rng(32).choice(["fr", "de", "it"], len(customers), p=[0.5, 0.3, 0.2])
    design = design_from_frame(customers, ["channel", "country"])
    x, t_x, T, m = (customers[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    purchase = fit_bgnbd_with_covariates(x, t_x, T, design, time_unit="weeks", dropout_covariates=False)
    spend = fit_gamma_gamma_with_covariates(x, m, design)
    assert purchase.converged and spend.converged
    return x, t_x, T, np.nan_to_num(m), design.matrix, purchase, spend


def test_forecasts_on_the_stretched_clock_equal_the_cells_own(two_covariates):
    x, t_x, T, m, rows, purchase, spend = two_covariates
    n = x.size
    expected, discounted, alive, value = (np.full(n, np.nan) for _ in range(4))
    by_cell = {name: np.full(n, np.nan) for name in ("p10", "p90", "clv_p10", "clv_p90")}
    cells = list(cell_fits(purchase, spend, rows))
    assert len(cells) == 6
    for cell in cells:
        idx = cell.customers
        forecast = forecast_customers(cell.purchase, cell.spend, x[idx], t_x[idx], T[idx], m[idx],
                                      horizon_months=12, monthly_discount_rate=0.01, purchase_horizon=HORIZON,
                                      intervals=False)
        expected[idx], discounted[idx] = forecast.expected_purchases, forecast.discounted_purchases
        alive[idx], value[idx] = forecast.probability_alive, forecast.expected_order_value
        own = forecast_intervals(cell.purchase, cell.spend, x[idx], t_x[idx], T[idx], m[idx],
                                 purchase_horizon=HORIZON, expected_purchases=forecast.expected_purchases,
                                 discounted_purchases=forecast.discounted_purchases)
        (by_cell["p10"][idx], by_cell["p90"][idx]), (by_cell["clv_p10"][idx], by_cell["clv_p90"][idx]) = (
            own.purchases, own.clv)

    # the point forecasts too: the baseline model on each customer's clock
    on_clock = forecast_customers(covariate_forecast.baseline_fit(purchase), None, x, t_x, T, m,
                                  horizon_months=12, monthly_discount_rate=0.01, purchase_horizon=HORIZON,
                                  intervals=False, clock=covariate_forecast.clock(purchase, rows))
    np.testing.assert_allclose(on_clock.probability_alive, alive, rtol=1e-12)
    np.testing.assert_allclose(on_clock.expected_purchases, expected, rtol=1e-12)
    np.testing.assert_allclose(on_clock.discounted_purchases, discounted, rtol=1e-12)
    np.testing.assert_allclose(covariate_forecast.expected_order_value(spend, x, m, rows), value, rtol=1e-12)

    together = covariate_forecast.forecast_intervals(purchase, spend, rows, x, t_x, T, m, purchase_horizon=HORIZON,
                                                     expected_purchases=expected, discounted_purchases=discounted)
    np.testing.assert_array_equal(together.purchases[0], by_cell["p10"])
    np.testing.assert_array_equal(together.purchases[1], by_cell["p90"])
    assert np.any(by_cell["p90"] != np.median(by_cell["p90"]))  # the counts do differ between customers
    for level, name in enumerate(("clv_p10", "clv_p90")):
        np.testing.assert_allclose(together.clv[level], by_cell[name], rtol=2 * CLV_RELATIVE_PRECISION, atol=1e-9)

    # the back-test's count quantiles (tail 0.1), and the stretch really matters: the baseline's differ
    quantiles = covariate_forecast.count_distribution(purchase, HORIZON, x, t_x, T, rows, tail=0.1).quantiles
    for cell in cells:
        idx = cell.customers
        own = fitted_count_distribution(cell.purchase, HORIZON, x[idx], t_x[idx], T[idx], tail=0.1).quantiles
        np.testing.assert_array_equal(quantiles[1][idx], own[1])
    baseline = next(cell for cell in cells if not rows[cell.customers[0]].any())
    unstretched = fitted_count_distribution(baseline.purchase, HORIZON, x, t_x, T, tail=0.1).quantiles
    assert np.any(unstretched[1] != quantiles[1])


def test_some_customers_counted_on_everyone_s_clocks_equal_them_counted_on_their_own_rows(two_covariates):
    """The back-test scores the customers who had bought by its cut-off from the clocks of all (picking
    their design rows would copy most of the design)."""
    x, t_x, T, _, rows, purchase, _ = two_covariates
    some = np.random.default_rng(33).random(x.size) < 0.7
    on_own_rows = covariate_forecast.count_distribution(purchase, HORIZON, x[some], t_x[some], T[some],
                                                        rows[some], tail=0.1)
    on_clocks = covariate_forecast.count_distribution_on_clock(
        purchase, HORIZON, x[some], t_x[some], T[some], covariate_forecast.clock(purchase, rows)[some], tail=0.1)
    for own, picked in zip(on_own_rows.quantiles, on_clocks.quantiles, strict=True):
        np.testing.assert_array_equal(picked, own)
    np.testing.assert_array_equal(on_clocks.probability, on_own_rows.probability)


def test_drop_out_covariates_are_refused_with_the_way_out(two_covariates):
    x, t_x, T, _, rows, _, _ = two_covariates
    customers = simulate_channels(4_000, seed=33, rate=RATE_EFFECT, dropout_a=DROPOUT_A_EFFECT)
    design = design_from_frame(customers, ["channel"])
    fit = fit_bgnbd_with_covariates(customers["frequency"], customers["recency"], customers["T"], design,
                                    time_unit="weeks")
    with pytest.raises(ValueError, match="cell_fits"):
        covariate_forecast.count_distribution(fit, HORIZON, customers["frequency"], customers["recency"],
                                              customers["T"], design.matrix)
