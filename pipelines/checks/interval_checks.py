"""Are the published 80 % intervals calibrated? A warning-severity check on the back-test.

The back-test (pipelines.predictions.clv) scores the purchase model fitted without the last H days against
what customers did in them, and measures its intervals: the shares of customers whose actual purchases fell
below p10, at or below p10, above p90 and at or above p90. For calibrated discrete quantiles q_tau,
P(Y < q) <= tau <= P(Y <= q): below p10 <= 10 % <= at or below p10, above p90 <= 10 % <= at or above p90. The
check fires when a share is off by more than TOLERANCE (5 points): below p10 or above p90 above 15 %, at or
below p10 or at or above p90 under 5 %. Warnings only: the predictions are published either way. No Dagster
import at module level is needed by the rule itself, which the asset calls with the run's shares.
"""

from __future__ import annotations

import math

TARGET = 0.10
TOLERANCE = 0.05
CHECK_NAME = "purchase_intervals_calibrated"
DESCRIPTION = (
    "On the back-test, the 80 % purchase intervals are calibrated: at most 15 % of customers made fewer "
    "purchases than p10 or more than p90, at least 5 % made p10 or fewer and p90 or more (a warning: the "
    "predictions are still published)."
)


def interval_calibration_problems(shares: dict[str, float] | None) -> list[str] | None:
    """The shares that are off by more than TOLERANCE, in words; None when nothing was measured."""
    if not shares or any(v is None or math.isnan(v) for v in shares.values()):
        return None
    problems = []
    for name, side in (("share_below_p10", "below p10"), ("share_above_p90", "above p90")):
        if shares[name] > TARGET + TOLERANCE:
            problems.append(
                f"{shares[name]:.1%} of customers bought {side} (at most {TARGET + TOLERANCE:.0%} expected)"
            )
    for name, side in (
        ("share_at_or_below_p10", "at or below p10"),
        ("share_at_or_above_p90", "at or above p90"),
    ):
        if shares[name] < TARGET - TOLERANCE:
            problems.append(
                f"{shares[name]:.1%} of customers bought {side} (at least {TARGET - TOLERANCE:.0%} expected)"
            )
    return problems


def interval_calibration_result(
    shares: dict[str, float] | None, model_status: str, reason: str | None = None
):
    """The check's AssetCheckResult for the back-test asset (severity WARN)."""
    from dagster import AssetCheckResult, AssetCheckSeverity, AssetKey

    problems = interval_calibration_problems(shares)
    if problems is None:
        description = "the intervals were not measured: " + (reason or "the back-test was not scored")
    elif problems:
        description = "the back-test's 80 % purchase intervals are not calibrated: " + "; ".join(problems)
    else:
        description = None
    metadata = {"measured": problems is not None, "model_status": model_status}
    if problems is not None:
        metadata.update({name: float(value) for name, value in shares.items()})
    return AssetCheckResult(check_name=CHECK_NAME, asset_key=AssetKey(["predictions", "clv_backtest"]),
                            passed=bool(problems == []), severity=AssetCheckSeverity.WARN,
                            description=description, metadata=metadata)
