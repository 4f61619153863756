"""Pareto/NBD: the published CDNOW estimates, equality with lifetimes, the closed forms against numerical
integrals of the model, heavy buyers and the alpha = beta and s = 1 edges, and the purchase-count
distribution (sums to one, mean, lifetimes' closed form, quadrature, brute-force simulation)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from models.errors import ModelFitError
from models.pareto_nbd import (
    ParetoNBDParams,
    _log_F,
    _NegativeMeanLogLikelihood,
    conditional_expected_purchases,
    expected_purchases,
    fit_pareto_nbd,
    log_likelihood,
    log_likelihood_contributions,
    probability_alive,
    purchase_count_pmf,
)

PUBLISHED = ParetoNBDParams(r=0.553, alpha=10.578, s=0.606, beta=11.669)
# a few CDNOW-like histories (weeks) and a heavy buyer with x = 300
X = np.array([0.0, 1.0, 2.0, 7.0, 10.0, 300.0])
T_X = np.array([0.0, 5.0, 30.0, 12.0, 38.0, 38.5])
AGE = np.array([39.0, 39.0, 39.0, 39.0, 39.0, 39.0])


@pytest.fixture(scope="module")
def cdnow_pareto_nbd(cdnow):
    started = time.perf_counter()
    fit = fit_pareto_nbd(cdnow["frequency"], cdnow["recency"], cdnow["T"], time_unit="weeks")
    return fit, time.perf_counter() - started


def _lifetimes_fitter(params: ParetoNBDParams):
    """lifetimes' ParetoNBDFitter carrying given (r, alpha, s, beta), without fitting; None if it cannot be
    used with the installed pandas/numpy."""
    try:
        from lifetimes.fitters.pareto_nbd_fitter import ParetoNBDFitter

        fitter = ParetoNBDFitter()
        fitter.params_ = pd.Series(np.asarray(params, dtype=float), index=["r", "alpha", "s", "beta"])
        fitter.conditional_probability_alive(1.0, 1.0, 2.0)
        return fitter
    except Exception:  # noqa: BLE001 - any breakage of the reference implementation means "skip"
        return None


def _died_in_window(params: ParetoNBDParams, x: float, t_x: float, T: float) -> float:
    """s/(r+s+x) A0 = s int_{t_x}^T (alpha+y)^-(r+x) (beta+y)^-(s+1) dy (FH eq. 15), by adaptive quadrature,
    returned in logs (scaled by its integrand at t_x, so a heavy buyer's 1e-700 does not underflow)."""
    r, alpha, s, beta = params

    def log_integrand(y):
        return -(r + x) * np.log(alpha + y) - (s + 1) * np.log(beta + y)

    top = log_integrand(t_x)
    value, _ = integrate.quad(lambda y: np.exp(log_integrand(y) - top), t_x, T, epsabs=0, epsrel=1e-13,
                              limit=200)
    return np.log(s) + np.log(value) + top


def _simulate(params: ParetoNBDParams, T: float, t: float, n: int, rng) -> tuple[np.ndarray, ...]:
    """Brute force of the Pareto/NBD story over (0, T + t]: lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta),
    lifetime tau ~ Exp(mu); Poisson(lambda) purchases while alive. Given their number over the time alive
    within (0, T+t], the purchase times are uniform, so the count in (0, T] is binomial and t_x is the
    largest of x uniforms on the observed part. Returns x, t_x and Y, the purchases in (T, T+t]."""
    r, alpha, s, beta = params
    rate = rng.gamma(r, 1.0 / alpha, n)
    lifetime = rng.exponential(1.0 / rng.gamma(s, 1.0 / beta, n))
    alive_until = np.minimum(lifetime, T + t)
    observed = np.minimum(alive_until, T)
    total = rng.poisson(rate * alive_until)
    x = rng.binomial(total, observed / alive_until)
    t_x = np.where(x > 0, observed * rng.beta(np.maximum(x, 1), 1.0), 0.0)
    return x.astype(float), t_x, (total - x).astype(float)


# --- Published values: Fader, Hardie & Lee (2005), Marketing Science 24(2), CDNOW 1/10 sample ---------------


def test_cdnow_estimates_match_the_paper(cdnow_pareto_nbd):
    """Fader, Hardie & Lee (2005), "'Counting your customers' the easy way", Marketing Science 24(2),
    275-284, table 1 (and note 008): r = 0.553, alpha = 10.578, s = 0.606, beta = 11.669 in weeks,
    LL = -9595.0, on the 2,357 CDNOW customers' 39-week calibration period."""
    fit, seconds = cdnow_pareto_nbd
    assert fit.converged, fit.message
    assert fit.time_unit == "weeks" and fit.n_customers == 2357
    np.testing.assert_allclose(np.round(fit.params, 3), PUBLISHED, atol=1e-12)
    assert round(fit.log_likelihood, 1) == -9595.0
    assert fit.covariance.shape == (4, 4) and np.all(np.isfinite(fit.standard_errors))
    print(f"\nPareto/NBD on CDNOW: {fit.params}, LL {fit.log_likelihood:.4f}, {seconds:.2f} s")


def test_the_fit_is_the_maximum_and_days_give_the_same_fit(cdnow, cdnow_pareto_nbd):
    fit, _ = cdnow_pareto_nbd
    for direction in np.eye(4):
        for step in (1e-4, -1e-4):
            moved = ParetoNBDParams(*np.exp(fit.log_params + step * direction))
            moved_ll = log_likelihood(moved, cdnow["frequency"], cdnow["recency"], cdnow["T"])
            assert moved_ll < fit.log_likelihood
    in_days = fit_pareto_nbd(cdnow["frequency"], 7 * cdnow["recency"], 7 * cdnow["T"], time_unit="days")
    assert in_days.converged, in_days.message
    np.testing.assert_allclose(in_days.params, np.asarray(fit.params) * [1, 7, 1, 7], rtol=1e-6)
    # the likelihood of x purchase times is a density in time^-x: ln L(days) = ln L(weeks) - sum(x) ln 7
    assert in_days.log_likelihood == pytest.approx(
        fit.log_likelihood - cdnow["frequency"].sum() * np.log(7), abs=1e-6
    )


@pytest.mark.parametrize(
    "params", [PUBLISHED, ParetoNBDParams(0.8, 4.0, 1.3, 9.0), ParetoNBDParams(2.0, 30.0, 0.4, 3.0)]
)
def test_the_gradient_is_the_likelihoods_slope(cdnow, params):
    """The fit's gradient (analytic but for ln F's parameter derivatives) against central differences of the
    value, on CDNOW's histories with weights (both alpha >= beta and alpha < beta), at 1e-7."""
    x, t_x, age = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    weights = np.arange(x.size) % 4 + 1.0
    objective = _NegativeMeanLogLikelihood(x, t_x / 39.0, age / 39.0, weights)
    theta = np.log(params) - np.log([1.0, 39.0, 1.0, 39.0])
    value, gradient = objective(theta)
    assert value == objective.value(theta)
    step = 1e-6
    numerical = [(objective.value(theta + step * e) - objective.value(theta - step * e)) / (2 * step)
                 for e in np.eye(4)]
    np.testing.assert_allclose(gradient, numerical, rtol=0, atol=1e-7)


def test_weights_count_customers(cdnow):
    sample = cdnow.iloc[:400]
    counts = np.arange(400) % 3 + 1
    weighted = fit_pareto_nbd(sample["frequency"], sample["recency"], sample["T"], time_unit="weeks",
                              weights=counts)
    repeated = sample.loc[sample.index.repeat(counts)]
    expanded = fit_pareto_nbd(repeated["frequency"], repeated["recency"], repeated["T"], time_unit="weeks")
    np.testing.assert_allclose(weighted.params, expanded.params, rtol=1e-6)
    assert weighted.n_customers == expanded.n_customers == counts.sum()


# --- Equality with lifetimes' ParetoNBDFitter --------------------------------------------------------------


def test_log_likelihood_equals_lifetimes():
    from lifetimes.fitters.pareto_nbd_fitter import ParetoNBDFitter

    for params in (PUBLISHED, ParetoNBDParams(0.8, 4.0, 1.3, 9.0), ParetoNBDParams(0.8, 6.0, 1.3, 6.0)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs = ParetoNBDFitter._conditional_log_likelihood(tuple(params), X, T_X, AGE)
        except Exception as error:  # noqa: BLE001
            pytest.skip(f"lifetimes' Pareto/NBD likelihood does not run here: {error!r}")
        np.testing.assert_allclose(log_likelihood_contributions(params, X, T_X, AGE), theirs, rtol=1e-12)


@pytest.mark.parametrize(
    "params",
    [PUBLISHED, ParetoNBDParams(0.8, 4.0, 1.3, 9.0), ParetoNBDParams(0.8, 6.0, 1.3, 6.0)],
    ids=["cdnow", "alpha<beta", "alpha=beta"],
)
def test_probability_alive_and_conditional_expectation_equal_lifetimes(params):
    fitter = _lifetimes_fitter(params)
    if fitter is None:
        pytest.skip("lifetimes' ParetoNBDFitter does not run with the installed pandas/numpy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(
            probability_alive(params, X, T_X, AGE),
            fitter.conditional_probability_alive(X, T_X, AGE),
            rtol=1e-11,
        )
        np.testing.assert_allclose(
            conditional_expected_purchases(params, 39.0, X, T_X, AGE),
            fitter.conditional_expected_number_of_purchases_up_to_time(39.0, X, T_X, AGE),
            rtol=1e-11,
        )
        t = np.array([1.0, 39.0, 78.0])
        np.testing.assert_allclose(
            expected_purchases(params, t), fitter.expected_number_of_purchases_up_to_time(t), rtol=1e-12
        )


# --- The closed forms against numerical integrals of the model ---------------------------------------------


@pytest.mark.parametrize(
    "params",
    [PUBLISHED, ParetoNBDParams(0.8, 4.0, 1.3, 9.0), ParetoNBDParams(0.8, 6.0, 1.3, 6.0),
     ParetoNBDParams(0.5, 0.2, 0.7, 40.0), ParetoNBDParams(0.5, 40.0, 0.7, 0.2)],
    ids=["cdnow", "alpha<beta", "alpha=beta", "beta>>alpha", "alpha>>beta"],
)
def test_probability_alive_equals_the_integral_of_the_model(params):
    """P(alive) = alive term / (alive term + s int_{t_x}^T (alpha+y)^-(r+x) (beta+y)^-(s+1) dy), the
    integral by adaptive quadrature; including x = 300, whose terms are ~1e-500 (only logs represent them).
    Also the log-likelihood's bracket, and E[Y(t)] = P(alive) (r+x)/(alpha+T) E[min(tau, t) | alive]."""
    r, alpha, s, beta = params
    for x, t_x, T in zip(X, T_X, AGE, strict=True):
        alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        died = _died_in_window(params, x, t_x, T)
        assert probability_alive(params, x, t_x, T) == pytest.approx(special.expit(alive - died), rel=1e-10)
        common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        assert log_likelihood_contributions(params, x, t_x, T) == pytest.approx(
            common + np.logaddexp(alive, died), rel=1e-12, abs=1e-10
        )
        remaining, _ = integrate.quad(lambda u: ((beta + T) / (beta + T + u)) ** s, 0.0, 39.0, epsrel=1e-13)
        assert conditional_expected_purchases(params, 39.0, x, t_x, T) == pytest.approx(
            special.expit(alive - died) * (r + x) / (alpha + T) * remaining, rel=1e-10
        )


def test_a_heavy_buyer_is_finite_where_scipy_hyp2f1_fails():
    """alpha >> beta + t with hundreds of purchases: scipy's hyp2f1 returns NaN (upper parameter > 200,
    argument > 0.99) and FHL's alpha < beta form overflows when beta >> alpha; both are handled in logs."""
    for params in (ParetoNBDParams(0.55, 10.6, 0.6, 0.01), ParetoNBDParams(0.55, 0.01, 0.6, 10.6)):
        r, alpha, s, beta = params
        for x, t in ((300.0, 0.0), (500.0, 2.0), (3000.0, 0.5)):
            def log_integrand(y):
                return -(r + x) * np.log(alpha + y) - (s + 1) * np.log(beta + y)

            top = log_integrand(t)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # quad warns it cannot reach 1e-13 on the infinite range
                value, _ = integrate.quad(lambda y: np.exp(log_integrand(y) - top), t, np.inf, epsabs=0,
                                          epsrel=1e-13, limit=500)
            # F(t) = (r+s+x) int_t^inf (alpha+y)^-(r+x) (beta+y)^-(s+1) dy
            expected = np.log(r + s + x) + np.log(value) + top
            assert _log_F(params, x, t) == pytest.approx(expected, rel=1e-12)
        histories = (np.array([300.0, 3000.0]), np.array([1.0, 2.0]), np.array([39.0, 39.0]))
        assert np.all(np.isfinite(log_likelihood_contributions(params, *histories)))
        alive = probability_alive(params, *histories)
        assert np.all((alive >= 0) & (alive <= 1))


def test_a_purchase_on_the_last_day_means_alive():
    assert probability_alive(PUBLISHED, 5.0, 39.0, 39.0) == 1.0
    assert np.isfinite(log_likelihood_contributions(PUBLISHED, 5.0, 39.0, 39.0))


def test_s_equal_to_one_is_the_limit_of_the_closed_form():
    """[1 - ((beta+T)/(beta+T+t))^(s-1)] / (s-1) is 0/0 at s = 1: the answer is continuous there."""
    at_one = ParetoNBDParams(0.8, 4.0, 1.0, 9.0)
    for s in (1.0 - 1e-7, 1.0 + 1e-7):
        near = at_one._replace(s=s)
        np.testing.assert_allclose(conditional_expected_purchases(near, 39.0, X, T_X, AGE),
                                   conditional_expected_purchases(at_one, 39.0, X, T_X, AGE), rtol=1e-6)
        np.testing.assert_allclose(
            expected_purchases(near, 52.0), expected_purchases(at_one, 52.0), rtol=1e-6
        )
    exposure = 9.0 * np.log1p(52.0 / 9.0)  # E[min(tau, 52)] for tau Lomax(1, 9)
    assert expected_purchases(at_one, 52.0) == pytest.approx(0.8 / 4.0 * exposure, rel=1e-14)


def test_errors_name_the_model():
    with pytest.raises(ModelFitError, match="Pareto/NBD.*recency t_x greater"):
        fit_pareto_nbd([1, 2], [3.0, 10.0], [2.0, 12.0], time_unit="weeks")
    with pytest.raises(ModelFitError, match="Pareto/NBD.*all x = 0"):
        fit_pareto_nbd([0, 0], [0.0, 0.0], [2.0, 12.0], time_unit="weeks")
    with pytest.raises(ModelFitError, match="weights"):
        fit_pareto_nbd([1, 2], [1.0, 10.0], [2.0, 12.0], time_unit="weeks", weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="time_unit"):
        fit_pareto_nbd([1, 2], [1.0, 10.0], [2.0, 12.0], time_unit="fortnights")


def test_the_fit_recovers_known_parameters():
    """30,000 simulated customers, 40 to 80 weeks old (times rounded to days): within 3 standard errors."""
    truth = ParetoNBDParams(0.7, 5.0, 0.9, 15.0)
    rng = np.random.default_rng(2005)
    x, t_x, age = (np.empty(30_000) for _ in range(3))
    for cohort, group in enumerate(np.array_split(np.arange(30_000), 40)):
        age[group] = 40.0 + cohort
        x[group], t_x[group], _ = _simulate(truth, age[group[0]], 0.0, group.size, rng)
    t_x = np.where(x > 0, np.maximum(np.round(t_x * 7), 1) / 7, 0.0)
    fit = fit_pareto_nbd(x, t_x, age, time_unit="weeks")
    assert fit.converged, fit.message
    errors = np.sqrt(np.diag(fit.covariance))
    assert np.all(np.abs(fit.log_params - np.log(truth)) < 3 * errors), (fit.params, fit.standard_errors)


# --- The distribution of purchases in (T, T+t] -------------------------------------------------------------


@pytest.mark.parametrize(
    "params", [PUBLISHED, ParetoNBDParams(0.8, 6.0, 1.0, 6.0), ParetoNBDParams(2.0, 3.0, 2.5, 20.0)],
    ids=["cdnow", "alpha=beta,s=1", "s>1"],
)
def test_pmf_sums_to_one_and_its_mean_is_the_conditional_expectation(params):
    k = np.arange(0, 1500)[:, None]
    pmf = purchase_count_pmf(params, 39.0, k, X, T_X, AGE)
    assert np.all(pmf >= 0)
    np.testing.assert_allclose(pmf.sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(
        (k * pmf).sum(axis=0),
        conditional_expected_purchases(params, 39.0, X, T_X, AGE),
        rtol=1e-10,
        atol=1e-12,
    )
    # no horizon, no purchase
    np.testing.assert_array_equal(purchase_count_pmf(params, 0.0, k[:3], X, T_X, AGE), [[1.0] * 6, [0.0] * 6,
                                                                                         [0.0] * 6])


def test_pmf_single_probabilities_equal_adaptive_quadrature():
    """Each P(Y = k | alive) against the lifetime integral by adaptive quadrature in u, for the heavy buyer's
    bulk (k around 150-230 purchases in 39 weeks) as well as an occasional buyer."""
    r, alpha, s, beta = PUBLISHED
    for x, t_x, T, ks in ((300.0, 38.5, 39.0, (0, 150, 190, 230)), (2.0, 30.0, 39.0, (0, 1, 3, 10))):
        def negative_binomial(k, u):
            return stats.nbinom.pmf(k, r + x, (alpha + T) / (alpha + T + u))

        p_alive = probability_alive(PUBLISHED, x, t_x, T)
        for k in ks:
            died, _ = integrate.quad(
                lambda u: s / (beta + T) * ((beta + T) / (beta + T + u)) ** (s + 1) * negative_binomial(k, u),
                0.0, 39.0, epsabs=1e-15, epsrel=1e-12, limit=200,
            )
            if_alive = ((beta + T) / (beta + T + 39.0)) ** s * negative_binomial(k, 39.0) + died
            expected = p_alive * if_alive + (1 - p_alive) * (k == 0)
            assert purchase_count_pmf(PUBLISHED, 39.0, k, x, t_x, T) == pytest.approx(expected, rel=1e-9,
                                                                                      abs=1e-14)


def test_pmf_equals_lifetimes_closed_form():
    """lifetimes implements Fader & Hardie's closed form of P(Y = n | x, t_x, T) (note 028, eq. 16)."""
    fitter = _lifetimes_fitter(PUBLISHED)
    if fitter is None:
        pytest.skip("lifetimes' ParetoNBDFitter does not run with the installed pandas/numpy")
    x, t_x, T = X[:5], T_X[:5], AGE[:5]  # its closed form loses precision for x = 300
    for n in (0, 1, 2, 5):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = fitter.conditional_probability_of_n_purchases_up_to_time(n, 39.0, x, t_x, T)
        np.testing.assert_allclose(purchase_count_pmf(PUBLISHED, 39.0, n, x, t_x, T), theirs, rtol=1e-8)


def test_pmf_matches_a_brute_force_simulation():
    """200,000 simulated customers: those without a repeat purchase in (0, T] share one history, so their
    future counts are draws from P(Y = k | 0, 0, T); over everyone, the average of the conditional PMFs over
    the simulated histories is the distribution of Y (tolerance: 4 standard errors of a share + 1e-4)."""
    params, T, t, n = ParetoNBDParams(0.9, 6.0, 0.8, 12.0), 30.0, 40.0, 200_000
    x, t_x, future = _simulate(params, T, t, n, np.random.default_rng(19870101))
    k = np.arange(0, 12)
    never = x == 0
    expected = purchase_count_pmf(params, t, k, 0.0, 0.0, T)
    observed = np.bincount(future[never].astype(int), minlength=k.size)[: k.size] / never.sum()
    tolerance = 4 * np.sqrt(expected * (1 - expected) / never.sum()) + 1e-4
    assert np.all(np.abs(observed - expected) <= tolerance), (observed, expected)

    average = np.array([purchase_count_pmf(params, t, j, x, t_x, T, nodes=32).mean() for j in k])
    observed = np.bincount(future.astype(int), minlength=k.size)[: k.size] / n
    tolerance = 4 * np.sqrt(average * (1 - average) / n) + 1e-4
    assert np.all(np.abs(observed - average) <= tolerance), (observed, average)
