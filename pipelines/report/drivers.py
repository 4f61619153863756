"""Why retention moved: the mart `retention_drivers` as one sentence and a chart per metric.

`retention_drivers` is an exact shift-share decomposition, not a model: between the last two complete
periods, the change of a metric (churned customers, CRR) is split over the segments of each dimension
(acquisition channel, country, cohort year, RFM segment) so that the parts add up to the total, and each
part into mix (the segment grew or shrank) and rate (its own rate moved), mix + rate = change. The sentence
and the chart show the largest parts; the full table is one click away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from pipelines.report import charts
from pipelines.report.charts import Contribution
from pipelines.report.formatting import month_label, number, percent, signed

CHURNED, CRR = "churned_customers", "retention_rate_pct"
LARGEST_IN_CHART = 10
LARGEST_IN_SENTENCE = 3
DIMENSION_NAMES = {"acquisition_channel": "channel", "country": "country", "cohort_year": "cohort year",
                   "rfm_segment": "RFM segment"}


@dataclass(frozen=True)
class DriverRow:
    """One row of retention_drivers."""

    metric: str
    dimension: str
    segment: str
    previous_value: float | None
    current_value: float | None
    change: float
    mix_effect: float | None
    rate_effect: float | None
    period_grain: str = "month"
    previous_period_start: date | None = None
    current_period_start: date | None = None

    @classmethod
    def from_record(cls, r: Mapping[str, object]) -> DriverRow:
        def num(key):
            value = r.get(key)
            return None if value is None else float(value)

        return cls(str(r["metric"]), str(r["dimension"]), str(r["segment"]), num("previous_value"),
                   num("current_value"), num("change") or 0.0, num("mix_effect"), num("rate_effect"),
                   str(r.get("period_grain") or "month"), r.get("previous_period_start"),
                   r.get("current_period_start"))


def who(row: DriverRow) -> str:
    """The segment's customers in words, plural: 'paid search customers', 'customers in FR', …"""
    segment = row.segment.replace("_", " ")
    return {
        "acquisition_channel": f"{segment} customers",
        "country": f"customers in {segment}",
        "cohort_year": f"customers who first bought in {segment}",
        "rfm_segment": f"“{segment}” customers",
    }.get(row.dimension, f"{segment} customers")


def chart_label(row: DriverRow) -> str:
    return f"{DIMENSION_NAMES.get(row.dimension, row.dimension)}: {row.segment.replace('_', ' ')}"


def period_label(day: date | None, grain: str) -> str:
    if day is None:
        return "the last period"
    if grain == "quarter":
        return f"Q{(day.month - 1) // 3 + 1} {day.year}"
    if grain == "year":
        return str(day.year)
    return month_label(day, long=True)


def _because(row: DriverRow, metric: str) -> str:
    """Why the segment moved the metric: the larger of its two effects, in words."""
    mix, rate = row.mix_effect or 0.0, row.rate_effect or 0.0
    if abs(rate) >= abs(mix):
        own = "churn rate" if metric == CHURNED else "retention"
        return f"their own {own} {'rose' if rate > 0 else 'fell'}"
    if metric == CHURNED:
        return f"there were {'more' if mix > 0 else 'fewer'} of them at the start"
    return f"they were a {'larger' if mix > 0 else 'smaller'} share of the customers"


def largest_parts(rows: Sequence[DriverRow], metric: str, count: int) -> list[DriverRow]:
    """The `count` segment rows of `metric` with the largest change, largest first (ties: dimension, segment)."""
    parts = [r for r in rows if r.metric == metric and r.dimension != "total" and round(r.change, 6) != 0]
    return sorted(parts, key=lambda r: (-abs(r.change), r.dimension, r.segment))[:count]


def drivers_sentence(rows: Sequence[DriverRow], metric: str = CHURNED) -> str:
    """One plain sentence on how `metric` moved and the largest contributions, e.g. "Churn rose from 170 to
    172 customers in June 2026; paid search customers added 13 because their own churn rate rose, …"."""
    total = next((r for r in rows if r.metric == metric and r.dimension == "total"), None)
    if total is None or total.previous_value is None or total.current_value is None:
        return ""
    period = period_label(total.current_period_start, total.period_grain)
    if metric == CHURNED:
        name, fmt = "Churn", lambda v: number(v)
        moved = (f"{name} rose from {fmt(total.previous_value)} to {fmt(total.current_value)} customers"
                 if total.change > 0 else
                 f"{name} fell from {fmt(total.previous_value)} to {fmt(total.current_value)} customers"
                 if total.change < 0 else f"{name} was unchanged at {fmt(total.current_value)} customers")
    else:
        fmt = percent
        moved = (f"CRR {'rose' if total.change > 0 else 'fell'} from {fmt(total.previous_value)} to "
                 f"{fmt(total.current_value)}" if round(total.change, 1) != 0 else
                 f"CRR held at {fmt(total.current_value)}")
    parts = []
    for row in largest_parts(rows, metric, LARGEST_IN_SENTENCE):
        if metric == CHURNED:
            amount = number(abs(row.change), 0 if float(row.change).is_integer() else 1)
            effect = f"added {amount}" if row.change > 0 else f"churned {amount} fewer"
        else:
            points = number(abs(row.change), 2 if abs(row.change) < 1 else 1)
            effect = f"{'added' if row.change > 0 else 'took off'} {points} points"
        parts.append(f"{who(row)} {effect} because {_because(row, metric)}")
    sentence = f"{moved} in {period}"
    return sentence + ("; " + ", ".join(parts) if parts else "") + "."


def contributions(rows: Sequence[DriverRow], metric: str, count: int = LARGEST_IN_CHART) -> list[Contribution]:
    fmt = (lambda v: signed(v, 1)) if metric == CHURNED else (lambda v: signed(v, 2, "pp"))
    return [Contribution(chart_label(r), r.mix_effect or 0.0, r.rate_effect or 0.0,
                         f"{chart_label(r)}: {fmt(r.change)} (mix {fmt(r.mix_effect or 0.0)}, "
                         f"rate {fmt(r.rate_effect or 0.0)})")
            for r in largest_parts(rows, metric, count)]


def _axis(value: float) -> str:
    return "0" if value == 0 else f"{value:+g}".replace("-", "−")


def drivers_chart(rows: Sequence[DriverRow], metric: str) -> str:
    """The largest contributions of `metric` as diverging mix/rate bars; '' when nothing moved."""
    parts = contributions(rows, metric)
    if not parts:
        return ""
    total = next((r for r in rows if r.metric == metric and r.dimension == "total"), None)
    when = (f"{period_label(total.previous_period_start, total.period_grain)} → "
            f"{period_label(total.current_period_start, total.period_grain)}" if total else "")
    if metric == CHURNED:
        return charts.contribution_chart(
            "chart-drivers-churn", "Largest contributions to the change in churned customers", parts,
            lambda v: signed(v, 0 if abs(v - round(v)) < 1e-6 else 1), _axis,
            "Churned customers added (right) or taken off (left)",
            subtitle=f"{when}; each dimension's segments add up to the total change", width=1080)
    return charts.contribution_chart(
        "chart-drivers-crr", "Largest contributions to the change in CRR", parts, lambda v: signed(v, 2, "pp"),
        _axis, "CRR points added (right) or taken off (left)",
        subtitle=f"{when}; each dimension's segments add up to the total change", width=1080,
        rate_name="Rate: its own retention changed", mix_name="Mix: its share of customers changed")
