"""The report's own sections, one function each: `ReportData` in, a `Section` (or None) out.

Each section formats its numbers with the formatter of their kind (money, percent, count: formatting.py)
and draws its charts with charts.py; page.py puts the sections in order. The sections of the published
tables read whole or in part (drivers, segments, customers at risk, feedback, model card) are in
table_sections.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from pipelines.report import charts
from pipelines.report.charts import (
    BLUE,
    GREEN,
    ORANGE,
    PURPLE,
    SKY,
    VERMILLION,
    INK,
    BarGroup,
    GridCell,
    HeatCell,
    LineSeries,
    StepSeries,
)
from pipelines.report.formatting import (
    MISSING,
    compact_money,
    is_missing,
    money,
    month_label,
    number,
    percent,
    ratio,
    short_month_label,
    signed,
    signed_money,
)
from pipelines.report.markup import Section, esc, figure_html, note_html, table_html
from pipelines.report.queries import (
    SURVIVAL_HORIZONS,
    CohortCell,
    MonthMetrics,
    ReportData,
    SurvivalStep,
    SurvivalSummary,
)
from pipelines.report.readme_markdown import markdown_to_html, readme_list_item

TREND_TABLE_MONTHS = 12
# The classic cohort charts: months 0 .. 12 after the first purchase, revenue curves of the latest cohorts.
COHORT_PURCHASE_MONTHS = 12
COHORT_REVENUE_CURVES = 6
COHORT_CURVE_COLORS = (BLUE, VERMILLION, GREEN, ORANGE, SKY, PURPLE)


# The channels' average predicted_clv_12m (channel_economics.avg_predicted_clv_12m), as the report names it.
PREDICTED_VALUE_LABEL = "predicted 12-month value per customer"


# What the report says instead of a number nobody can know (retention_metrics: unknown is null, never 0).
NO_SPEND_DATA = "no spend data: deliver marketing_spend*.csv for CAC"
NO_SURVEY_DATA = "no survey data: deliver survey_responses*.csv for NPS"


def short_history_note(month: MonthMetrics, window_days: str | None) -> str:
    """Why CRR and churn of a month with less history than the activity window say little yet."""
    window = f"{window_days}-day" if window_days else "activity"
    month_name = month_label(month.month, long=True)
    return note_html(f"The data starts less than the {esc(window)} window before {esc(month_name)}: "
                     "a customer lapses only a full window after their last purchase, so churn reads about 0 % and CRR "
                     "about 100 % by definition. Set a shorter RETENTIO_ACTIVITY_WINDOW_DAYS for a reading now.")


# ---------------------------------------------------------------- headline tiles


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    change: str             # already formatted, e.g. "+0.3 pp"
    direction: int          # +1 up, -1 down, 0 flat / unknown
    is_better: bool | None  # None: no judgement (flat or unknown)
    context: str


def _change(current: float | None, previous: float | None) -> float | None:
    if is_missing(current) or is_missing(previous):
        return None
    return current - previous


def _tile_change(delta: float | None, higher_is_better: bool, fmt: Callable[[float], str],
                 decimals: int) -> tuple[str, int, bool | None]:
    if delta is None:
        return MISSING, 0, None
    if round(delta, decimals) == 0:
        return fmt(0.0), 0, None
    direction = 1 if delta > 0 else -1
    return fmt(delta), direction, (direction > 0) == higher_is_better


def headline_tiles(last: MonthMetrics, previous: MonthMetrics | None, currency: str) -> list[Tile]:
    """CRR, churn, NPS, CAC and CLV:CAC of the last complete month, each with its change from the month before."""
    prev = previous or MonthMetrics(last.month, *([None] * 14))

    def tile(label, value, delta, higher_is_better, change_fmt, decimals, context):
        change, direction, better = _tile_change(delta, higher_is_better, change_fmt, decimals)
        return Tile(label, value, change, direction, better, context)

    clv_context = f"avg. historical CLV {money(last.avg_historical_clv, currency)}"
    if last.predicted_clv_to_cac is not None:
        clv_context += f"; with predicted CLV {ratio(last.predicted_clv_to_cac)}"
    return [
        tile("Retention (CRR)", percent(last.retention_rate_pct),
             _change(last.retention_rate_pct, prev.retention_rate_pct), True,
             lambda d: signed(d, 1, "pp"), 1,
             f"{number(last.customers_at_start)} active at start → {number(last.customers_at_end)} at end, "
             f"{number(last.new_customers)} new"),
        tile("Churn rate", percent(last.churn_rate_pct),
             _change(last.churn_rate_pct, prev.churn_rate_pct), False,
             lambda d: signed(d, 1, "pp"), 1,
             f"{number(last.churned_customers)} of {number(last.customers_at_start)} active customers lapsed"),
        tile("Net Promoter Score", number(last.nps, 1), _change(last.nps, prev.nps), True,
             lambda d: signed(d, 1, "pts"), 1,
             f"{number(last.nps_responses)} survey responses" if last.has_survey_data else NO_SURVEY_DATA),
        tile("Acquisition cost", money(last.cac, currency), _change(last.cac, prev.cac), False,
             lambda d: signed_money(d, currency), 2,
             f"CAC: {money(last.marketing_spend, currency, 0)} spend / {number(last.new_customers)} new customers"
             if last.has_spend_data else NO_SPEND_DATA),
        tile("CLV : CAC", ratio(last.clv_to_cac), _change(last.clv_to_cac, prev.clv_to_cac), True,
             lambda d: signed(d, 1) + "×", 1, clv_context),
    ]


def _render_tiles(tiles: Sequence[Tile], previous_month: date | None) -> str:
    cards = []
    for t in tiles:
        arrow = {1: "▲", -1: "▼", 0: "●"}[t.direction] if t.change != MISSING else ""
        tone = "flat" if t.is_better is None else ("good" if t.is_better else "bad")
        judgement = {"good": "an improvement", "bad": "a deterioration", "flat": "no change"}[tone]
        versus = f"vs {month_label(previous_month)}" if previous_month else "no earlier month"
        cards.append(
            f'<div class="tile" role="group" aria-label="{esc(t.label)}">'
            f'<div class="tile-label">{esc(t.label)}</div>'
            f'<div class="tile-value" data-metric="{esc(t.label)}">{esc(t.value)}</div>'
            f'<div class="tile-change {tone}"><span aria-hidden="true">{arrow}</span> {esc(t.change)} '
            f'<span class="muted">{esc(versus)}</span><span class="sr-only"> ({judgement})</span></div>'
            f'<div class="tile-context">{esc(t.context)}</div></div>'
        )
    return f'<div class="tiles">{"".join(cards)}</div>'


# ---------------------------------------------------------------- sections


def section_headline(data: ReportData, currency: str) -> Section | None:
    last = data.last_month
    if last is None:
        return Section("headline", "Last complete month", note_html("No complete month has been published yet."))
    tiles = headline_tiles(last, data.previous_month, currency)
    previous = data.previous_month.month if data.previous_month else None
    intro = (f'<p class="lead">{esc(month_label(last.month, long=True))}: revenue '
             f"{esc(money(last.revenue, currency, 0))}, {esc(number(last.reactivated_customers))} customers "
             f"reactivated. Green arrows mark an improvement on the month before, red ones a deterioration.</p>")
    if last.is_history_shorter_than_window:
        intro += short_history_note(last, data.publication.get("activity_window_days"))
    return Section("headline", f"Last complete month — {month_label(last.month, long=True)}",
                   intro + _render_tiles(tiles, previous))


def section_trend(data: ReportData, currency: str) -> Section | None:
    if not data.months:
        return None
    labels = [short_month_label(m.month) for m in data.months]
    crr = charts.line_chart(
        "chart-crr", "Customer retention rate (CRR)", labels,
        [LineSeries("CRR", [m.retention_rate_pct for m in data.months], BLUE, percent)],
        "CRR (%)", lambda v: f"{v:g}%",
        tips=[f"CS {number(m.customers_at_start)}, CE {number(m.customers_at_end)}, CN {number(m.new_customers)}"
              for m in data.months],
        subtitle="(CE − CN) / CS, monthly")
    churn = charts.line_chart(
        "chart-churn", "Churn rate", labels,
        [LineSeries("Churn rate", [m.churn_rate_pct for m in data.months], VERMILLION, percent)],
        "Churn rate (%)", lambda v: f"{v:g}%",
        tips=[f"{number(m.churned_customers)} churned of {number(m.customers_at_start)}" for m in data.months],
        subtitle="churned / CS, monthly", include_zero=True)
    recent = data.months[-TREND_TABLE_MONTHS:]
    table = table_html(
        ["Month", "CS", "CE", "CN", "CRR", "Churned", "Churn", "Reactivated", "Revenue", "NPS", "CAC", "CLV:CAC"],
        [[month_label(m.month), number(m.customers_at_start), number(m.customers_at_end), number(m.new_customers),
          percent(m.retention_rate_pct), number(m.churned_customers), percent(m.churn_rate_pct),
          number(m.reactivated_customers), money(m.revenue, currency, 0), number(m.nps, 1), money(m.cac, currency),
          ratio(m.clv_to_cac)] for m in reversed(recent)],
        [False] + [True] * 11, caption=f"Last {len(recent)} complete months, latest first")
    html = (f'<div class="grid-2">{figure_html(crr)}{figure_html(churn)}</div>'
            f"<details open><summary>Monthly figures</summary>{table}</details>")
    return Section("trend", "Retention and churn", html)


def section_cohorts(data: ReportData, currency: str = "EUR") -> Section | None:
    if not data.cohorts:
        return Section("cohorts", "Acquisition cohorts", note_html("No cohort has a complete month yet."))
    cohort_months = sorted({c.cohort_month for c in data.cohorts})
    horizon = max(c.months_since_first_purchase for c in data.cohorts)
    row_of = {m: i for i, m in enumerate(cohort_months)}
    sizes = {c.cohort_month: c.cohort_size for c in data.cohorts}
    cells = [
        HeatCell(row_of[c.cohort_month], c.months_since_first_purchase, c.retention_pct,
                 "" if c.retention_pct is None else f"{c.retention_pct:.0f}",
                 f"{month_label(c.cohort_month)} cohort, month {c.months_since_first_purchase}: "
                 f"{percent(c.retention_pct)} active ({number(c.active_customers)} of {number(c.cohort_size)})")
        for c in data.cohorts
    ]
    svg = charts.heatmap(
        "chart-cohorts", "Retention by acquisition cohort", [month_label(m) for m in cohort_months],
        [str(k) for k in range(horizon + 1)], cells, x_title="Months since first purchase",
        y_title="Cohort", row_notes=[number(sizes[m]) for m in cohort_months], row_notes_title="Customers",
        legend_title="share of the cohort still active at the end of the month",
        subtitle="Share of each cohort (customers by month of first purchase) still active, by month since (%)")
    intro = ("<p>Each row is the customers whose first purchase fell in that month; each column a month after it. "
             "A customer counts as active while their latest purchase is within the activity window, so the first "
             "months of every cohort stay at 100% when the window is longer than a month.</p>")
    return Section("cohorts", "Acquisition cohorts",
                   intro + f'<div class="scroll-x">{figure_html(svg)}</div>' + _cohort_purchases_html(data, currency))


def _cohort_purchases_html(data: ReportData, currency: str) -> str:
    """The classic cohort charts beside the activity matrix: who purchased in month k, and revenue retention."""
    cells = [c for c in data.cohorts if c.months_since_first_purchase <= COHORT_PURCHASE_MONTHS]
    cohort_months = sorted({c.cohort_month for c in cells})
    horizon = max(c.months_since_first_purchase for c in cells)
    row_of = {m: i for i, m in enumerate(cohort_months)}
    sizes = {c.cohort_month: c.cohort_size for c in cells}
    # Month 0 is 100% by definition: the colours spread over the later months so their differences show.
    later = [c.purchasing_customers_pct for c in cells
             if c.months_since_first_purchase > 0 and c.purchasing_customers_pct is not None]
    high = charts.nice_ticks(0.0, max(later), 4)[-1] if later and max(later) > 0 else 100.0
    heat_cells = [
        HeatCell(row_of[c.cohort_month], c.months_since_first_purchase, c.purchasing_customers_pct,
                 "" if c.purchasing_customers_pct is None else f"{c.purchasing_customers_pct:.0f}",
                 f"{month_label(c.cohort_month)} cohort, month {c.months_since_first_purchase}: "
                 f"{percent(c.purchasing_customers_pct)} purchased ({number(c.purchasing_customers)} of "
                 f"{number(c.cohort_size)}); {money(c.cumulative_revenue_per_customer, currency)} per acquired "
                 "customer so far")
        for c in cells
    ]
    heat = charts.heatmap(
        "chart-cohort-purchases", "Share of each cohort that purchased again in month k",
        [month_label(m) for m in cohort_months], [str(k) for k in range(horizon + 1)], heat_cells,
        x_title="Months since first purchase (k)", y_title="Cohort",
        row_notes=[number(sizes[m]) for m in cohort_months], row_notes_title="Customers",
        value_range=(0.0, high), legend_title="share that purchased",
        subtitle="Customers with a purchase in month k, % of the cohort (month 0: all)")
    sentence = ("<p>The matrix above counts a customer as active until the activity window has passed since their "
                "last purchase; the one below counts only the customers who actually bought in each month, so it "
                "shows how many come back, month after month.</p>")
    return (f"<h3>Purchases and revenue by month since the first purchase</h3>{sentence}"
            f'<div class="scroll-x">{figure_html(heat)}</div>' + _cohort_revenue_curves(data.cohorts, currency))


def _cohort_revenue_curves(cohorts: Sequence[CohortCell], currency: str) -> str:
    """Cumulative revenue per acquired customer by month k for the latest cohorts followed through the whole
    horizon (month 12, or the longest any cohort has), so every curve spans the same months."""
    horizon = min(COHORT_PURCHASE_MONTHS, max(c.months_since_first_purchase for c in cohorts))
    complete = sorted({c.cohort_month for c in cohorts if c.months_since_first_purchase == horizon})
    cohort_months = complete[-COHORT_REVENUE_CURVES:]
    by_cell = {(c.cohort_month, c.months_since_first_purchase): c for c in cohorts}
    months = range(horizon + 1)

    def value(cohort, k):
        cell = by_cell.get((cohort, k))
        return None if cell is None else cell.cumulative_revenue_per_customer

    series = [LineSeries(month_label(m), [value(m, k) for k in months], color,
                         lambda v: money(v, currency))
              for m, color in zip(reversed(cohort_months), COHORT_CURVE_COLORS)]
    svg = charts.line_chart(
        "chart-cohort-revenue", "Cumulative revenue per acquired customer", [str(k) for k in months], series,
        f"Revenue per customer ({currency})", lambda v: compact_money(v, currency),
        x_title="Months since first purchase (k)", width=1080, height=320, include_zero=True,
        tips=[f"revenue from month 0 through month {k}, divided by the cohort's customers" for k in months],
        subtitle=f"Revenue from each cohort's first month through month k ÷ customers acquired; the latest "
                 f"{len(cohort_months)} cohorts followed for {horizon} complete months, newest first")
    return figure_html(svg)


# ---------------------------------------------------------------- how long customers stay

# The curves drawn: all customers and the channels with most customers (the table lists every channel).
SURVIVAL_CHANNEL_CURVES = 5
SURVIVAL_CHANNEL_COLORS = (BLUE, VERMILLION, GREEN, ORANGE, PURPLE)
# The README's definition the section quotes (a bullet of "Metric definitions").
SURVIVAL_DEFINITION_TERM = "Survival curves"


@dataclass(frozen=True)
class SurvivalCurve:
    """What the report says about one curve of customer_survival."""

    chart_id: str
    title: str
    y_title: str
    still: str           # what the share on the y axis is, after "N % …"


SURVIVAL_CURVES = {
    "lapse": SurvivalCurve("chart-survival-lapse", "Customers still active, by days since their first purchase",
                           "Not yet lapsed (%)", "still active (not yet lapsed)"),
    "second_purchase": SurvivalCurve("chart-survival-second-purchase",
                                     "Customers still waiting for a second purchase, by days since the first",
                                     "Without a second purchase (%)", "without a second purchase"),
}


def _slice_name(summary: SurvivalSummary | SurvivalStep) -> str:
    return "all customers" if summary.dimension == "all" else summary.dimension_value.replace("_", " ")


def _per_100(share: float) -> str:
    return number(100 * share)


def _horizon_words(days: int) -> str:
    return "a year" if days == 365 else f"{days} days"


def _latest_horizon(summary: SurvivalSummary) -> int | None:
    """The longest of SURVIVAL_HORIZONS the slice was followed for (its survival known there)."""
    return next((h for h in reversed(SURVIVAL_HORIZONS) if summary.survival_at.get(h) is not None), None)


def survival_sentences(summaries: Sequence[SurvivalSummary], window_days: str | None = None) -> list[str]:
    """What the curves say in plain words: of 100 customers (of all, then of the channels keeping the most and
    the fewest), how many are still active a year (or the longest horizon followed) after their first
    purchase; how soon half buy a second time, and how many have within 90 days."""
    sentences = []
    lapse = {s.dimension_value: s for s in summaries if s.curve == "lapse" and s.dimension == "all"}.get("all")
    channels = [s for s in summaries if s.curve == "lapse" and s.dimension == "acquisition_channel"]
    if lapse is not None and (horizon := _latest_horizon(lapse)) is not None:
        window = f"gone {window_days} days without a purchase" if window_days else "lapsed"
        sentence = (f"Of 100 customers, {_per_100(lapse.survival_at[horizon])} are still active "
                    f"{_horizon_words(horizon)} after their first purchase (they have not {window})")
        known = sorted((s for s in channels if s.survival_at.get(horizon) is not None),
                       key=lambda s: (-s.survival_at[horizon], s.dimension_value))
        if len(known) > 1:
            best, worst = known[0], known[-1]
            sentence += (f": {_per_100(best.survival_at[horizon])} of 100 acquired through {_slice_name(best)}, "
                         f"{_per_100(worst.survival_at[horizon])} of 100 through {_slice_name(worst)}")
        sentences.append(sentence + ".")
    second = {s.dimension_value: s for s in summaries
              if s.curve == "second_purchase" and s.dimension == "all"}.get("all")
    if second is not None:
        if second.median_days is not None:
            sentence = f"Half of all customers buy a second time within {number(second.median_days)} days"
        else:
            sentence = "Fewer than half of all customers have bought a second time so far"
        within_90 = second.survival_at.get(90)
        if within_90 is not None:
            sentence += f"; {_per_100(1 - within_90)} of 100 have within 90 days of their first purchase"
        sentences.append(sentence + ".")
    return sentences


def _median_text(summary: SurvivalSummary) -> str:
    if summary.median_days is None:
        return "not reached"
    low = number(summary.median_days_lower_95)
    high = "not reached" if summary.median_days_upper_95 is None else number(summary.median_days_upper_95)
    return f"{number(summary.median_days)} ({low} – {high})"


def survival_table_rows(summaries: Sequence[SurvivalSummary], curve: str) -> list[list[str]]:
    """All customers first, then each channel, most customers first: customers, median days (95 % interval)
    and the share still without the event at each horizon (— past the longest time followed)."""
    rows = sorted((s for s in summaries if s.curve == curve),
                  key=lambda s: (s.dimension != "all", -s.customers, s.dimension_value))
    return [[_slice_name(s), number(s.customers), _median_text(s),
             *[percent(None if s.survival_at.get(h) is None else 100 * s.survival_at[h]) for h in SURVIVAL_HORIZONS]]
            for s in rows]


def _survival_chart(steps: Sequence[SurvivalStep], summaries: Sequence[SurvivalSummary], curve: str) -> str:
    spec = SURVIVAL_CURVES[curve]
    by_slice: dict[tuple[str, str], list[SurvivalStep]] = {}
    for step in steps:
        if step.curve == curve:
            by_slice.setdefault((step.dimension, step.dimension_value), []).append(step)
    channels = sorted((s for s in summaries if s.curve == curve and s.dimension == "acquisition_channel"),
                      key=lambda s: (-s.customers, s.dimension_value))[:SURVIVAL_CHANNEL_CURVES]
    slices = [(("all", "all"), INK, True)] + [
        (("acquisition_channel", c.dimension_value), color, False)
        for c, color in zip(channels, SURVIVAL_CHANNEL_COLORS)]
    series = []
    for key, color, is_all in slices:
        rows = by_slice.get(key, [])
        if not rows:
            continue
        name = _slice_name(rows[0])

        def tip(day, rows=rows, name=name):
            row = [r for r in rows if r.days <= day][-1]
            return (f"{name} · day {day}: {percent(100 * row.survival)} {spec.still} (95 % interval "
                    f"{percent(100 * row.survival_lower_95)} – {percent(100 * row.survival_upper_95)}); "
                    f"{number(row.at_risk)} customers followed that long")

        series.append(StepSeries(
            name, color, [(r.days, r.survival) for r in rows],
            [(r.days, r.survival_lower_95, r.survival_upper_95) for r in rows] if is_all else (),
            {h: tip(h) for h in SURVIVAL_HORIZONS if h <= rows[-1].days}, 3.0 if is_all else 2.0))
    more = sum(1 for s in summaries if s.curve == curve and s.dimension == "acquisition_channel") - len(channels)
    subtitle = ("Kaplan–Meier estimate; shaded: the 95 % interval of all customers; points at 30, 90, 180 and "
                "365 days" + (f"; {more} smaller channels in the table only" if more > 0 else ""))
    return charts.step_chart(spec.chart_id, spec.title, series, "Days since the first purchase", spec.y_title,
                             subtitle=subtitle, marker_days=SURVIVAL_HORIZONS)


def section_survival(data: ReportData, definitions_markdown: str = "") -> Section:
    """Kaplan-Meier curves of the lapse and the second purchase, for all customers and per acquisition channel,
    with a table per curve and what they say in words; the README's definition one click away."""
    if not data.survival:
        return Section("survival", "How long customers stay", note_html("No purchasing customer yet."))
    window = data.publication.get("activity_window_days")
    sentences = survival_sentences(data.survival_summaries, window)
    parts = [f'<p class="finding">{esc(s)}</p>' for s in sentences]
    parts.append("<p>A survival curve follows customers from their first purchase: at each day, the share who "
                 "have not yet had the event (lapsed, or bought a second time). Customers acquired recently "
                 "count only for the days they have been followed, so young channels and cohorts are not "
                 "flattered or penalised; where a curve crosses the dashed line is its median.</p>")
    headers = ["Slice", "Customers", "Median days (95 % interval)",
               *[f"After {h} days" for h in SURVIVAL_HORIZONS]]
    for curve, spec in SURVIVAL_CURVES.items():
        if not any(s.curve == curve for s in data.survival):
            continue
        parts.append(figure_html(_survival_chart(data.survival, data.survival_summaries, curve)))
        parts.append(table_html(headers, survival_table_rows(data.survival_summaries, curve), [False] + [True] * 6,
                                caption=f"Share {spec.still} (customer_survival_summary; — : not followed that "
                                        "long yet)", css_class="data tight"))
    definition = readme_list_item(definitions_markdown, SURVIVAL_DEFINITION_TERM)
    body = (markdown_to_html(definition) if definition else
            "<p>The definitions are in the project README, “Metric definitions”, “Survival curves”.</p>")
    parts.append(f"<details><summary>How the curves are computed (the README’s definition; all definitions: "
                 f'<a href="#definitions">Definitions</a>)</summary><div class="definitions">{body}</div></details>')
    return Section("survival", "How long customers stay", "".join(parts))


def section_rfm(data: ReportData, currency: str) -> Section | None:
    if not data.rfm_cells:
        return Section("rfm", "RFM segments", note_html("No purchasing customer to score yet."))
    total_customers = sum(s.customers for s in data.rfm_segments) or 1
    total_revenue = sum(s.revenue for s in data.rfm_segments) or 1.0
    cells = [GridCell(c.recency_score, c.frequency_score, c.rfm_segment, c.customers,
                      f"R{c.recency_score} F{c.frequency_score} · {c.rfm_segment}: {number(c.customers)} customers, "
                      f"{money(c.revenue, currency, 0)} revenue") for c in data.rfm_cells]
    grid = charts.rfm_grid("chart-rfm", "Customers by recency and frequency score", cells, number,
                           subtitle="Thick lines separate the segments")
    rows = [[s.rfm_segment, number(s.customers), percent(100 * s.customers / total_customers),
             money(s.revenue, currency, 0), percent(100 * s.revenue / total_revenue),
             money(s.revenue / s.customers if s.customers else None, currency, 0)] for s in data.rfm_segments]
    rows.append(["All segments", number(total_customers), percent(100.0),
                 money(total_revenue, currency, 0), percent(100.0), money(total_revenue / total_customers, currency, 0)])
    table = table_html(["Segment", "Customers", "% of all", "Revenue to date", "% of all", "Per customer"],
                       rows, [False, True, True, True, True, True], caption="Segments by revenue to date",
                       css_class="data totals tight")
    return Section("rfm", "RFM segments", f'<div class="grid-rfm">{figure_html(grid)}<div>{table}</div></div>')


def section_customer_value(data: ReportData, currency: str) -> Section | None:
    clv = data.clv
    if clv is None:
        return None
    parts = []
    if clv.prediction_unavailable:
        parts.append(note_html(f"Not enough history for predictions yet: {esc(clv.prediction_unavailable)} "
                               "Historical CLV is shown instead."))
    if clv.customers == 0:
        parts.append(note_html("No purchasing customer yet."))
    else:
        what = "Predicted CLV" if clv.is_predicted else "Historical CLV (revenue to date)"
        labels = [compact_money(b.lower, currency) for b in clv.bins]
        tips = [
            (f"{money(b.lower, currency, 0)} – {money(b.upper, currency, 0)}" if b.upper is not None
             else f"{money(b.lower, currency, 0)} and more") + f": {number(b.customers)} customers"
            for b in clv.bins
        ]
        svg = charts.histogram(
            "chart-clv", f"{what} per purchasing customer", labels, [b.customers for b in clv.bins],
            x_title=f"{what} ({currency}); the last bar is open-ended", y_title="Customers", count_format=number,
            tips=tips, subtitle=f"{number(clv.customers)} customers; bins of "
                                f"{money(clv.bins[0].upper - clv.bins[0].lower, currency, 0)} up to the 99th percentile"
            if clv.bins and clv.bins[0].upper is not None else None,
            highlight_last=True)
        stats = [("Customers", number(clv.customers)), ("Mean", money(clv.mean, currency)),
                 ("Median", money(clv.median, currency)), ("90th percentile", money(clv.p90, currency))]
        if clv.mean_p10 is not None and clv.mean_p90 is not None:
            stats.append(("Avg. 80% interval (p10 – p90)", f"{money(clv.mean_p10, currency)} – {money(clv.mean_p90, currency)}"))
        stat_html = "".join(f'<div class="stat"><span>{esc(k)}</span><strong>{esc(v)}</strong></div>' for k, v in stats)
        source = (f"Column <code>customers.{esc(clv.column)}</code>." if clv.is_predicted else
                  "Column <code>customers.historical_clv</code>; predicted CLV replaces it once the CLV model "
                  "publishes it.")
        parts.append(f'<div class="stats">{stat_html}</div>{figure_html(svg, source)}')
    if data.health:
        parts.append(_health_html(data, currency))
    return Section("value", "Customer value", "".join(parts))


def _health_html(data: ReportData, currency: str) -> str:
    total = sum(b.customers for b in data.health) or 1
    groups = [BarGroup(b.band.replace("_", " "), [100 * b.customers / total],
                       note=number(b.customers),
                       tips=[(f"{b.band}: {number(b.customers)} customers ({percent(100 * b.customers / total)}), "
                              f"revenue to date {money(b.revenue, currency, 0)}")])
              for b in data.health]
    svg = charts.grouped_bar_chart("chart-health", "Customers by health band", groups, ["Share of customers"],
                                   [BLUE], percent, lambda v: f"{v:g}%", "Share of purchasing customers (%)",
                                   width=480, note_title="Customers")
    rows = [[b.band.replace("_", " "), number(b.customers), percent(100 * b.customers / total),
             number(b.avg_health_score, 1), percent(None if b.avg_probability_alive is None
                                                    else 100 * b.avg_probability_alive),
             money(b.revenue, currency, 0)] for b in data.health]
    table = table_html(["Band", "Customers", "Share", "Avg. score", "Avg. P(alive)", "Revenue"],
                       rows, [False, True, True, True, True, True], caption="Health bands (customers.health_band)",
                       css_class="data tight")
    return f'<h3>Customer health</h3><div class="grid-rfm">{figure_html(svg)}<div>{table}</div></div>'


def section_nps(data: ReportData) -> Section | None:
    if not data.nps_months:
        if data.last_month is not None and not data.last_month.has_survey_data:
            return Section("nps", "Net Promoter Score", note_html(f"No survey data: {esc(NO_SURVEY_DATA)}."))
        return None
    labels = [short_month_label(m.month) for m in data.nps_months]
    svg = charts.bar_line_chart(
        "chart-nps", "Net Promoter Score and survey responses", labels, [float(m.responses) for m in data.nps_months],
        "Responses", number, [m.nps for m in data.nps_months], "NPS", lambda v: number(v, 1),
        line_axis_format=lambda v: f"{v:g}",
        subtitle="NPS = % promoters (9–10) − % detractors (0–6), monthly")
    latest = data.nps_months[-1]
    share = (lambda k: percent(100 * k / latest.responses)) if latest.responses else (lambda k: MISSING)
    summary = (f"<p>{esc(month_label(latest.month, long=True))}: {esc(number(latest.responses))} responses — "
               f"{esc(share(latest.promoters))} promoters, {esc(share(latest.passives))} passives, "
               f"{esc(share(latest.detractors))} detractors.</p>")
    return Section("nps", "Net Promoter Score", summary + figure_html(svg))


def section_channels(data: ReportData, currency: str) -> Section | None:
    window = data.channels
    if window is None:
        return None
    period = f"{month_label(window.first_month)} – {month_label(window.last_month)}"
    if window.blended is not None and window.blended.spend is None:
        return Section("channels", "CAC vs CLV by channel", note_html(f"No spend data: {esc(NO_SPEND_DATA)}."))
    # The predicted value beside the historical one once the purchase models publish predictions.
    predicted = any(c.avg_predicted_clv_12m is not None for c in (*window.channels, window.blended) if c)
    groups = []
    for c in window.channels:
        note = ratio(c.clv_to_cac) if c.clv_to_cac is not None else ("no spend" if c.spend == 0 else MISSING)
        groups.append(BarGroup(c.channel.replace("_", " "), [c.cac if c.new_customers else None, c.avg_historical_clv,
                                                             *([c.avg_predicted_clv_12m] if predicted else [])],
                               note=note))
    svg = charts.grouped_bar_chart(
        "chart-channels", "Acquisition cost against customer value, by channel", groups,
        ["CAC", "Avg. historical CLV", *([PREDICTED_VALUE_LABEL] if predicted else [])],
        [VERMILLION, BLUE, GREEN], lambda v: money(v, currency, 0 if v >= 100 else 2),
        lambda v: compact_money(v, currency), f"{currency} per customer", note_title="CLV : CAC",
        subtitle=f"CAC over {window.months} complete months ({period}); CLV of all the channel's purchasing customers"
                 + ("; predicted: their next 12 months" if predicted else ""))

    def row(label, c):
        return [label, money(c.spend, currency, 0), number(c.new_customers), money(c.cac, currency),
                number(c.purchasing_customers), money(c.avg_historical_clv, currency),
                *([money(c.avg_predicted_clv_12m, currency)] if predicted else []), ratio(c.clv_to_cac)]

    rows = [row(c.channel.replace("_", " "), c) for c in window.channels]
    if window.blended:
        rows.append(row("all channels (blended)", window.blended))
    headers = ["Channel", "Spend", "New customers", "CAC", "Purchasing customers", "Avg. historical CLV",
               *([PREDICTED_VALUE_LABEL.capitalize()] if predicted else []), "CLV:CAC"]
    table = table_html(headers, rows, [False] + [True] * (len(headers) - 1), caption=f"{period}",
                       css_class="data totals wrap-head")
    return Section("channels", "CAC vs CLV by channel", figure_html(svg) + table)


def section_quarantine(data: ReportData) -> Section:
    if not data.quarantine:
        return Section("quarantine", "Quarantined rows",
                       note_html("Nothing was quarantined: every row read was loaded."))
    extracts = sorted({r.extract_name for r in data.quarantine})
    reasons = sorted({r.reason for r in data.quarantine})
    counts: dict[tuple[str, str], int] = {}
    for r in data.quarantine:
        counts[(r.reason, r.extract_name)] = counts.get((r.reason, r.extract_name), 0) + r.rejected_rows
    per_extract = {e: sum(n for (_, x), n in counts.items() if x == e) for e in extracts}
    total = sum(per_extract.values())
    pivot = table_html(
        ["Reason", *[e.replace("_", " ") for e in extracts], "All extracts"],
        [[reason.replace("_", " "), *[number(counts[(reason, e)]) if (reason, e) in counts else "" for e in extracts],
          number(sum(n for (x, _), n in counts.items() if x == reason))] for reason in reasons]
        + [["All reasons", *[number(per_extract[e]) for e in extracts], number(total)]],
        [False] + [True] * (len(extracts) + 1), caption="Rejected rows by reason and extract", css_class="data totals")
    detail = table_html(["Extract", "File", "Reason", "Column", "Rows", "First row", "Example"],
                        [[r.extract_name, r.source_file, r.reason.replace("_", " "), r.column_name or MISSING,
                          number(r.rejected_rows), number(r.first_source_row), r.example_detail or ""]
                         for r in data.quarantine],
                        [False, False, False, False, True, True, "wrap"], css_class="data compact")
    intro = (f"<p>{esc(number(total))} rows were rejected by the ingestion and kept aside in quarantine with their "
             "file, row and reason; they are in none of the figures above.</p>")
    return Section("quarantine", "Quarantined rows",
                   intro + pivot + f"<details><summary>Every file, reason and column ({esc(number(len(data.quarantine)))}"
                                   f" lines, with an example)</summary>{detail}</details>")
