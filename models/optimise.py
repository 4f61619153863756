"""Maximum likelihood for the small models: L-BFGS-B on log-parameters, a Newton polish, a numerical Hessian.

Both BG/NBD and Gamma-Gamma have a handful of positive parameters. Optimising their logarithms keeps them
positive; L-BFGS-B bounds on the logarithms keep a flat likelihood from sending one to 0 or infinity. The
L-BFGS-B answer is then refined by a few Newton steps on the numerical Hessian of the analytic gradient,
which takes the estimate to the precision of the arithmetic (so fits agree with other implementations to
1e-6 and more, not only to the optimiser's tolerance). The same Hessian, scaled to the total weight, is the
observed information; its inverse is the asymptotic covariance of the log-parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize

# exp(+-18.42) = 1e8 / 1e-8: far outside any sensible estimate, so a bound that binds means "not identified".
LOG_PARAMETER_BOUND = 18.42

ObjectiveWithGradient = Callable[[np.ndarray], tuple[float, np.ndarray]]


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """sum(a * b) for 1-D arrays, without BLAS.

    ``a @ b`` calls OpenBLAS ddot, which splits long vectors across threads; on a busy machine (or next to
    DuckDB's threads) the threads wait for each other and one dot product can take 10x longer than the
    single-threaded loop einsum runs. The likelihoods take a dozen dot products per evaluation.
    """
    return float(np.einsum("i,i->", a, b))


@dataclass(frozen=True)
class Optimum:
    log_params: np.ndarray  # argmin of the mean negative log-likelihood, in optimisation space
    mean_hessian: np.ndarray  # Hessian of the mean negative log-likelihood at the optimum
    converged: bool
    message: str
    iterations: int

    def covariance(self, total_weight: float) -> np.ndarray:
        """Asymptotic covariance of the log-parameters: the inverse of the total (not mean) Hessian, the
        observed information; NaN when the Hessian is not positive definite (no proper maximum)."""
        k = self.log_params.size
        hessian = self.mean_hessian
        if k and np.all(np.isfinite(hessian)) and np.all(np.linalg.eigvalsh(hessian) > 0):
            return np.linalg.inv(hessian * total_weight)
        return np.full((k, k), np.nan)


def numerical_hessian(
    objective: ObjectiveWithGradient,
    theta: np.ndarray,
    gradient: np.ndarray | None = None,
    step: float = 1e-6,
) -> np.ndarray:
    """Hessian from differences of the analytic gradient, symmetrised.

    With ``gradient`` (the gradient at ``theta``) forward differences: k gradient evaluations, error of
    order ``step`` (1e-6 relative, plenty for Newton steps and a covariance). Without it, central
    differences: 2k evaluations, error of order step**2.
    """
    k = theta.size
    hessian = np.empty((k, k))
    for j in range(k):
        shift = np.zeros(k)
        shift[j] = step
        if gradient is None:
            hessian[:, j] = (objective(theta + shift)[1] - objective(theta - shift)[1]) / (2 * step)
        else:
            hessian[:, j] = (objective(theta + shift)[1] - gradient) / step
    return (hessian + hessian.T) / 2


def minimise_negative_log_likelihood(
    objective: ObjectiveWithGradient,
    theta0: np.ndarray,
    *,
    gradient_tolerance: float = 1e-9,
    max_iterations: int = 2000,
    newton_steps: int = 10,
    hessian_of: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> Optimum:
    """Minimise a mean negative log-likelihood of log-parameters; the objective returns (value, gradient).

    L-BFGS-B brings the gradient to about 1e-6, Newton steps (on a Hessian by forward differences, taken
    again only when a step did not shrink the gradient tenfold) take it to the rounding floor in one to three
    steps: about 20 evaluations in all. ``hessian_of(theta, gradient)``, when given, replaces
    ``numerical_hessian`` (for an objective whose structure makes it cheaper: ``models.covariates``).

    ``converged`` requires: a finite optimum, a positive-definite Hessian (a proper maximum, so a covariance
    exists), a largest gradient component below ``gradient_tolerance`` and no parameter at its bound.
    """
    if hessian_of is None:
        def hessian_of(at: np.ndarray, gradient_at: np.ndarray) -> np.ndarray:
            return numerical_hessian(objective, at, gradient_at)
    bounds = [(-LOG_PARAMETER_BOUND, LOG_PARAMETER_BOUND)] * theta0.size
    result = optimize.minimize(
        objective,
        theta0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iterations, "ftol": 1e-13, "gtol": 1e-6, "maxcor": 20},
    )
    theta = np.clip(result.x, -LOG_PARAMETER_BOUND, LOG_PARAMETER_BOUND)
    if np.array_equal(theta, result.x):
        value, gradient = float(result.fun), np.asarray(result.jac, dtype=float)
    else:
        value, gradient = objective(theta)
    iterations = int(result.nit)

    hessian, hessian_at, kept_converging = None, None, False
    for _ in range(newton_steps):
        if np.max(np.abs(gradient)) < gradient_tolerance * 1e-3:
            break
        # The Hessian is taken once and kept while each step shrinks the gradient at least tenfold: L-BFGS
        # ends close enough that it barely changes, and re-estimating it costs one gradient per parameter (23
        # for a covariate BG/NBD) where a step costs one.
        if hessian is None or not kept_converging:
            hessian, hessian_at = hessian_of(theta, gradient), theta
        try:
            cholesky = np.linalg.cholesky(hessian)
        except np.linalg.LinAlgError:
            break
        step = -np.linalg.solve(cholesky.T, np.linalg.solve(cholesky, gradient))
        # Near the optimum the decrease is below the rounding noise of the value, so a step that does not
        # raise the value beyond that noise is also accepted if it shrinks the gradient. The noise is that
        # of the sums the value is made of, which can be much larger than the value itself: when the decrease
        # the quadratic model predicts (g' H^-1 g / 2) is itself below 1e-9, the value cannot tell, and a
        # rise up to 1e-9 is taken for noise.
        scale = max(1.0, abs(value))
        noise = 1e-9 * scale if -0.5 * float(gradient @ step) < 1e-9 * scale else 1e-12 * scale
        accepted = False
        for shrink in (1.0, 0.5, 0.25, 0.125, 0.0625):
            candidate = np.clip(theta + shrink * step, -LOG_PARAMETER_BOUND, LOG_PARAMETER_BOUND)
            candidate_value, candidate_gradient = objective(candidate)
            if np.isfinite(candidate_value) and (
                candidate_value < value
                or (
                    candidate_value <= value + noise
                    and np.linalg.norm(candidate_gradient) < np.linalg.norm(gradient)
                )
            ):
                accepted = True
                break
        if not accepted:
            break
        moved = np.max(np.abs(candidate - theta))
        kept_converging = np.linalg.norm(candidate_gradient) <= 0.1 * np.linalg.norm(gradient)
        theta, value, gradient = candidate, candidate_value, candidate_gradient
        iterations += 1
        if moved < 1e-12:
            break
    # The last Newton Hessian is reused when the optimum is within 1e-4 of where it was taken (its entries
    # then differ by ~1e-4 relative at most, far below the sampling error a covariance describes).
    if hessian is None or np.max(np.abs(theta - hessian_at)) > 1e-4:
        hessian = hessian_of(theta, gradient)

    problems = []
    if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
        problems.append("the log-likelihood is not finite at the optimum")
    if not np.all(np.isfinite(hessian)) or np.any(np.linalg.eigvalsh(hessian) <= 0):
        problems.append("the Hessian is not positive definite (a parameter is not identified)")
    if np.max(np.abs(gradient)) > gradient_tolerance:
        problems.append(
            f"largest gradient component {np.max(np.abs(gradient)):.2e} > {gradient_tolerance:.0e}"
        )
    at_bound = np.abs(theta) >= LOG_PARAMETER_BOUND - 1e-6
    if np.any(at_bound):
        problems.append(
            f"log-parameter(s) {np.flatnonzero(at_bound).tolist()} at the bound +-{LOG_PARAMETER_BOUND}"
        )
    message = "converged" if not problems else "; ".join(problems)
    return Optimum(theta, hessian, not problems, message, iterations)
