"""When customers sign up: a fixed number per month, growing over time with a year-end peak.

Counts are allotted up front so that customer numbers follow signup order across chunks: chunk k only
needs to know which months its customer numbers fall in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from pipelines.sample_data import parameters as story

EPOCH = date(1970, 1, 1)


def days_since_epoch(day: date) -> int:
    return (day - EPOCH).days


@dataclass(frozen=True)
class AcquisitionCalendar:
    month_starts: list[date]             # first day of each month, oldest first
    first_days: np.ndarray               # the same, as days since 1970-01-01
    open_days: np.ndarray                # days of each month up to the end date
    signups: np.ndarray                  # customers signing up in each month
    end_date: date

    @classmethod
    def build(cls, customers: int, months: int, end_date: date) -> AcquisitionCalendar:
        if months < story.MINIMUM_MONTHS:
            raise ValueError(f"months={months}: the story needs at least {story.MINIMUM_MONTHS} months")
        month_starts = [_add_months(end_date.replace(day=1), offset) for offset in range(1 - months, 1)]
        next_starts = month_starts[1:] + [_add_months(month_starts[-1], 1)]
        open_days = np.array([(nxt - start).days for start, nxt in zip(month_starts, next_starts)])
        open_days[-1] = end_date.day
        weights = np.array([
            math.exp(story.MONTHLY_GROWTH * i)
            * (1 + story.SEASONALITY_AMPLITUDE * math.cos(2 * math.pi * (start.month - 12) / 12))
            for i, start in enumerate(month_starts)
        ]) * open_days / np.array([(nxt - start).days for start, nxt in zip(month_starts, next_starts)])
        return cls(
            month_starts=month_starts,
            first_days=np.array([days_since_epoch(s) for s in month_starts], dtype=np.int64),
            open_days=open_days.astype(np.int64),
            signups=_largest_remainder(customers, weights),
            end_date=end_date,
        )

    @property
    def end_day(self) -> int:
        return days_since_epoch(self.end_date)

    def month_of(self, customer_numbers: np.ndarray) -> np.ndarray:
        """Month index of each customer, given 0-based customer numbers in signup order."""
        return np.searchsorted(np.cumsum(self.signups), customer_numbers, side="right")


def _add_months(month_start: date, offset: int) -> date:
    index = month_start.year * 12 + month_start.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integer counts summing to `total`, proportional to `weights` (Hamilton's method, ties to earliest)."""
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    shortfall = total - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:shortfall]] += 1
    return counts
