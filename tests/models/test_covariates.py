"""BG/NBD and Gamma-Gamma with time-invariant covariates (Fader & Hardie 2007): the design's dummy codes, the
likelihood against the plain models', planted effects recovered from simulated customers, the likelihood-ratio
test, predictions, and unfittable designs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from models import bgnbd, gamma_gamma
from models.bgnbd import BGNBDParams
from models.covariates import (
    OTHER_LEVEL,
    _BGNBDCovariateObjective,
    _GammaGammaCovariateObjective,
    bgnbd_customer_params,
    design_cells,
    design_from_frame,
    fit_bgnbd_with_covariates,
    fit_gamma_gamma_with_covariates,
    gamma_gamma_customer_params,
    likelihood_ratio_test,
)
from models.distinct import distinct_rows
from models.errors import ModelFitError
from models.gamma_gamma import GammaGammaParams
from models.optimise import numerical_hessian
from models.simulation import simulate_bgnbd, simulate_monetary_value

TRUE_BGNBD = BGNBDParams(r=0.8, alpha=10.0, a=0.8, b=3.0)  # weeks: about one purchase per 12 weeks
TRUE_GAMMA_GAMMA = GammaGammaParams(p=6.0, q=4.0, gamma=15.0)  # mean order value 30
RATE_EFFECT = 0.7  # paid-search customers buy exp(0.7) = 2.0 times as often
DROPOUT_A_EFFECT = 0.5  # ... and drop out more readily: mean dropout 0.21 -> 0.30
SPEND_EFFECT = 0.4  # ... and spend exp(0.4) = 1.5 times as much per order


def simulate_channels(n: int, seed: int, rate=0.0, dropout_a=0.0, spend=0.0):
    """Customers from two acquisition channels, 60 % organic (the baseline) and 40 % paid search, whose
    parameters differ by the given coefficients; observed for 10-52 weeks."""
    rng = np.random.default_rng(seed)
    channel = np.where(rng.random(n) < 0.4, "paid_search", "organic")
    paid = channel == "paid_search"
    T = rng.uniform(10.0, 52.0, n)
    x, t_x, m = np.zeros(n), np.zeros(n), np.full(n, np.nan)
    r, alpha, a, b = TRUE_BGNBD
    p, q, gamma = TRUE_GAMMA_GAMMA
    for customers, z in ((~paid, 0.0), (paid, 1.0)):
        histories = simulate_bgnbd(
            BGNBDParams(r, alpha * np.exp(-rate * z), a * np.exp(dropout_a * z), b), T[customers], rng
        )
        x[customers], t_x[customers] = histories.frequency, histories.recency
        m[customers] = simulate_monetary_value(
            GammaGammaParams(p, q, gamma * np.exp(spend * z)), histories.frequency, rng
        )
    return pd.DataFrame({"channel": channel, "frequency": x, "recency": t_x, "T": T, "monetary_value": m})


@pytest.fixture(scope="module")
def planted():
    customers = simulate_channels(
        30_000, seed=2007, rate=RATE_EFFECT, dropout_a=DROPOUT_A_EFFECT, spend=SPEND_EFFECT
    )
    return customers, design_from_frame(customers, ["channel"])


@pytest.fixture(scope="module")
def planted_fits(planted):
    customers, design = planted
    purchases = fit_bgnbd_with_covariates(
        customers["frequency"], customers["recency"], customers["T"], design, time_unit="weeks"
    )
    spend = fit_gamma_gamma_with_covariates(customers["frequency"], customers["monetary_value"], design)
    return purchases, spend


@pytest.fixture(scope="module")
def no_effect():
    customers = simulate_channels(30_000, seed=2008)
    return customers, design_from_frame(customers, ["channel"])


@pytest.fixture(scope="module")
def cdnow_noise_design(cdnow):
    """A covariate unrelated to anything: three 'regions' drawn at random for CDNOW's customers."""
    rng = np.random.default_rng(25)
    regions = pd.DataFrame({"region": rng.choice(["north", "south", "west"], len(cdnow), p=[0.5, 0.3, 0.2])})
    return design_from_frame(regions, ["region"])


# --- The design ---------------------------------------------------------------------------------------------


def test_design_dummy_codes_with_the_most_frequent_level_as_baseline():
    frame = pd.DataFrame(
        {
            "channel": ["paid_search"] * 5 + ["organic"] * 7 + ["email"] * 3,
            "cohort_year": [2021] * 6 + [2022] * 9,
        }
    )
    design = design_from_frame(frame, ["channel", "cohort_year"], min_customers=1)
    assert design.baseline == {"channel": "organic", "cohort_year": "2022"}
    assert design.levels["channel"] == ("organic", "email", "paid_search")
    assert design.names == ("channel=email", "channel=paid_search", "cohort_year=2021")
    assert design.matrix.dtype == float and design.matrix.shape == (15, 3)
    np.testing.assert_array_equal(design.matrix[0], [0, 1, 1])  # paid search, 2021
    np.testing.assert_array_equal(design.matrix[7], [0, 0, 0])  # organic, 2022: the baseline
    np.testing.assert_array_equal(design.matrix[14], [1, 0, 0])  # email, 2022
    np.testing.assert_array_equal(design.encode(frame), design.matrix)


def test_rare_levels_are_pooled_into_other_or_into_the_baseline_when_other_is_rare_too():
    frame = pd.DataFrame(
        {
            "channel": ["organic"] * 50 + ["paid"] * 30 + ["tv"] * 6 + ["radio"] * 5 + [None] * 2,
            "country": ["de"] * 60 + ["fr"] * 30 + ["lu"] * 3,
        }
    )
    design = design_from_frame(frame, ["channel", "country"], min_customers=10)
    # tv, radio and missing are rare; together (13) they are enough for an "other" coefficient
    assert design.levels["channel"] == ("organic", "paid", OTHER_LEVEL)
    assert design.folded["channel"] == ("missing", "radio", "tv")
    # lu alone is rare and so would be its "other": it joins the baseline
    assert design.levels["country"] == ("de", "fr")
    assert design.level_map["country"]["lu"] == "de"
    assert design.names == ("channel=paid", f"channel={OTHER_LEVEL}", "country=fr")
    assert design.matrix[:, 1].sum() == 13 and design.matrix[:, 2].sum() == 30
    # a level never seen goes where the rare ones went
    new = pd.DataFrame({"channel": ["podcast", "paid"], "country": ["it", "fr"]})
    np.testing.assert_array_equal(design.encode(new), [[0, 1, 0], [1, 0, 1]])


def test_a_column_with_a_single_level_adds_no_dummy():
    frame = pd.DataFrame({"channel": ["organic"] * 20, "country": ["de"] * 12 + ["fr"] * 8})
    design = design_from_frame(frame, ["channel", "country"], min_customers=5)
    assert design.names == ("country=fr",)


# --- The likelihood -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5000, 7), (300, 52), (0, 3)])
def test_cells_of_dummies_are_the_distinct_rows_in_their_order(shape):
    """The binary-number reading of 0/1 rows gives distinct_rows' cells, in the same order; a numeric design
    that is not 0/1 goes through distinct_rows itself."""
    rng = np.random.default_rng(3)
    matrix = (rng.random(shape) < 0.2).astype(float)
    matrix[: shape[0] // 2, : shape[1] // 2] = 0.0  # repeated rows
    distinct = distinct_rows(*matrix.T) if shape[0] else None
    cells = design_cells(matrix)
    if distinct is not None:
        np.testing.assert_array_equal(cells.rows, np.column_stack(distinct.columns))
        np.testing.assert_array_equal(cells.of_customer, distinct.inverse)
    np.testing.assert_array_equal(cells.rows[cells.of_customer], matrix)
    numeric = matrix * rng.choice([1.0, 2.5], size=shape)
    np.testing.assert_array_equal(design_cells(numeric).rows[design_cells(numeric).of_customer], numeric)


def test_bgnbd_likelihood_with_zero_coefficients_equals_the_plain_models(
    cdnow, cdnow_bgnbd, cdnow_noise_design
):
    x, t_x, T = (cdnow[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    k = len(cdnow_noise_design.names)
    plain = bgnbd.log_likelihood(cdnow_bgnbd.params, x, t_x, T)
    zeros = np.zeros(k)
    customers = bgnbd_customer_params(cdnow_bgnbd.params, cdnow_noise_design, zeros, zeros, zeros)
    assert bgnbd.log_likelihood(customers, x, t_x, T) == pytest.approx(plain, rel=1e-10, abs=0)
    # the fit's own objective, which works per (cell, x), (cell, T) and (cell, t_x)
    cells = design_cells(cdnow_noise_design.matrix)
    objective = _BGNBDCovariateObjective(x, t_x, T, cells.of_customer, cells.rows, np.ones(x.size), True)
    theta = np.concatenate([cdnow_bgnbd.log_params, np.zeros(3 * k)])
    assert -objective(theta)[0] * x.size == pytest.approx(plain, rel=1e-10, abs=0)


def test_gamma_gamma_likelihood_with_zero_coefficients_equals_the_plain_models(
    cdnow, cdnow_gamma_gamma, cdnow_noise_design
):
    repeat = cdnow["frequency"].to_numpy() > 0
    x = cdnow["frequency"].to_numpy(dtype=float)[repeat]
    m = cdnow["monetary_value"].to_numpy(dtype=float)[repeat]
    rows = cdnow_noise_design.matrix[repeat]
    plain = gamma_gamma.log_likelihood(cdnow_gamma_gamma.params, x, m)
    customers = gamma_gamma_customer_params(cdnow_gamma_gamma.params, rows, np.zeros(rows.shape[1]))
    assert gamma_gamma.log_likelihood(customers, x, m) == pytest.approx(plain, rel=1e-10, abs=0)
    cells = design_cells(rows)
    objective = _GammaGammaCovariateObjective(x, m, cells.of_customer, cells.rows, np.ones(x.size))
    theta = np.concatenate([cdnow_gamma_gamma.log_params, np.zeros(rows.shape[1])])
    assert -objective(theta)[0] * x.size == pytest.approx(plain, rel=1e-10, abs=0)


def central_differences(objective, theta, step=1e-6):
    shifts = step * np.eye(theta.size)
    return np.array([(objective(theta + e)[0] - objective(theta - e)[0]) / (2 * step) for e in shifts])


def test_objectives_match_the_per_customer_formulas_and_their_gradients_are_exact(planted):
    customers, design = planted
    x, t_x, T = (customers[c].to_numpy() for c in ("frequency", "recency", "T"))
    cells = design_cells(design.matrix)
    objective = _BGNBDCovariateObjective(x, t_x, T, cells.of_customer, cells.rows, np.ones(x.size), True)
    theta = np.concatenate([np.log([0.7, 8.0, 0.9, 2.5]), [0.3, 0.2, -0.1]])
    value, gradient = objective(theta)
    base = BGNBDParams(*np.exp(theta[:4]))
    params = bgnbd_customer_params(base, design, theta[4:5], theta[5:6], theta[6:7])
    assert -value * x.size == pytest.approx(bgnbd.log_likelihood(params, x, t_x, T), rel=1e-12)
    np.testing.assert_allclose(gradient, central_differences(objective, theta), atol=1e-7)

    repeat = x > 0
    m = customers["monetary_value"].to_numpy()[repeat]
    cells = design_cells(design.matrix[repeat])
    objective = _GammaGammaCovariateObjective(x[repeat], m, cells.of_customer, cells.rows, np.ones(m.size))
    theta = np.array([np.log(5.0), np.log(3.0), np.log(12.0), 0.2])
    value, gradient = objective(theta)
    base = GammaGammaParams(*np.exp(theta[:3]))
    params = gamma_gamma_customer_params(base, design.matrix[repeat], theta[3:])
    assert -value * m.size == pytest.approx(gamma_gamma.log_likelihood(params, x[repeat], m), rel=1e-12)
    np.testing.assert_allclose(gradient, central_differences(objective, theta), atol=1e-7)


@pytest.mark.parametrize("dropout_covariates", [True, False])
def test_hessians_by_cells_equal_the_numerical_hessian(dropout_covariates):
    """The objectives' Hessians from 1 + shared + per-cell shifts (``_CellObjective``) against central
    differences of the gradient in every parameter, on a design of two covariates (6 cells, 3 dummies)."""
    customers = simulate_channels(20_000, seed=11, rate=RATE_EFFECT, dropout_a=DROPOUT_A_EFFECT, spend=SPEND_EFFECT)
    customers["country"] = np.random.default_rng(12).choice(["fr", "de", "it"], len(customers), p=[0.5, 0.3, 0.2])
    design = design_from_frame(customers, ["channel", "country"])
    x, t_x, T = (customers[c].to_numpy() for c in ("frequency", "recency", "T"))
    cells = design_cells(design.matrix)
    assert cells.rows.shape == (6, 3)
    objective = _BGNBDCovariateObjective(x, t_x, T, cells.of_customer, cells.rows, np.ones(x.size),
                                         dropout_covariates)
    k = 3 * (3 if dropout_covariates else 1)
    theta = np.concatenate([np.log([0.7, 8.0, 0.9, 2.5]), np.linspace(-0.3, 0.4, k)])
    np.testing.assert_allclose(objective.hessian(theta), numerical_hessian(objective, theta), rtol=1e-4,
                               atol=1e-6)

    repeat = x > 0
    m = customers["monetary_value"].to_numpy()[repeat]
    cells = design_cells(design.matrix[repeat])
    objective = _GammaGammaCovariateObjective(x[repeat], m, cells.of_customer, cells.rows, np.ones(m.size))
    theta = np.array([np.log(5.0), np.log(3.0), np.log(12.0), 0.2, -0.1, 0.3])
    np.testing.assert_allclose(objective.hessian(theta), numerical_hessian(objective, theta), rtol=1e-4,
                               atol=1e-6)


# --- Planted effects ----------------------------------------------------------------------------------------


def test_bgnbd_recovers_planted_rate_and_dropout_effects(planted_fits):
    fit = planted_fits[0]
    assert fit.converged, fit.message
    assert fit.covariate_names == ("channel=paid_search",)
    assert fit.n_customers == 30_000
    for estimate, standard_error, truth in (
        (fit.rate_coefficients[0], fit.rate_standard_errors[0], RATE_EFFECT),
        (fit.dropout_a_coefficients[0], fit.dropout_a_standard_errors[0], DROPOUT_A_EFFECT),
        (fit.dropout_b_coefficients[0], fit.dropout_b_standard_errors[0], 0.0),
    ):
        assert abs(estimate - truth) < 2.5 * standard_error, (estimate, standard_error, truth)
    for estimate, standard_error, truth in zip(fit.params, fit.standard_errors, TRUE_BGNBD, strict=True):
        assert abs(estimate - truth) < 3 * standard_error, (estimate, standard_error, truth)
    test = fit.likelihood_ratio_test()
    assert test.degrees_of_freedom == 3 and test.p_value < 1e-10
    # the plain model, fitted to a mixture, is a worse description of the same customers
    assert fit.log_likelihood > fit.plain_fit.log_likelihood
    table = fit.coefficient_table()
    assert table["parameter"].tolist() == [
        "r", "alpha0", "a0", "b0",
        "rate[channel=paid_search]", "dropout_a[channel=paid_search]", "dropout_b[channel=paid_search]",
    ]
    # a paid-search customer buys exp(beta) times as often while alive
    rates = fit.mean_purchase_rate(np.array([[0.0], [1.0]]))
    assert rates[1] / rates[0] == pytest.approx(np.exp(fit.rate_coefficients[0]), rel=1e-12)


def test_bgnbd_without_planted_effects_the_likelihood_ratio_test_does_not_reject(no_effect):
    customers, design = no_effect
    fit = fit_bgnbd_with_covariates(
        customers["frequency"], customers["recency"], customers["T"], design, time_unit="weeks"
    )
    assert fit.converged, fit.message
    assert fit.likelihood_ratio_test().p_value > 0.01
    coefficients = fit.estimates[4:]
    standard_errors = np.sqrt(np.diag(fit.covariance))[4:]
    assert np.all(np.abs(coefficients) < 3 * standard_errors), (coefficients, standard_errors)


def test_bgnbd_with_rate_covariates_only(planted):
    customers, design = planted
    fit = fit_bgnbd_with_covariates(
        customers["frequency"], customers["recency"], customers["T"], design, time_unit="weeks",
        dropout_covariates=False,
    )
    assert fit.converged, fit.message
    assert fit.dropout_a_coefficients is None and fit.dropout_a_standard_errors is None
    assert fit.likelihood_ratio_test().degrees_of_freedom == 1
    assert len(fit.coefficient_table()) == 5


def test_gamma_gamma_recovers_a_planted_spend_effect(planted, planted_fits):
    customers = planted[0]
    fit = planted_fits[1]
    assert fit.converged, fit.message
    assert fit.n_customers == int((customers["frequency"] > 0).sum())
    assert abs(fit.spend_coefficients[0] - SPEND_EFFECT) < 2.5 * fit.spend_standard_errors[0]
    for estimate, standard_error, truth in zip(
        fit.params, fit.standard_errors, TRUE_GAMMA_GAMMA, strict=True
    ):
        assert abs(estimate - truth) < 3 * standard_error, (estimate, standard_error, truth)
    assert fit.likelihood_ratio_test().p_value < 1e-10
    # a paid-search customer's expected order value before any order is exp(eta) times an organic one's
    means = fit.population_mean_order_value(np.array([[0.0], [1.0]]))
    assert means[1] / means[0] == pytest.approx(np.exp(fit.spend_coefficients[0]), rel=1e-12)


def test_gamma_gamma_without_a_planted_effect_the_likelihood_ratio_test_does_not_reject(no_effect):
    customers, design = no_effect
    fit = fit_gamma_gamma_with_covariates(customers["frequency"], customers["monetary_value"], design)
    assert fit.converged, fit.message
    assert fit.likelihood_ratio_test().p_value > 0.01
    assert abs(fit.spend_coefficients[0]) < 3 * fit.spend_standard_errors[0]


def test_cdnow_with_a_noise_covariate_keeps_the_plain_estimates(
    cdnow, cdnow_bgnbd, cdnow_gamma_gamma, cdnow_noise_design
):
    fit = fit_bgnbd_with_covariates(
        cdnow["frequency"], cdnow["recency"], cdnow["T"], cdnow_noise_design, time_unit="weeks"
    )
    assert fit.converged, fit.message
    assert fit.likelihood_ratio_test().p_value > 0.01
    # each base parameter within its standard error of the plain fit's
    for estimate, standard_error, plain in zip(
        fit.params, fit.standard_errors, cdnow_bgnbd.params, strict=True
    ):
        assert abs(estimate - plain) < standard_error, (estimate, standard_error, plain)
    np.testing.assert_allclose(fit.plain_fit.params, cdnow_bgnbd.params, rtol=1e-9)

    spend = fit_gamma_gamma_with_covariates(cdnow["frequency"], cdnow["monetary_value"], cdnow_noise_design)
    assert spend.converged, spend.message
    assert spend.likelihood_ratio_test().p_value > 0.01
    for estimate, standard_error, plain in zip(
        spend.params, spend.standard_errors, cdnow_gamma_gamma.params, strict=True
    ):
        assert abs(estimate - plain) < standard_error, (estimate, standard_error, plain)


# --- Predictions --------------------------------------------------------------------------------------------


def test_predictions_use_each_customers_own_parameters(planted, planted_fits):
    customers, design = planted
    fit, spend = planted_fits
    sample = customers.iloc[:500]
    x, t_x, T = (sample[c].to_numpy() for c in ("frequency", "recency", "T"))
    rows = design.matrix[:500]
    expected = fit.conditional_expected_purchases(26.0, x, t_x, T, rows)
    alive = fit.probability_alive(x, t_x, T, rows)
    for z in (0.0, 1.0):
        cell = rows[:, 0] == z
        params = BGNBDParams(*(float(v[0]) for v in fit.customer_params(np.array([[z]]))))
        np.testing.assert_allclose(
            expected[cell], bgnbd.conditional_expected_purchases(params, 26.0, x[cell], t_x[cell], T[cell]),
            rtol=1e-12,
        )
        np.testing.assert_allclose(alive[cell], bgnbd.probability_alive(params, x[cell], t_x[cell], T[cell]))
        new_customer = fit.expected_purchases(26.0, np.array([[z]]))
        np.testing.assert_allclose(new_customer, bgnbd.expected_purchases(params, 26.0), rtol=1e-12)

    m = sample["monetary_value"].to_numpy()
    values = spend.expected_order_value(x, m, rows)
    for z in (0.0, 1.0):
        cell = rows[:, 0] == z
        params = GammaGammaParams(*(float(v[0]) for v in spend.customer_params(np.array([[z]]))))
        np.testing.assert_allclose(
            values[cell], gamma_gamma.expected_order_value(params, x[cell], m[cell]), rtol=1e-12
        )


# --- The likelihood-ratio test and unfittable designs -------------------------------------------------------


def test_likelihood_ratio_test():
    test = likelihood_ratio_test(-1000.0, -995.0, 3)
    assert test.statistic == pytest.approx(10.0)
    assert test.degrees_of_freedom == 3
    assert test.p_value == pytest.approx(stats.chi2.sf(10.0, 3))
    # both optima found to rounding precision: a hair below 0 is 0, p = 1
    assert likelihood_ratio_test(-1000.0, -1000.0 - 1e-9, 2) == (0.0, 2, 1.0)
    # nothing added (covariates with a single level): the same model
    assert likelihood_ratio_test(-1000.0, -1000.0, 0) == (0.0, 0, 1.0)
    with pytest.raises(ValueError, match="extra_parameters"):
        likelihood_ratio_test(-1000.0, -995.0, -1)


def test_weights_count_customers_and_a_single_level_design_is_the_plain_model(no_effect):
    customers = no_effect[0].iloc[:3000]
    x, t_x, T = customers["frequency"], customers["recency"], customers["T"]
    design = design_from_frame(customers, ["channel"])
    weighted = fit_bgnbd_with_covariates(x, t_x, T, design, time_unit="weeks", weights=np.full(3000, 2.0))
    doubled = fit_bgnbd_with_covariates(
        pd.concat([x, x]), pd.concat([t_x, t_x]), pd.concat([T, T]), np.vstack([design.matrix] * 2),
        time_unit="weeks",
    )
    assert weighted.n_customers == doubled.n_customers == 6000
    assert doubled.n_distinct_rows == 3000  # each history collapsed with its copy
    np.testing.assert_allclose(weighted.estimates, doubled.estimates, rtol=1e-9, atol=1e-9)
    assert weighted.log_likelihood == pytest.approx(doubled.log_likelihood, rel=1e-12)

    single = design_from_frame(pd.DataFrame({"channel": ["organic"] * 3000}), ["channel"])
    fit = fit_bgnbd_with_covariates(x, t_x, T, single, time_unit="weeks")
    assert fit.converged and fit.covariate_names == () and fit.params == fit.plain_fit.params
    assert fit.likelihood_ratio_test() == (0.0, 0, 1.0)


def test_unfittable_designs_are_clear_errors(cdnow):
    x, t_x, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    with pytest.raises(ModelFitError, match="rows for 2357 customers"):
        fit_bgnbd_with_covariates(x, t_x, T, np.zeros((10, 1)), time_unit="weeks")
    with pytest.raises(ModelFitError, match=r"constant over all customers: \['z1'\]"):
        fit_bgnbd_with_covariates(
            x, t_x, T, np.column_stack([np.arange(len(x)) % 2, np.zeros(len(x))]), time_unit="weeks"
        )
    aliased = np.arange(len(x)) % 2
    with pytest.raises(ModelFitError, match="collinear"):
        fit_gamma_gamma_with_covariates(
            x, cdnow["monetary_value"], np.column_stack([aliased, 1 - aliased, np.arange(len(x)) % 3 == 0])
        )
