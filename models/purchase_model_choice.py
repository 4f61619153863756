"""Which purchase model the published predictions come from: BG/NBD (its family, ``models.selection``) or
Pareto/NBD (``models.pareto_nbd_forecast``), chosen by the back-test.

Both models describe the same story (purchases at a gamma-distributed rate while alive; they differ in when a
customer may drop out: after a purchase for BG/NBD, at any time for Pareto/NBD) and fit most data about
equally well, so the likelihood does not settle it; what matters to a user is which one forecasts this
business's customers better. Every run fits both without the last H days and scores their forecasts of each
customer's purchases in those days: the model with the lower mean absolute error per customer publishes its
predictions. BG/NBD is the default: it wins ties and is used whenever the back-test cannot compare the two
(one of them not fitted there, or no back-test). Pareto/NBD is fitted on the full history only once chosen
(its fit costs several times BG/NBD's); when that fit fails, BG/NBD is used after all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


DEFAULT = "bg_nbd"
NAMES = {"bg_nbd": "BG/NBD", "pareto_nbd": "Pareto/NBD"}


@dataclass(frozen=True)
class PurchaseModelChoice:
    """``chosen``: the model name; ``reasons``: per model, why it was or was not chosen, in words."""

    chosen: str
    reasons: Mapping[str, str]


def choose_purchase_model(backtest_errors: Mapping[str, float], bg_nbd_fitted: bool, holdout_days: int
                          ) -> PurchaseModelChoice:
    """``backtest_errors``: each model's mean absolute error on the back-test (NaN or missing when it was
    not scored); ``bg_nbd_fitted``: BG/NBD could be fitted on the full history."""
    errors = {name: backtest_errors.get(name, math.nan) for name in NAMES}
    scored = [name for name, error in errors.items() if math.isfinite(error)]
    if len(scored) < len(NAMES):
        unscored = ", ".join(NAMES[name] for name in NAMES if name not in scored)
        if bg_nbd_fitted:
            return PurchaseModelChoice(DEFAULT, {
                DEFAULT: f"the default: the back-test could not score {unscored}",
                "pareto_nbd": f"not compared: the back-test could not score {unscored}"})
        return PurchaseModelChoice("pareto_nbd", {
            DEFAULT: "not fitted on the full history", "pareto_nbd": "BG/NBD could not be fitted"})

    best = min(scored, key=lambda name: (errors[name], name != DEFAULT))
    reasons = {}
    for name in scored:
        others = "; ".join(f"{NAMES[o]} {errors[o]:.4f}" for o in scored if o != name)
        verdict = "lowest" if name == best else "higher"
        reasons[name] = (f"{verdict} back-test error: mean absolute error of each customer's purchases in the "
                         f"last {holdout_days} days {errors[name]:.4f} ({others})")
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
