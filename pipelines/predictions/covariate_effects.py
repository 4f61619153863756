"""How a customer's acquisition channel, country and first-purchase year go with how often they buy and how
much they spend: BG/NBD and Gamma-Gamma with time-invariant covariates (`models.covariates`, Fader & Hardie
2007), fitted on the full history beside the plain models and published in clv_model_fits.

Each effect is a contrast with the most common level of its covariate (the baseline): a purchase-rate effect
b means customers of that level buy exp(b) times as often as the baseline's while they are customers (alpha_i
= alpha0 exp(-b z_i)), a spend effect e that their orders are worth exp(e) times as much (gamma_i = gamma0
exp(e z_i)). A likelihood-ratio test against the plain model says whether the covariates explain anything
beyond chance; its p-value is published as a row of its own.

When it does (p < 0.05), the covariate BG/NBD is a candidate for the predictions beside BG/NBD and
Pareto/NBD, and the back-test decides (`models.purchase_model_choice`); its predictions then use the
covariate Gamma-Gamma when that one is significant too, else the plain spend model. Only the purchase rate
carries covariates (not the drop-out: at a million customers that fit costs twice as much), and the effects
are fitted only when the plain model is the full one at a proper maximum (a limiting case has no spread to
explain). Levels with fewer than 100 customers are pooled into "other". A fit that fails says why in its
row, and never stops the predictions.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

import numpy as np
import pandas as pd

from models.bgnbd import BGNBDFit
from models.covariates import (
    BGNBDCovariateFit,
    CovariateDesign,
    GammaGammaCovariateFit,
    design_from_frame,
    fit_bgnbd_with_covariates,
    fit_gamma_gamma_with_covariates,
)
from models.errors import ModelFitError
from models.gamma_gamma import GammaGammaFit
from models.selection import FITTED, NOT_FITTED, PurchaseModelFit, SpendModelFit

COVARIATES = ("acquisition_channel", "country_code", "first_purchase_year")
PURCHASE_MODEL = "bg_nbd_covariates"
SPEND_MODEL = "gamma_gamma_covariates"
SIGNIFICANCE = 0.05
Followed = TypeVar("Followed")


def covariate_frame(summaries: pd.DataFrame) -> pd.DataFrame:
    """The covariates per customer the summaries hold, as categories (a missing channel or country is its own
    level)."""
    frame = pd.DataFrame(index=summaries.index)
    for column in ("acquisition_channel", "country_code"):
        if column in summaries:
            frame[column] = summaries[column].astype("string")
    if "first_purchase_date" in summaries:
        frame["first_purchase_year"] = pd.to_datetime(summaries["first_purchase_date"]).dt.year.astype("string")
    return frame


def _verdict(test, what: str) -> str:
    if not np.isfinite(test.p_value):
        return "the likelihood-ratio test could not be computed"
    p = "p < 0.001" if test.p_value < 0.001 else f"p = {test.p_value:.3f}"
    found = ("explain" if test.p_value < SIGNIFICANCE else "do not significantly explain")
    return (f"the covariates {found} {what} (likelihood ratio {test.statistic:.1f} on {test.degrees_of_freedom} "
            f"degrees of freedom, {p})")


def _rows(model: str, fit, table: pd.DataFrame | None, test, as_of: date, *, time_unit, reason=None,
          explains: str = "", used: bool = False) -> list[dict]:
    common = {"model": model, "fitted_on": "full history", "variant": None, "time_unit": time_unit,
              "as_of_date": as_of, "used_for_predictions": used}
    if table is None:
        return [{**common, "status": NOT_FITTED, "parameter": None, "estimate": np.nan, "standard_error": np.nan,
                 "log_likelihood": np.nan, "customers": fit, "converged": False, "reason": reason,
                 "choice_reason": None}]
    fitted = {**common, "status": FITTED, "log_likelihood": fit.log_likelihood, "customers": fit.n_customers,
              "converged": True, "reason": None}
    rows = [{**fitted, "parameter": row.parameter, "estimate": row.estimate, "standard_error": row.standard_error,
             "choice_reason": None} for row in table.itertuples()]
    rows.append({**fitted, "parameter": "likelihood_ratio_p_value", "estimate": test.p_value,
                 "standard_error": np.nan, "choice_reason": _verdict(test, explains)})
    return rows


@dataclass(frozen=True)
class CovariateFits:
    """The covariate fits on the full history (None with the reason when not made) and the design rows."""

    design: CovariateDesign
    purchase: BGNBDCovariateFit | None
    purchase_reason: str | None
    spend: GammaGammaCovariateFit | None
    spend_reason: str | None

    def purchase_significant(self) -> bool:
        """The covariates explain purchase rates beyond chance (the fit may then predict)."""
        return significant(self.purchase)

    def spend_significant(self) -> bool:
        return significant(self.spend)

    def exclusion(self) -> str:
        """Why the covariate BG/NBD is no candidate for the predictions."""
        if self.purchase is None:
            return f"no covariate fit ({self.purchase_reason})"
        return "the covariates do not significantly explain how often customers buy (" + (
            f"p = {self.purchase.likelihood_ratio_test().p_value:.3f})")


def significant(fit: BGNBDCovariateFit | GammaGammaCovariateFit | None) -> bool:
    """A covariate fit whose covariates explain more than chance (likelihood ratio against the plain fit)."""
    return fit is not None and fit.likelihood_ratio_test().p_value < SIGNIFICANCE


def covariate_design(summaries: pd.DataFrame) -> CovariateDesign:
    covariates = covariate_frame(summaries)
    return design_from_frame(covariates, [c for c in COVARIATES if c in covariates])


def fit_purchase_covariates(x, t_x, T, rows, time_unit: str, plain: BGNBDFit | None = None
                            ) -> tuple[BGNBDCovariateFit | None, str | None]:
    """The covariate BG/NBD (purchase rate effects) or None and why not; ``plain``: the plain BG/NBD of the
    same customers when already fitted."""
    try:
        fit = fit_bgnbd_with_covariates(x, t_x, T, rows, time_unit=time_unit, dropout_covariates=False,
                                        plain=plain)
    except ModelFitError as error:
        return None, error.problem
    if not fit.converged:
        return None, f"the fit with covariates did not converge: {fit.message}"
    return fit, None


def _fit_spend_covariates(x, m, design: CovariateDesign, plain: GammaGammaFit
                          ) -> tuple[GammaGammaCovariateFit | None, str | None]:
    """The covariate Gamma-Gamma (spend effects) or None and why not."""
    try:
        spend = fit_gamma_gamma_with_covariates(x, m, design, plain=plain)
    except ModelFitError as error:
        return None, error.problem
    if not spend.converged:
        return None, f"the fit with covariates did not converge: {spend.message}"
    return spend, None


def fit_covariate_models(summaries: pd.DataFrame, purchase_model: PurchaseModelFit, spend_model: SpendModelFit,
                         time_unit: str, beside: Executor | None = None,
                         then: Callable[[BGNBDCovariateFit | None, CovariateDesign], Followed] | None = None
                         ) -> tuple[CovariateFits, Followed | None]:
    """Both covariate fits on the full history, where the plain model is the full one at a proper maximum,
    and what ``then(purchase fit, design)`` returns: it runs on this core right after the purchase fit (the
    predictions step fits a significant purchase model again on the back-test's history there). The spend
    fit goes to ``beside`` when given; when ``beside`` has not started it by the time ``then`` is done, it is
    fitted here instead."""
    design = covariate_design(summaries)
    if not design.names:
        reason = "every covariate has a single level (or levels too small to compare): nothing to contrast"
        return CovariateFits(design, None, reason, None, reason), then(None, design) if then else None
    x = summaries["frequency"].to_numpy(float)
    spend_fitted = spend_model.model == "gamma_gamma" and spend_model.status == FITTED
    # the plain fits were made on the same customers: the covariate fits start from them
    spend_arguments = (x, summaries["monetary_value"].to_numpy(float), design, spend_model.full_fit)
    spend_fit = beside.submit(_fit_spend_covariates, *spend_arguments) if spend_fitted and beside else None
    if purchase_model.model == "bg_nbd" and purchase_model.status == FITTED:
        purchase, purchase_reason = fit_purchase_covariates(
            x, summaries["recency_days"].to_numpy(float), summaries["tenure_days"].to_numpy(float), design,
            time_unit, purchase_model.full_fit)
    else:
        purchase, purchase_reason = None, ("the plain BG/NBD is not the full model at a proper maximum: no "
                                           "spread to explain")
    followed = then(purchase, design) if then else None
    if not spend_fitted:
        spend, spend_reason = None, ("the plain Gamma-Gamma is not the full model at a proper maximum: no "
                                     "spread to explain")
    else:
        # queued behind whatever ``beside`` had to do: when that is not done by now, fitted here instead
        ran_beside = spend_fit is not None and not spend_fit.cancel()
        spend, spend_reason = spend_fit.result() if ran_beside else _fit_spend_covariates(*spend_arguments)
    return CovariateFits(design, purchase, purchase_reason, spend, spend_reason), followed


def covariate_fit_rows(fits: CovariateFits, as_of: date, time_unit: str, *, purchase_used: bool = False,
                       spend_used: bool = False) -> list[dict]:
    """clv_model_fits rows of the covariate fits: base parameters, effects (rate[covariate=level],
    spend[covariate=level]) with standard errors, and the likelihood-ratio p-value with the verdict in
    choice_reason; one not_fitted row with the reason when a fit was not made. ``*_used``: the predictions
    come from it."""
    n = fits.design.n_customers
    if fits.purchase is None:
        rows = _rows(PURCHASE_MODEL, n, None, None, as_of, time_unit=time_unit, reason=fits.purchase_reason)
    else:
        rows = _rows(PURCHASE_MODEL, fits.purchase, fits.purchase.coefficient_table(),
                     fits.purchase.likelihood_ratio_test(), as_of, time_unit=time_unit,
                     explains="how often customers buy", used=purchase_used)
    if fits.spend is None:
        rows += _rows(SPEND_MODEL, n, None, None, as_of, time_unit=None, reason=fits.spend_reason)
    else:
        rows += _rows(SPEND_MODEL, fits.spend, fits.spend.coefficient_table(), fits.spend.likelihood_ratio_test(),
                      as_of, time_unit=None, explains="how much customers spend per order", used=spend_used)
    return rows
