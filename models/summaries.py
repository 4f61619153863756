"""Per-customer (x, t_x, T, m) from a transaction log: the inputs of BG/NBD and Gamma-Gamma.

Definitions, as in Fader, Hardie & Lee (2005) and the CDNOW analyses:
- purchases on the same calendar day are one transaction (their amounts are added);
- frequency x = number of distinct purchase days after the first one (repeat transactions);
- recency t_x = time from the first to the last purchase day (0 when x = 0);
- T = time from the first purchase day to ``as_of`` (the end of the observation period, inclusive);
- monetary_value m = mean amount of the repeat purchase days, the first purchase excluded; NaN when x = 0
  (no repeat purchase, no repeat-order value; Gamma-Gamma uses repeat buyers only).
Times are whole days divided by the unit's length (7 for weeks). Transactions after ``as_of`` are ignored.

The pipeline computes the same table in SQL; this pure version is the reference that tests run on CDNOW.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.time_units import DAYS_PER_UNIT, check_time_unit

SUMMARY_COLUMNS = ["frequency", "recency", "T", "monetary_value"]


def _days(dates) -> pd.DatetimeIndex:
    """Calendar days of dates, datetimes or ISO 8601 strings; zoned timestamps are taken in UTC."""
    timestamps = pd.DatetimeIndex(pd.to_datetime(dates, format="ISO8601"))
    if timestamps.tz is not None:
        timestamps = timestamps.tz_convert("UTC").tz_localize(None)
    return timestamps.normalize()


def _daily_transactions(customer_ids, dates, amounts) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "customer_id": np.asarray(customer_ids),
            "day": np.asarray(_days(dates)),
            "amount": np.asarray(amounts, dtype=float),
        }
    )
    if frame.empty:
        raise ValueError("no transactions to summarise")
    for column in ("customer_id", "day", "amount"):
        missing = frame[column].isna()
        if missing.any():
            raise ValueError(
                f"{int(missing.sum())} transaction(s) have no {column} "
                f"(first at row {int(np.flatnonzero(missing)[0])})"
            )
    return frame.groupby(["customer_id", "day"], as_index=False, sort=True)["amount"].sum()


def summarise_transactions(customer_ids, dates, amounts, as_of, time_unit: str = "days") -> pd.DataFrame:
    """One row per customer (index ``customer_id``) with columns frequency, recency, T, monetary_value.

    ``dates`` may be dates, datetimes (the time of day is dropped; zoned ones are taken in UTC) or ISO 8601
    strings. Only customers with a purchase on or before ``as_of`` appear.
    """
    check_time_unit(time_unit)
    as_of_day = pd.Timestamp(as_of).normalize()
    daily = _daily_transactions(customer_ids, dates, amounts)
    daily = daily[daily["day"] <= as_of_day]
    if daily.empty:
        raise ValueError(f"no transactions on or before as_of={as_of_day.date()}")
    grouped = daily.groupby("customer_id", sort=True)
    first_day = grouped["day"].min()
    last_day = grouped["day"].max()
    n_days = grouped["day"].size()
    total = grouped["amount"].sum()
    first_amount = grouped["amount"].first()  # rows are sorted by day within each customer
    unit_days = DAYS_PER_UNIT[time_unit]
    frequency = (n_days - 1).astype(float)
    summary = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last_day - first_day).dt.days / unit_days,
            "T": (as_of_day - first_day).dt.days / unit_days,
            "monetary_value": ((total - first_amount) / frequency).where(frequency > 0),
        }
    )
    summary.index.name = "customer_id"
    return summary


def summarise_calibration_and_holdout(
    customer_ids, dates, amounts, calibration_end, holdout_end, time_unit: str = "days"
) -> pd.DataFrame:
    """Calibration summary up to ``calibration_end`` plus what happened in (calibration_end, holdout_end].

    Columns: frequency, recency, T, monetary_value (calibration, as in ``summarise_transactions``),
    holdout_frequency (distinct purchase days in the holdout) and holdout_duration (its length in
    ``time_unit``). Customers whose first purchase is after ``calibration_end`` are not included.
    """
    calibration_end = pd.Timestamp(calibration_end).normalize()
    holdout_end = pd.Timestamp(holdout_end).normalize()
    if holdout_end <= calibration_end:
        raise ValueError("holdout_end must be after calibration_end")
    summary = summarise_transactions(customer_ids, dates, amounts, calibration_end, time_unit)
    daily = _daily_transactions(customer_ids, dates, amounts)
    in_holdout = daily[(daily["day"] > calibration_end) & (daily["day"] <= holdout_end)]
    holdout_days = in_holdout.groupby("customer_id").size()
    summary["holdout_frequency"] = holdout_days.reindex(summary.index, fill_value=0).astype(float)
    summary["holdout_duration"] = (holdout_end - calibration_end).days / DAYS_PER_UNIT[time_unit]
    return summary
