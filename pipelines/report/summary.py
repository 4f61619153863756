"""What the Dagster UI shows of a report: a Markdown table of the last months and a trend chart.

Dagster renders Markdown metadata with images allowed as data URIs, so the trend is the same SVG chart as
in the report, base64-encoded into an image, with a Unicode sparkline beside it for plain-text views.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from pipelines.report import charts
from pipelines.report.charts import BLUE, VERMILLION, LineSeries
from pipelines.report.formatting import money, month_label, number, percent, ratio, short_month_label
from pipelines.report.queries import MonthMetrics

PREVIEW_MONTHS = 12


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def monthly_preview_markdown(months: Sequence[MonthMetrics], currency: str, count: int = PREVIEW_MONTHS) -> str:
    """The last `count` complete months as a Markdown table, latest first."""
    if not months:
        return "_No complete month published yet._"
    header = "| Month | CS | CE | CN | CRR | Churn | NPS | CAC | CLV:CAC |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    lines = [
        f"| {month_label(m.month)} | {number(m.customers_at_start)} | {number(m.customers_at_end)} | "
        f"{number(m.new_customers)} | {percent(m.retention_rate_pct)} | {percent(m.churn_rate_pct)} | "
        f"{number(m.nps, 1)} | {money(m.cac, currency)} | {ratio(m.clv_to_cac)} |"
        for m in reversed(months[-count:])
    ]
    return "\n".join([header, *lines])


def trend_chart_svgs(months: Sequence[MonthMetrics], count: int = PREVIEW_MONTHS) -> tuple[str, str]:
    """CRR and churn of the last `count` months, each on its own scale, compact enough for the UI."""
    recent = list(months[-count:])
    labels = [short_month_label(m.month) for m in recent]
    crr = charts.line_chart(
        "dagster-crr", "Customer retention rate (CRR)", labels,
        [LineSeries("CRR", [m.retention_rate_pct for m in recent], BLUE, percent)], "CRR (%)",
        lambda v: f"{v:g}%", width=460, height=260)
    churn = charts.line_chart(
        "dagster-churn", "Churn rate", labels,
        [LineSeries("Churn rate", [m.churn_rate_pct for m in recent], VERMILLION, percent)], "Churn rate (%)",
        lambda v: f"{v:g}%", width=460, height=260, include_zero=True)
    return crr, churn


def trend_markdown(months: Sequence[MonthMetrics], count: int = PREVIEW_MONTHS) -> str:
    """The trend as images (SVG data URIs) and as Unicode sparklines."""
    if not months:
        return "_No complete month published yet._"
    recent = list(months[-count:])
    crr = [m.retention_rate_pct for m in recent]
    churn = [m.churn_rate_pct for m in recent]
    period = f"{month_label(recent[0].month)} – {month_label(recent[-1].month)}"
    crr_svg, churn_svg = trend_chart_svgs(months, count)
    return "\n".join([
        f"![CRR, {period}]({svg_data_uri(crr_svg)}) ![Churn rate, {period}]({svg_data_uri(churn_svg)})",
        "",
        f"**CRR** `{charts.sparkline(crr)}` {percent(crr[-1])}  ",
        f"**Churn** `{charts.sparkline(churn)}` {percent(churn[-1])}  ",
        f"_{period}_",
    ])
