"""The time units the models accept, and how long a month is in each.

BG/NBD is unit-free except for alpha, which carries the unit of t_x and T; every fit result records the unit
so that horizons ("next 365 days", "12 months") are converted the same way everywhere.
"""

from __future__ import annotations

DAYS_PER_UNIT: dict[str, float] = {"days": 1.0, "weeks": 7.0}

# A calendar month on average (365.25 / 12 days): 30.4375 days, 4.348 weeks.
DAYS_PER_MONTH = 365.25 / 12


def check_time_unit(time_unit: str) -> str:
    if time_unit not in DAYS_PER_UNIT:
        raise ValueError(f"time_unit must be one of {sorted(DAYS_PER_UNIT)}, got {time_unit!r}")
    return time_unit


def units_per_month(time_unit: str) -> float:
    """Length of an average calendar month in ``time_unit`` (30.4375 days, 4.348 weeks)."""
    return DAYS_PER_MONTH / DAYS_PER_UNIT[check_time_unit(time_unit)]


def units_per_year(time_unit: str) -> float:
    """Length of an average year (365.25 days) in ``time_unit``."""
    return 12 * units_per_month(time_unit)
