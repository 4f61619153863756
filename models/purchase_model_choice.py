"""Which purchase model the published predictions come from: BG/NBD (its family, ``models.selection``),
Pareto/NBD (``models.pareto_nbd_forecast``) or BG/NBD with covariates (``models.covariate_forecast``), chosen
by the back-test.

BG/NBD and Pareto/NBD describe the same story (purchases at a gamma-distributed rate while alive; they differ
in when a customer may drop out: after a purchase for BG/NBD, at any time for Pareto/NBD) and fit most data
about equally well, so the likelihood does not settle it; what matters to a user is which one forecasts this
business's customers better. Every run fits them without the last H days and scores their forecasts of each
customer's purchases in those days: the model with the lower root mean squared error per customer publishes
its predictions (the forecasts are expectations, the forecast that squared error rewards; the mean absolute
error, also published, favours forecasts pulled towards the median, usually 0). BG/NBD with covariates joins them only when its covariates explain purchases significantly on
the full history (the likelihood-ratio test): a model with more parameters has to earn its place twice, by
likelihood and by forecasting better. BG/NBD is the default: it wins ties (then Pareto/NBD, then the
covariate model) and is used whenever the back-test cannot compare BG/NBD and Pareto/NBD (one of them not fitted
there, or no back-test). Pareto/NBD is fitted on the full history only once chosen (its fit costs several
times BG/NBD's); when that fit fails, BG/NBD is used after all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


DEFAULT = "bg_nbd"
COVARIATES = "bg_nbd_covariates"
NAMES = {"bg_nbd": "BG/NBD", COVARIATES: "BG/NBD with covariates", "pareto_nbd": "Pareto/NBD"}
TIE_ORDER = (DEFAULT, "pareto_nbd", COVARIATES)  # the fewer parameters first


@dataclass(frozen=True)
class PurchaseModelChoice:
    """``chosen``: the model name; ``reasons``: per model, why it was or was not chosen, in words."""

    chosen: str
    reasons: Mapping[str, str]


def choose_purchase_model(backtest_errors: Mapping[str, float], bg_nbd_fitted: bool, holdout_days: int, *,
                          covariates_excluded: str | None = "not fitted") -> PurchaseModelChoice:
    """``backtest_errors``: each model's root mean squared error on the back-test (NaN or missing when it was
    not scored); ``bg_nbd_fitted``: BG/NBD could be fitted on the full history; ``covariates_excluded``: why
    the covariate model is no candidate (None: it is)."""
    errors = {name: backtest_errors.get(name, math.nan) for name in NAMES}
    reasons = {}
    if covariates_excluded is not None:
        reasons[COVARIATES] = f"not a candidate: {covariates_excluded}"
    elif not math.isfinite(errors[COVARIATES]):
        reasons[COVARIATES] = "not a candidate: the back-test could not score it"
    plain = (DEFAULT, "pareto_nbd")
    unscored = [name for name in plain if not math.isfinite(errors[name])]
    if unscored:
        why = ", ".join(NAMES[name] for name in unscored)
        reasons.setdefault(COVARIATES, "not a candidate: BG/NBD and Pareto/NBD could not be compared")
        if bg_nbd_fitted:
            return PurchaseModelChoice(DEFAULT, {
                **reasons, DEFAULT: f"the default: the back-test could not score {why}",
                "pareto_nbd": f"not compared: the back-test could not score {why}"})
        return PurchaseModelChoice("pareto_nbd", {
            **reasons, DEFAULT: "not fitted on the full history", "pareto_nbd": "BG/NBD could not be fitted"})

    candidates = [name for name in TIE_ORDER if name in plain or COVARIATES not in reasons]
    best = min(candidates, key=lambda name: (errors[name], TIE_ORDER.index(name)))
    for name in candidates:
        others = "; ".join(f"{NAMES[o]} {errors[o]:.4f}" for o in candidates if o != name)
        verdict = "lowest" if name == best else "higher"
        reasons[name] = (f"{verdict} back-test error: root mean squared error of each customer's purchases in "
                         f"the last {holdout_days} days {errors[name]:.4f} ({others})")
    if best == DEFAULT and not bg_nbd_fitted:
        reasons["pareto_nbd"] += "; chosen as BG/NBD could not be fitted on the full history"
        return PurchaseModelChoice("pareto_nbd", reasons)
    return PurchaseModelChoice(best, reasons)


def fallback(choice: PurchaseModelChoice, reason: str) -> PurchaseModelChoice:
    """BG/NBD after all: the chosen Pareto/NBD could not be fitted on the full history (``reason``)."""
    reasons = dict(choice.reasons)
    reasons["pareto_nbd"] = f"{reasons['pareto_nbd']}; but not fitted on the full history: {reason}"
    reasons[DEFAULT] = f"{reasons[DEFAULT]}; used as Pareto/NBD could not be fitted on the full history"
    return PurchaseModelChoice(DEFAULT, reasons)
