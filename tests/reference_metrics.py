"""The retention definitions computed naively, straight from the README, for tests to compare against.

Each customer's purchase days are walked with plain Python (bisect); nothing is shared with the dbt models.
Input: orders as (customer_id, day, status, amount) tuples, however the test obtained them (the raw layer,
or the rows a test wrote into a landing file itself).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal


def month_starts(first: date, last: date) -> list[date]:
    starts, current = [], date(first.year, first.month, 1)
    while current <= last:
        starts.append(current)
        current = date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    return starts


def period_bounds(as_of: date, first_purchase: date) -> list[tuple[str, date, date]]:
    """(grain, start, end) of every month, quarter and year from the first purchase's month to the as-of's."""
    periods = []
    for start in month_starts(first_purchase, as_of):
        following = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        periods.append(("month", start, following - timedelta(days=1)))
    quarters = sorted({date(s.year, 3 * ((s.month - 1) // 3) + 1, 1) for _, s, _ in periods})
    for start in quarters:
        month = start.month + 3
        following = date(start.year + (month > 12), (month - 1) % 12 + 1, 1)
        periods.append(("quarter", start, following - timedelta(days=1)))
    for year in sorted({s.year for _, s, _ in periods}):
        periods.append(("year", date(year, 1, 1), date(year, 12, 31)))
    return periods


Order = tuple[str, date, str, Decimal]


def reference_metrics(orders: Iterable[Order], window: int, as_of: date | None = None
                      ) -> dict[tuple[str, date], dict]:
    """retention_metrics' counts, rates and revenue per (grain, period start), from the definitions.

    `as_of` defaults to the latest order day (any status), as RETENTIO_AS_OF_DATE does.
    """
    orders = list(orders)
    as_of = as_of or max(day for _, day, _, _ in orders)
    purchase_days: dict[str, list[date]] = defaultdict(list)
    revenue_by_day: dict[date, Decimal] = defaultdict(Decimal)
    for customer, day, status, amount in orders:
        if status == "completed" and day <= as_of:
            purchase_days[customer].append(day)
            revenue_by_day[day] += Decimal(amount)
    for days in purchase_days.values():
        days.sort()
    if not purchase_days:
        return {}

    def active(days: list[date], d: date) -> bool:
        position = bisect.bisect_right(days, d)
        return position > 0 and (d - days[position - 1]).days < window

    first_purchase = min(days[0] for days in purchase_days.values())
    metrics = {}
    for grain, start, end in period_bounds(as_of, first_purchase):
        measured = min(end, as_of)
        cs = ce = cn = churned = retained = reactivated = new_inactive = 0
        for days in purchase_days.values():
            at_start, at_end = active(days, start - timedelta(days=1)), active(days, measured)
            new = start <= days[0] <= measured
            cs += at_start
            ce += at_end
            cn += new
            churned += at_start and not at_end
            retained += at_start and at_end
            reactivated += at_end and not at_start and not new
            new_inactive += new and not at_end
        metrics[(grain, start)] = {
            "customers_at_start": cs, "customers_at_end": ce, "new_customers": cn,
            "churned_customers": churned, "retained_customers": retained,
            "reactivated_customers": reactivated, "new_customers_inactive_at_end": new_inactive,
            "retention_rate_pct": None if cs == 0 else (ce - cn) / cs * 100,
            "churn_rate_pct": None if cs == 0 else churned / cs * 100,
            "is_complete": end <= as_of,
            "is_history_shorter_than_window": (start - first_purchase).days < window,
            "revenue": sum((v for d, v in revenue_by_day.items() if start <= d <= measured), Decimal(0)),
        }
    return metrics
