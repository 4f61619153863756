"""Fit the full model and its limiting cases, choose by likelihood, and say what was published and why.

A fit's ``status`` is one of:

- ``fitted``: the full model (BG/NBD r, alpha, a, b; Gamma-Gamma p, q, gamma) at a proper interior maximum;
- ``limiting_case``: the likelihood's maximum lies on the boundary of the full model (customers do not
  differ), and the limiting model there (``models.bgnbd_limits``, ``models.gamma_gamma_limits``) is
  published, with ``reason`` saying which boundary;
- ``not_fitted``: too little data (``models.minimum_data``), data no fit can use, or no maximum that any of the
  models reaches; ``reason`` says which, in words. No prediction comes from such a fit.

The choice. The limiting models are nested in the full one as boundary cases, so the full model's likelihood
reaches at least theirs. The full model is fitted first; when it converges (a finite, positive-definite
maximum inside its parameter space, ``models.optimise``) that maximum is the answer (fitting every limit as
well would only matter for a likelihood with a second, higher maximum on a boundary, and would multiply the
cost of a fit at a million customers several times). When it does not, the maximum lies on a boundary: every
limiting model is fitted, starting from the point the full model's optimiser was heading for, and the one with
the highest log-likelihood among those that converged is chosen. A non-converged fit still shows how high the likelihood
goes: when one reaches more than half the 95 % chi-square quantile (degrees of freedom: the parameters the
chosen model drops) above the chosen model, the data are significantly better described by a point none of the
converged models reaches (a boundary no limiting case covers, or an optimiser failure), and nothing is
published rather than a model the data reject. The full model wins ties within LIKELIHOOD_TIE per customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from models import bgnbd_limits, gamma_gamma_limits
from models.bgnbd import check_histories
from models.bgnbd_limits import PurchaseVariant, fit_variant
from models.distinct import distinct_rows
from models.errors import ModelFitError
from models.gamma_gamma_limits import SpendVariant, fit_spend_variant, is_constant_spend
from models.minimum_data import purchase_data_shortfall, spend_data_shortfall
from models.time_units import check_time_unit

FITTED = "fitted"
LIMITING_CASE = "limiting_case"
NOT_FITTED = "not_fitted"
STATUSES = (FITTED, LIMITING_CASE, NOT_FITTED)

# Log-likelihoods within this much per customer are equal for the choice (rounding of the optimiser).
LIKELIHOOD_TIE = 1e-9
SIGNIFICANCE = 0.95


@dataclass(frozen=True)
class Candidate:
    """One model tried: its variant, log-likelihood at the optimiser's answer, and whether it converged."""

    variant: str
    parameters: int
    log_likelihood: float
    converged: bool
    message: str


@dataclass(frozen=True)
class SelectedFit:
    """What a model family produced. ``variant``, ``theta`` (optimisation space: logs, logit of p) and
    ``covariance`` (of theta; NaN when there is none) are None / empty when ``status`` is not_fitted."""

    model: str  # "bg_nbd" | "gamma_gamma"
    status: str
    reason: str | None
    variant: PurchaseVariant | SpendVariant | None
    theta: np.ndarray
    covariance: np.ndarray = field(repr=False)
    log_likelihood: float
    n_customers: int
    time_unit: str | None
    candidates: tuple[Candidate, ...] = ()
    # models.bgnbd's / models.gamma_gamma's own fit when the full model was chosen (status fitted): the
    # covariate fits of the same customers start from it and test against it instead of fitting it again
    full_fit: object = field(default=None, repr=False, compare=False)

    @property
    def is_fitted(self) -> bool:
        """Predictions can be made (the full model or a limiting case)."""
        return self.status != NOT_FITTED

    @property
    def variant_name(self) -> str | None:
        return None if self.variant is None else self.variant.name

    @property
    def params(self) -> dict[str, float]:
        return {} if self.variant is None else self.variant.params(self.theta)

    @property
    def standard_errors(self) -> dict[str, float]:
        return {} if self.variant is None else self.variant.standard_errors(self.theta, self.covariance)

    @property
    def has_covariance(self) -> bool:
        return self.is_fitted and bool(np.all(np.isfinite(self.covariance)))


@dataclass(frozen=True, repr=False)
class PurchaseModelFit(SelectedFit):
    """The chosen BG/NBD-family model; times in ``time_unit``."""

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        return self.variant.probability_alive(self.theta, frequency, recency, T)

    def conditional_expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        return self.variant.conditional_expected_purchases(self.theta, t, frequency, recency, T)

    def expected_purchases(self, t) -> np.ndarray:
        return self.variant.expected_purchases(self.theta, t)


@dataclass(frozen=True, repr=False)
class SpendModelFit(SelectedFit):
    """The chosen Gamma-Gamma-family model (money, no time unit)."""

    def expected_order_value(self, frequency, monetary_value) -> np.ndarray:
        return self.variant.expected_order_value(self.theta, frequency, monetary_value)


def _not_fitted(cls, model: str, reason: str, n_customers: int, time_unit, candidates=()) -> SelectedFit:
    return cls(
        model,
        NOT_FITTED,
        reason,
        None,
        np.zeros(0),
        np.zeros((0, 0)),
        float("nan"),
        n_customers,
        time_unit,
        tuple(candidates),
    )


def _choose(fits: list, n_customers: int):
    """(chosen fit, None) or (None, reason): the module docstring's rule."""
    tie = LIKELIHOOD_TIE * max(n_customers, 1)
    converged = [f for f in fits if f.converged]
    if not converged:
        return None, "; ".join(f"{f.variant.name}: {f.message}" for f in fits)
    best = max(converged, key=lambda f: f.log_likelihood)
    full = next((f for f in converged if f.variant.is_full_model), None)
    if full is not None and full.log_likelihood >= best.log_likelihood - tie:
        best = full
    finite = [f for f in fits if np.isfinite(f.log_likelihood)]
    highest = max(finite, key=lambda f: f.log_likelihood) if finite else best
    if np.isfinite(best.log_likelihood) and highest.log_likelihood > best.log_likelihood + tie:
        dropped = max(len(highest.variant.parameters) - len(best.variant.parameters), 1)
        allowed = stats.chi2.ppf(SIGNIFICANCE, dropped) / 2
        gap = highest.log_likelihood - best.log_likelihood
        if gap > allowed:
            return None, (
                f"the likelihood's maximum lies where none of the models can be fitted: {highest.variant.name} "
                f"reaches a log-likelihood {gap:.2f} above {best.variant.name} (the best model that converged) "
                f"without converging ({highest.message})"
            )
    return best, None


def _candidates(fits) -> tuple[Candidate, ...]:
    return tuple(
        Candidate(
            f.variant.name, len(f.variant.parameters), float(f.log_likelihood), bool(f.converged), f.message
        )
        for f in fits
    )


def _status(variant) -> tuple[str, str | None]:
    return (FITTED, None) if variant.is_full_model else (LIMITING_CASE, variant.limit)


def fit_purchase_model(
    frequency,
    recency,
    T,
    *,
    time_unit: str,
    weights=None,
    apply_minimum_data: bool = True,
) -> PurchaseModelFit:
    """The BG/NBD model or the limiting case the data call for, from customers' (x, t_x, T) in ``time_unit``.

    Never raises for the data: too little or unusable data, or no usable maximum, comes back with status
    not_fitted and the reason. ``weights`` counts the customers each row stands for. ``apply_minimum_data=False``
    fits below ``models.minimum_data``'s thresholds (the study that sets them needs it; nothing else should).
    """
    check_time_unit(time_unit)
    model = "bg_nbd"
    try:
        x, t_x, age = check_histories(frequency, recency, T) if np.size(frequency) else (np.zeros(0),) * 3
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
        if w.size != x.size or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ModelFitError("BG/NBD", "weights must be positive, finite and one per customer")
    except ModelFitError as error:
        shortfall = _valid_shortfall(frequency, recency, T, weights) if apply_minimum_data else None
        return _not_fitted(
            PurchaseModelFit, model, shortfall or error.problem, _size(frequency, weights), time_unit
        )
    n_customers = int(round(float(w.sum())))
    shortfall = purchase_data_shortfall(x, t_x, age, w) if apply_minimum_data else None
    if shortfall:
        return _not_fitted(PurchaseModelFit, model, shortfall, n_customers, time_unit)

    distinct = distinct_rows(x, t_x, age)
    dw = np.bincount(distinct.inverse, weights=w, minlength=len(distinct.counts))
    full, *limits = bgnbd_limits.VARIANTS
    fits = [fit_variant(full, *distinct.columns, dw, time_unit=time_unit)]
    if not fits[0].converged:  # the maximum is on a boundary: fit the limits, from where the full fit went
        heading = full.params(fits[0].theta)
        fits += [fit_variant(v, *distinct.columns, dw, time_unit=time_unit, full=heading) for v in limits]
    return _selected(PurchaseModelFit, model, fits, n_customers, time_unit)


def _selected(cls, model: str, fits: list, n_customers: int, time_unit: str | None) -> SelectedFit:
    """The chosen candidate as a fit with its status, or not_fitted with the reason the choice gives."""
    chosen, reason = _choose(fits, n_customers)
    if chosen is None:
        name = "BG/NBD" if model == "bg_nbd" else "Gamma-Gamma"
        return _not_fitted(
            cls, model, f"no {name} model converged: {reason}", n_customers, time_unit, _candidates(fits)
        )
    status, why = _status(chosen.variant)
    return cls(
        model,
        status,
        why,
        chosen.variant,
        chosen.theta,
        chosen.covariance,
        float(chosen.log_likelihood),
        n_customers,
        time_unit,
        _candidates(fits),
        chosen.full_fit,
    )


def _size(values, weights) -> int:
    return int(round(float(np.sum(weights)))) if weights is not None else int(np.size(values))


def _valid_shortfall(frequency, recency, T, weights) -> str | None:
    """The minimum-data reason when the histories are well-formed (it reads better than the validation's "no
    repeat purchase"), else None: malformed data keep the validation's message, which names the problem."""
    try:
        x, t_x, age = (np.asarray(v, dtype=float).ravel() for v in (frequency, recency, T))
    except (TypeError, ValueError):
        return None
    if not (x.size == t_x.size == age.size) or not all(np.all(np.isfinite(a)) for a in (x, t_x, age)):
        return None
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > age) or np.any(x != np.round(x)):
        return None
    return purchase_data_shortfall(x, t_x, age, weights)


def fit_spend_model(
    frequency,
    monetary_value,
    *,
    weights=None,
    apply_minimum_data: bool = True,
) -> SpendModelFit:
    """Gamma-Gamma or the limiting case the data call for, from customers' x and average repeat-order value m.

    Customers with x = 0 are left out (they have no repeat-order value); ``n_customers`` counts the repeat
    buyers a fit uses. Never raises for the data. ``apply_minimum_data`` as for ``fit_purchase_model``.
    """
    model = "gamma_gamma"
    try:
        x_all = np.asarray(frequency, dtype=float).ravel()
        m_all = np.asarray(monetary_value, dtype=float).ravel()
        w_all = np.ones_like(x_all) if weights is None else np.asarray(weights, dtype=float).ravel()
    except (TypeError, ValueError):
        return _not_fitted(SpendModelFit, model, "frequency and monetary value must be numeric", 0, None)
    if not (x_all.size == m_all.size == w_all.size):
        return _not_fitted(
            SpendModelFit, model, "frequency, monetary value and weights have different lengths", 0, None
        )
    # Repeat buyers without a positive average repeat-order value (free or refunded orders): no spend to model.
    with np.errstate(invalid="ignore"):
        usable = (x_all > 0) & np.isfinite(m_all) & (m_all > 0)
    x, m, w = x_all[usable], m_all[usable], w_all[usable]
    repeat_buyers = int(round(float(w.sum())))
    shortfall = spend_data_shortfall(x_all, m_all, w_all) if apply_minimum_data else None
    if shortfall:
        return _not_fitted(SpendModelFit, model, shortfall, repeat_buyers, None)
    if not x.size:
        return _not_fitted(
            SpendModelFit, model, "Gamma-Gamma needs repeat purchases: nobody bought twice", 0, None
        )
    if not (np.all(np.isfinite(w)) and np.all(w > 0) and np.all(x == np.round(x))):
        return _not_fitted(
            SpendModelFit,
            model,
            "frequencies must be whole numbers and weights positive",
            repeat_buyers,
            None,
        )
    if is_constant_spend(m):
        return _selected(
            SpendModelFit,
            model,
            [fit_spend_variant(gamma_gamma_limits.CONSTANT_SPEND, x, m, w)],
            repeat_buyers,
            None,
        )
    fits = [fit_spend_variant(gamma_gamma_limits.FULL, x, m, w)]
    if not fits[0].converged:  # the maximum is on a boundary: fit the limits
        fits += [
            fit_spend_variant(v, x, m, w)
            for v in (gamma_gamma_limits.COMMON_SPEND, gamma_gamma_limits.OWN_SPEND)
        ]
    return _selected(SpendModelFit, model, fits, repeat_buyers, None)
