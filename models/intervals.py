"""Per-customer intervals that reflect parameter uncertainty: the delta method on the log scale.

The maximum-likelihood estimate of the log-parameters theta is asymptotically normal with covariance
Sigma = H^-1, the inverse Hessian of the negative weighted log-likelihood (the fit results carry it). For a
positive per-customer prediction f(theta) (expected purchases, CLV), log f(theta_hat) is then approximately
normal with variance g' Sigma g, g = d log f / d theta. The q-quantile is

    f(theta_hat) * exp(z_q * sqrt(g' Sigma g)),   z_q = standard normal quantile,

so the interval is never negative, is asymmetric like the predictions themselves, and always brackets the
point estimate. g is computed by central differences (step 1e-4 in log-parameter space), so the cost is
1 + 2k vectorised evaluations per model (9 for BG/NBD's four parameters, 7 for Gamma-Gamma's three) whatever
the number of customers; no parameter draws are stored. Independent fits (BG/NBD and Gamma-Gamma) add
their variances, since log CLV = log(discounted purchases) + log(order value).

What it does not cover: uncertainty about the customer's own latent rate and dropout (the spread of the
purchase count itself), and model misspecification. It answers "how sure are we of this customer's
expected value", not "how many purchases will this customer make". The published intervals answer the
latter: ``models.predictive_intervals`` (the count's distribution, mixed over the same covariance).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

INTERVAL_QUANTILES = (0.1, 0.9)  # an 80% interval
DIFFERENCE_STEP = 1e-4


def central_log_gradients(
    evaluate: Callable[[np.ndarray], Sequence[np.ndarray]], theta: np.ndarray, step: float = DIFFERENCE_STEP
) -> list[np.ndarray]:
    """d log f_i / d theta for each output f_i of ``evaluate`` (all positive), one (n_i, k) array per output.

    ``evaluate`` maps a log-parameter vector to a sequence of per-customer prediction arrays; it is called
    2k times.
    """
    theta = np.asarray(theta, dtype=float)
    gradients: list[np.ndarray] | None = None
    for j in range(theta.size):
        shift = np.zeros(theta.size)
        shift[j] = step
        upper = evaluate(theta + shift)
        lower = evaluate(theta - shift)
        if gradients is None:
            gradients = [np.empty((np.size(u), theta.size)) for u in upper]
        for gradient, up, down in zip(gradients, upper, lower, strict=True):
            gradient[:, j] = (np.log(up) - np.log(down)) / (2 * step)
    return gradients or []


def lognormal_quantiles(
    point: np.ndarray,
    gradient_covariance_pairs: Sequence[tuple[np.ndarray, np.ndarray]],
    quantiles: Sequence[float] = INTERVAL_QUANTILES,
) -> list[np.ndarray]:
    """Quantiles point * exp(z_q * sd), sd^2 = sum over pairs of g' Sigma g (independent parameter blocks).

    ``gradient_covariance_pairs``: (g of shape (n, k), Sigma of shape (k, k)) per parameter block. NaN where a
    covariance is not available (a fit that did not converge).
    """
    point = np.asarray(point, dtype=float)
    variance = np.zeros(point.shape)
    for gradient, covariance in gradient_covariance_pairs:
        variance = variance + np.einsum("ij,jk,ik->i", gradient, covariance, gradient).reshape(point.shape)
    sd = np.sqrt(np.maximum(variance, 0.0))
    return [point * np.exp(stats.norm.ppf(q) * sd) for q in quantiles]
