"""``models.simulation.simulate_pareto_nbd``: histories consistent with the model (the mean count is FH eq.
27's E[X(T)]) and a fit on them recovers the parameters they were simulated from."""

from __future__ import annotations

import numpy as np
import pytest

from models.pareto_nbd import ParetoNBDParams, expected_purchases, fit_pareto_nbd
from models.simulation import simulate_pareto_nbd

N_CUSTOMERS = 50_000
TRUTHS = [
    ParetoNBDParams(r=0.55, alpha=74.0, s=0.6, beta=82.0),  # CDNOW's estimates in days (alpha < beta)
    ParetoNBDParams(r=1.5, alpha=120.0, s=2.0, beta=60.0),  # alpha > beta, s > 1
]


def _simulate(truth: ParetoNBDParams, seed: int):
    """Customers acquired over three years, observed until its end, in days."""
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 3 * 365, N_CUSTOMERS, endpoint=True).astype(float)
    return simulate_pareto_nbd(truth, T, rng)


@pytest.mark.parametrize("truth", TRUTHS, ids=["cdnow-days", "alpha>beta"])
def test_histories_are_consistent_with_the_model(truth):
    x, t_x, T = _simulate(truth, 1)
    assert x.shape == t_x.shape == T.shape == (N_CUSTOMERS,)
    assert np.all(x == np.round(x)) and np.all(x >= 0)
    assert np.all(t_x[x == 0] == 0)
    assert np.all((t_x[x > 0] > 0) & (t_x[x > 0] <= T[x > 0]))
    # the mean number of repeat purchases against E[X(T)] (FH eq. 27), within 4 standard errors
    standard_error = x.std() / np.sqrt(N_CUSTOMERS)
    assert abs(x.mean() - expected_purchases(truth, T).mean()) < 4 * standard_error
    np.testing.assert_array_equal(_simulate(truth, 1).recency, t_x)  # the generator decides everything


@pytest.mark.parametrize("truth", TRUTHS, ids=["cdnow-days", "alpha>beta"])
def test_a_fit_recovers_the_parameters(truth):
    """50,000 customers: every estimate within 3 standard errors of the truth (on the log scale the fit's
    covariance is in). Recency is left unrounded: rounded up to whole days, as a transaction table gives it,
    it biases s and beta upwards by about 1.5 standard errors here (short lifetimes, beta = 60 days), which
    is the rounding's error, not the simulator's (over 40 seeds the unrounded z-scores average 0, sd 1)."""
    x, t_x, T = _simulate(truth, 2)
    fit = fit_pareto_nbd(x, t_x, T, time_unit="days")
    assert fit.converged, fit.message
    errors = np.sqrt(np.diag(fit.covariance))
    assert np.all(np.abs(fit.log_params - np.log(truth)) < 3 * errors), (fit.params, fit.standard_errors)
