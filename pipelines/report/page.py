"""The report page: one self-contained HTML document assembled from `ReportData` and the charts.

Styles are inline in one `<style>` element, charts are inline SVG, and a dozen lines of script show
tooltips: the file opens anywhere, offline, and always looks the same. Nothing here reads a clock or the
network; the same data gives the same bytes.

Sections for tables and columns that later issues publish are listed in `OPTIONAL_SECTIONS`: a section
renders only when its table is in the BI file. To give one a dedicated chart, replace its `render`
function; the default shows the table's first rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from pipelines.report import charts
from pipelines.report.charts import BLUE, VERMILLION, BarGroup, GridCell, HeatCell, LineSeries
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
from pipelines.report.queries import (
    MonthMetrics,
    ReportData,
    TableExtract,
)

REPORT_TITLE = "Customer retention report"
TREND_TABLE_MONTHS = 12


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    html: str


# ---------------------------------------------------------------- small HTML helpers


def _h(value) -> str:
    return escape(str(value), quote=True)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], kinds: Sequence[bool | str], caption: str = "",
           css_class: str = "data") -> str:
    """A table of already-formatted (not yet escaped) cells. kinds, per column: True or "num" (right-aligned
    number), "wrap" (long text that may wrap), False or "" (text)."""
    classes = ["num" if k is True else (k or "") for k in kinds]
    attr = [f' class="{c}"' if c else "" for c in classes]
    head = "".join(f'<th scope="col"{a}>{_h(h)}</th>' for h, a in zip(headers, attr))
    body = "".join(
        "<tr>" + "".join(f"<td{a}>{_h(c)}</td>" for c, a in zip(row, attr)) + "</tr>"
        for row in rows
    )
    cap = f"<caption>{_h(caption)}</caption>" if caption else ""
    return (f'<div class="table-wrap"><table class="{css_class}">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _figure(svg: str, caption: str = "") -> str:
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f'<figure class="chart-figure">{svg}{cap}</figure>'


def _note(text: str) -> str:
    return f'<p class="note">{text}</p>'


# What the report says instead of a number nobody can know (retention_metrics: unknown is null, never 0).
NO_SPEND_DATA = "no spend data: deliver marketing_spend*.csv for CAC"
NO_SURVEY_DATA = "no survey data: deliver survey_responses*.csv for NPS"


def short_history_note(month: MonthMetrics, window_days: str | None) -> str:
    """Why CRR and churn of a month with less history than the activity window say little yet."""
    window = f"{window_days}-day" if window_days else "activity"
    return _note(f"The data starts less than the {_h(window)} window before {_h(month_label(month.month, long=True))}: "
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
            f'<div class="tile" role="group" aria-label="{_h(t.label)}">'
            f'<div class="tile-label">{_h(t.label)}</div>'
            f'<div class="tile-value" data-metric="{_h(t.label)}">{_h(t.value)}</div>'
            f'<div class="tile-change {tone}"><span aria-hidden="true">{arrow}</span> {_h(t.change)} '
            f'<span class="muted">{_h(versus)}</span><span class="sr-only"> ({judgement})</span></div>'
            f'<div class="tile-context">{_h(t.context)}</div></div>'
        )
    return f'<div class="tiles">{"".join(cards)}</div>'


# ---------------------------------------------------------------- sections


def section_headline(data: ReportData, currency: str) -> Section | None:
    last = data.last_month
    if last is None:
        return Section("headline", "Last complete month", _note("No complete month has been published yet."))
    tiles = headline_tiles(last, data.previous_month, currency)
    previous = data.previous_month.month if data.previous_month else None
    intro = (f'<p class="lead">{_h(month_label(last.month, long=True))}: revenue '
             f"{_h(money(last.revenue, currency, 0))}, {_h(number(last.reactivated_customers))} customers "
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
    table = _table(
        ["Month", "CS", "CE", "CN", "CRR", "Churned", "Churn", "Reactivated", "Revenue", "NPS", "CAC", "CLV:CAC"],
        [[month_label(m.month), number(m.customers_at_start), number(m.customers_at_end), number(m.new_customers),
          percent(m.retention_rate_pct), number(m.churned_customers), percent(m.churn_rate_pct),
          number(m.reactivated_customers), money(m.revenue, currency, 0), number(m.nps, 1), money(m.cac, currency),
          ratio(m.clv_to_cac)] for m in reversed(recent)],
        [False] + [True] * 11, caption=f"Last {len(recent)} complete months, latest first")
    html = (f'<div class="grid-2">{_figure(crr)}{_figure(churn)}</div>'
            f"<details open><summary>Monthly figures</summary>{table}</details>")
    return Section("trend", "Retention and churn", html)


def section_cohorts(data: ReportData) -> Section | None:
    if not data.cohorts:
        return Section("cohorts", "Acquisition cohorts", _note("No cohort has a complete month yet."))
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
    return Section("cohorts", "Acquisition cohorts", intro + f'<div class="scroll-x">{_figure(svg)}</div>')


def section_rfm(data: ReportData, currency: str) -> Section | None:
    if not data.rfm_cells:
        return Section("rfm", "RFM segments", _note("No purchasing customer to score yet."))
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
    table = _table(["Segment", "Customers", "% of all", "Revenue to date", "% of all", "Per customer"],
                   rows, [False, True, True, True, True, True], caption="Segments by revenue to date",
                   css_class="data totals tight")
    return Section("rfm", "RFM segments", f'<div class="grid-rfm">{_figure(grid)}<div>{table}</div></div>')


def section_customer_value(data: ReportData, currency: str) -> Section | None:
    clv = data.clv
    if clv is None:
        return None
    parts = []
    if clv.prediction_unavailable:
        parts.append(_note(f"Not enough history for predictions yet: {_h(clv.prediction_unavailable)} "
                           "Historical CLV is shown instead."))
    if clv.customers == 0:
        parts.append(_note("No purchasing customer yet."))
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
        stat_html = "".join(f'<div class="stat"><span>{_h(k)}</span><strong>{_h(v)}</strong></div>' for k, v in stats)
        source = (f"Column <code>customers.{_h(clv.column)}</code>." if clv.is_predicted else
                  "Column <code>customers.historical_clv</code>; predicted CLV replaces it once the CLV model "
                  "publishes it.")
        parts.append(f'<div class="stats">{stat_html}</div>{_figure(svg, source)}')
    if data.health:
        parts.append(_health_html(data, currency))
    return Section("value", "Customer value", "".join(parts))


def _health_html(data: ReportData, currency: str) -> str:
    total = sum(b.customers for b in data.health) or 1
    groups = [BarGroup(b.band.replace("_", " "), [100 * b.customers / total],
                       note=number(b.customers),
                       tips=[f"{b.band}: {number(b.customers)} customers ({percent(100 * b.customers / total)}), "
                             f"revenue to date {money(b.revenue, currency, 0)}"])
              for b in data.health]
    svg = charts.grouped_bar_chart("chart-health", "Customers by health band", groups, ["Share of customers"],
                                   [BLUE], percent, lambda v: f"{v:g}%", "Share of purchasing customers (%)",
                                   width=480, note_title="Customers")
    rows = [[b.band.replace("_", " "), number(b.customers), percent(100 * b.customers / total),
             number(b.avg_health_score, 1), percent(None if b.avg_probability_alive is None
                                                    else 100 * b.avg_probability_alive),
             money(b.revenue, currency, 0)] for b in data.health]
    table = _table(["Band", "Customers", "Share", "Avg. score", "Avg. P(alive)", "Revenue"],
                   rows, [False, True, True, True, True, True], caption="Health bands (customers.health_band)",
                   css_class="data tight")
    return f'<h3>Customer health</h3><div class="grid-rfm">{_figure(svg)}<div>{table}</div></div>'


def section_nps(data: ReportData) -> Section | None:
    if not data.nps_months:
        if data.last_month is not None and not data.last_month.has_survey_data:
            return Section("nps", "Net Promoter Score", _note(f"No survey data: {_h(NO_SURVEY_DATA)}."))
        return None
    labels = [short_month_label(m.month) for m in data.nps_months]
    svg = charts.bar_line_chart(
        "chart-nps", "Net Promoter Score and survey responses", labels, [float(m.responses) for m in data.nps_months],
        "Responses", number, [m.nps for m in data.nps_months], "NPS", lambda v: number(v, 1),
        line_axis_format=lambda v: f"{v:g}",
        subtitle="NPS = % promoters (9–10) − % detractors (0–6), monthly")
    latest = data.nps_months[-1]
    share = (lambda k: percent(100 * k / latest.responses)) if latest.responses else (lambda k: MISSING)
    summary = (f"<p>{_h(month_label(latest.month, long=True))}: {_h(number(latest.responses))} responses — "
               f"{_h(share(latest.promoters))} promoters, {_h(share(latest.passives))} passives, "
               f"{_h(share(latest.detractors))} detractors.</p>")
    return Section("nps", "Net Promoter Score", summary + _figure(svg))


def section_channels(data: ReportData, currency: str) -> Section | None:
    window = data.channels
    if window is None:
        return None
    period = f"{month_label(window.first_month)} – {month_label(window.last_month)}"
    if window.blended is not None and window.blended.spend is None:
        return Section("channels", "CAC vs CLV by channel", _note(f"No spend data: {_h(NO_SPEND_DATA)}."))
    groups = []
    for c in window.channels:
        note = ratio(c.clv_to_cac) if c.clv_to_cac is not None else ("no spend" if c.spend == 0 else MISSING)
        groups.append(BarGroup(c.channel.replace("_", " "), [c.cac if c.new_customers else None, c.avg_historical_clv],
                               note=note))
    svg = charts.grouped_bar_chart(
        "chart-channels", "Acquisition cost against customer value, by channel", groups,
        ["CAC", "Avg. historical CLV"], [VERMILLION, BLUE], lambda v: money(v, currency, 0 if v >= 100 else 2),
        lambda v: compact_money(v, currency), f"{currency} per customer", note_title="CLV : CAC",
        subtitle=f"CAC over {window.months} complete months ({period}); CLV of all the channel's purchasing customers")
    rows = [[c.channel.replace("_", " "), money(c.spend, currency, 0), number(c.new_customers),
             money(c.cac, currency), number(c.purchasing_customers), money(c.avg_historical_clv, currency),
             ratio(c.clv_to_cac)] for c in window.channels]
    if window.blended:
        b = window.blended
        rows.append(["all channels (blended)", money(b.spend, currency, 0), number(b.new_customers),
                     money(b.cac, currency), number(b.purchasing_customers), money(b.avg_historical_clv, currency),
                     ratio(b.clv_to_cac)])
    table = _table(["Channel", "Spend", "New customers", "CAC", "Purchasing customers", "Avg. historical CLV",
                    "CLV:CAC"], rows, [False] + [True] * 6, caption=f"{period}", css_class="data totals")
    return Section("channels", "CAC vs CLV by channel", _figure(svg) + table)


def section_quarantine(data: ReportData) -> Section:
    if not data.quarantine:
        return Section("quarantine", "Quarantined rows", _note("Nothing was quarantined: every row read was loaded."))
    extracts = sorted({r.extract_name for r in data.quarantine})
    reasons = sorted({r.reason for r in data.quarantine})
    counts: dict[tuple[str, str], int] = {}
    for r in data.quarantine:
        counts[(r.reason, r.extract_name)] = counts.get((r.reason, r.extract_name), 0) + r.rejected_rows
    per_extract = {e: sum(n for (_, x), n in counts.items() if x == e) for e in extracts}
    total = sum(per_extract.values())
    pivot = _table(
        ["Reason", *[e.replace("_", " ") for e in extracts], "All extracts"],
        [[reason.replace("_", " "), *[number(counts[(reason, e)]) if (reason, e) in counts else "" for e in extracts],
          number(sum(n for (x, _), n in counts.items() if x == reason))] for reason in reasons]
        + [["All reasons", *[number(per_extract[e]) for e in extracts], number(total)]],
        [False] + [True] * (len(extracts) + 1), caption="Rejected rows by reason and extract", css_class="data totals")
    detail = _table(["Extract", "File", "Reason", "Column", "Rows", "First row", "Example"],
                    [[r.extract_name, r.source_file, r.reason.replace("_", " "), r.column_name or MISSING,
                      number(r.rejected_rows), number(r.first_source_row), r.example_detail or ""]
                     for r in data.quarantine],
                    [False, False, False, False, True, True, "wrap"], css_class="data compact")
    intro = (f"<p>{_h(number(total))} rows were rejected by the ingestion and kept aside in quarantine with their "
             "file, row and reason; they are in none of the figures above.</p>")
    return Section("quarantine", "Quarantined rows",
                   intro + pivot + f"<details><summary>Every file, reason and column ({_h(number(len(data.quarantine)))}"
                                   f" lines, with an example)</summary>{detail}</details>")


# ---------------------------------------------------------------- optional tables (later issues)


def _format_cell(value, column: str, data_type: str, currency: str) -> str:
    if value is None:
        return MISSING
    upper = data_type.upper()
    if upper == "BOOLEAN":
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return number(value)
    if upper.startswith(("DOUBLE", "FLOAT", "DECIMAL", "REAL")):
        if column.endswith("_pct"):
            return percent(float(value))
        if any(word in column for word in ("clv", "revenue", "spend", "cac", "value", "amount")) \
                and "to_cac" not in column:
            return money(float(value), currency)
        return number(float(value), 3 if abs(float(value)) < 10 else 2)
    return str(value)


def generic_table(extract: TableExtract, currency: str, columns: Sequence[str] = ()) -> str:
    """A table shown as it is: its first rows (only `columns` when given and published), numbers formatted by
    column type and name."""
    keep = [i for i, c in enumerate(extract.columns) if c in columns] if columns else []
    keep = keep or list(range(len(extract.columns)))
    names = [extract.columns[i] for i in keep]
    types = [extract.types[i] for i in keep]
    numeric = [t.upper().split("(")[0] in {"BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT",
                                           "DOUBLE", "FLOAT", "DECIMAL", "REAL"} for t in types]
    rows = [[_format_cell(row[i], c, t, currency) for i, c, t in zip(keep, names, types)] for row in extract.rows]
    shown = len(extract.rows)
    scope = f" ({extract.note})" if extract.note else ""
    caption = (f"main.{extract.table}{scope}: all {number(extract.total_rows)} rows" if shown == extract.total_rows
               else f"main.{extract.table}{scope}: first {number(shown)} of {number(extract.total_rows)} rows")
    if not rows:
        return _note(f"<code>main.{_h(extract.table)}</code> has no rows{_h(scope)}.")
    return _table([c.replace("_", " ") for c in names], rows, numeric, caption=caption, css_class="data compact")


def columns_table(*columns: str) -> Callable[[TableExtract, str], str]:
    """A generic table limited to the columns worth reading (all of them when none of these is published)."""
    return lambda extract, currency: generic_table(extract, currency, columns)


def _number_or_none(value) -> float | None:
    return None if value is None else float(value)


def render_clv_backtest(extract: TableExtract, currency: str) -> str:
    """Actual purchases in the hold-out period against each forecast, per scope; the totals as a table."""
    if not {"forecast", "scope", "actual_purchases", "predicted_purchases"} <= set(extract.columns):
        return generic_table(extract, currency)
    rows = [dict(zip(extract.columns, row)) for row in extract.rows]
    forecasts = list(dict.fromkeys(r["forecast"] for r in rows))
    by_key = {(r["scope"], r["forecast"]): r for r in rows}
    groups = []
    for scope in dict.fromkeys(r["scope"] for r in rows if r["scope"] != "all customers"):
        actual = next(float(by_key[(scope, f)]["actual_purchases"]) for f in forecasts if (scope, f) in by_key)
        # a forecast the model could not make (its fit is not_fitted) has no bar, not a zero one
        predicted = [_number_or_none(by_key[(scope, f)]["predicted_purchases"]) if (scope, f) in by_key else None
                     for f in forecasts]
        groups.append(BarGroup(scope.replace("calibration ", ""), [actual, *predicted]))
    holdout = next((r["holdout_days"] for r in rows if r.get("holdout_days") is not None), None)
    parts = []
    if groups:
        parts.append(_figure(charts.grouped_bar_chart(
            "chart-backtest", "Hold-out purchases: actual against forecast, by purchases before the hold-out",
            groups, ["Actual", *[f"{f.capitalize()} forecast" for f in forecasts]],
            [charts.INK, BLUE, charts.ORANGE, charts.PURPLE][:len(forecasts) + 1], number, number,
            "Purchases in the hold-out period",
            subtitle=f"Fitted without the last {holdout} days, then scored on them" if holdout else None)))
    totals = tuple(tuple(r.values()) for r in rows if r["scope"] == "all customers")
    parts.append(generic_table(
        TableExtract(extract.table, extract.columns, extract.types, totals, len(totals), "all customers"), currency,
        ("forecast", "customers", "actual_purchases", "predicted_purchases", "total_error", "total_error_pct",
         "mean_absolute_error")))
    return "".join(parts)


@dataclass(frozen=True)
class OptionalSection:
    table: str
    anchor: str
    title: str
    intro: str
    placement: str = "models"     # "top": right after the headline tiles; "models": before data quality
    render: Callable[[TableExtract, str], str] = generic_table


OPTIONAL_SECTIONS: tuple[OptionalSection, ...] = (
    OptionalSection("alerts", "alerts", "Alerts", "What the latest run flagged for attention.", placement="top"),
    OptionalSection("retention_metrics_by_segment", "segments", "Retention by segment",
                    "Retention metrics of the last complete month, per customer segment."),
    OptionalSection("retention_drivers", "drivers", "Retention drivers",
                    "What moves retention: the drivers the model found and their effect."),
    OptionalSection("customers_at_risk", "at-risk", "Valuable customers at risk",
                    "Customers in the top fifth by value whose health is falling and who agreed to be contacted, "
                    "most valuable first.",
                    render=columns_table("customer_key", "rfm_segment", "health_band", "health_score",
                                         "probability_alive", "days_since_last_purchase", "historical_clv",
                                         "predicted_clv", "predicted_clv_12m", "latest_nps_score")),
    OptionalSection("feedback_themes", "feedback", "Feedback themes",
                    "Themes found in the free-text comments of the NPS survey."),
    OptionalSection("clv_model_fits", "model-fits", "CLV model fits",
                    "The fitted parameters the CLV predictions rest on. A model whose best fit lies on its "
                    "boundary (customers who do not differ) is published as its limiting case; one that cannot "
                    "be fitted says why, and its predictions are left empty.",
                    render=columns_table("model", "fitted_on", "status", "variant", "parameter", "estimate",
                                         "standard_error", "customers", "reason")),
    OptionalSection("clv_backtest", "backtest", "CLV back-test",
                    "The purchase model fitted without the last days of data and scored on them, beside the naive "
                    "forecast (every customer keeps buying at their past rate).", render=render_clv_backtest),
)


def optional_sections(data: ReportData, currency: str, placement: str) -> list[Section]:
    return [
        Section(spec.anchor, spec.title, f"<p>{_h(spec.intro)}</p>" + spec.render(data.optional_tables[spec.table],
                                                                               currency))
        for spec in OPTIONAL_SECTIONS
        if spec.placement == placement and spec.table in data.optional_tables
    ]


# ---------------------------------------------------------------- definitions (from the README)


def _inline_markdown(text: str) -> str:
    html = escape(text, quote=False)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    html = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", html)
    return html


def readme_section(readme: str, heading: str) -> str:
    """The body of the README's `## heading` section ('' when there is none)."""
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", readme, flags=re.M | re.S)
    return match.group(1).strip() if match else ""


def markdown_to_html(markdown: str) -> str:
    """The Markdown the README's definitions use: paragraphs, nested '-' lists, **bold** and `code`."""
    blocks: list[str] = []
    items: list[tuple[int, list[str]]] = []     # (indent, lines) of each list item, in order
    paragraph: list[str] = []

    def flush_paragraph():
        if paragraph:
            blocks.append(f"<p>{_inline_markdown(' '.join(paragraph))}</p>")
            paragraph.clear()

    def flush_list():
        if not items:
            return
        html, depth_stack = [], []
        for indent, lines in items:
            while depth_stack and depth_stack[-1] > indent:
                html.append("</li></ul>")
                depth_stack.pop()
            if depth_stack and depth_stack[-1] == indent:
                html.append("</li>")
            else:
                html.append("<ul>")
                depth_stack.append(indent)
            html.append(f"<li>{_inline_markdown(' '.join(lines))}")
        while depth_stack:
            html.append("</li></ul>")
            depth_stack.pop()
        blocks.append("".join(html))
        items.clear()

    for line in markdown.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if not stripped:
            flush_paragraph()
            flush_list()
        elif stripped.startswith("- "):
            flush_paragraph()
            items.append((indent, [stripped[2:]]))
        elif items:
            items[-1][1].append(stripped)
        else:
            paragraph.append(stripped)
    flush_paragraph()
    flush_list()
    return "".join(blocks)


def section_definitions(definitions_markdown: str) -> Section:
    body = markdown_to_html(definitions_markdown) if definitions_markdown else _note(
        "The metric definitions are in the project README, section “Metric definitions”.")
    return Section("definitions", "Definitions", f'<div class="definitions">{body}</div>')


# ---------------------------------------------------------------- the page


STYLE = """
:root { --ink:#1f2933; --muted:#52606d; --line:#e4e7eb; --bg:#f5f7fa; --card:#ffffff; --accent:#0072B2;
        --good:#0b7a4b; --bad:#b42318; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin:0; background:var(--bg); color:var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI",
       Roboto, "Helvetica Neue", Arial, sans-serif; font-variant-numeric: tabular-nums; }
header.page { background:#102a43; color:#fff; padding:28px 0 20px; }
.wrap { max-width:1180px; margin:0 auto; padding:0 24px; }
header.page h1 { margin:0 0 6px; font-size:28px; font-weight:650; letter-spacing:-0.01em; }
header.page .meta { color:#d9e2ec; font-size:14px; margin:0; }
header.page .meta strong { color:#fff; font-weight:600; }
nav.toc { margin-top:16px; display:flex; flex-wrap:wrap; gap:6px 8px; }
nav.toc a { color:#fff; text-decoration:none; font-size:13px; padding:3px 10px; border:1px solid #486581;
            border-radius:999px; }
nav.toc a:hover, nav.toc a:focus { background:#243b53; }
main { padding:8px 0 40px; }
section.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:22px 24px;
               margin:20px 0; box-shadow:0 1px 2px rgba(16,42,67,.05); break-inside:avoid; }
section.card > h2 { margin:0 0 12px; font-size:20px; font-weight:650; }
h3 { font-size:16px; margin:22px 0 8px; }
p { margin:0 0 12px; }
.lead { color:var(--muted); }
.note { color:var(--muted); font-style:italic; }
.muted { color:var(--muted); font-weight:400; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
       font-size:0.88em; background:#f0f4f8; padding:1px 4px; border-radius:4px; }
.tiles { display:grid; grid-template-columns:repeat(auto-fit, minmax(200px, 1fr)); gap:14px; }
.tile { border:1px solid var(--line); border-radius:10px; padding:14px 16px; background:#fbfcfd; }
.tile-label { font-size:14px; color:var(--muted); font-weight:600; white-space:nowrap; overflow:hidden;
              text-overflow:ellipsis; }
.tile-value { font-size:32px; font-weight:700; margin:4px 0 2px; line-height:1.2; }
.tile-change { font-size:14px; font-weight:600; white-space:nowrap; }
.tile-change.good { color:var(--good); } .tile-change.bad { color:var(--bad); } .tile-change.flat { color:var(--muted); }
.tile-context { font-size:12.5px; color:var(--muted); margin-top:6px; }
figure.chart-figure { margin:0 0 12px; }
figure.chart-figure figcaption { font-size:13px; color:var(--muted); margin-top:4px; }
svg.chart { display:block; width:100%; height:auto; max-width:100%; }
.scroll-x { overflow-x:auto; }
.scroll-x svg.chart { width:auto; max-width:none; }
.grid-2 { display:grid; grid-template-columns:repeat(auto-fit, minmax(420px, 1fr)); gap:16px; align-items:start; }
.grid-rfm { display:grid; grid-template-columns:minmax(280px, 400px) minmax(0, 1fr); gap:24px; align-items:start; }
@media (max-width: 900px) { .grid-rfm { grid-template-columns:1fr; } }
.stats { display:flex; flex-wrap:wrap; gap:10px 28px; margin:0 0 10px; }
.stat span { display:block; font-size:12.5px; color:var(--muted); }
.stat strong { font-size:18px; }
.table-wrap { overflow-x:auto; }
table.data { border-collapse:collapse; width:100%; font-size:13.5px; margin:6px 0 4px; }
table.data caption { text-align:left; color:var(--muted); font-size:13px; padding:4px 0; caption-side:top; }
table.data th { text-align:left; font-weight:600; color:var(--muted); border-bottom:2px solid var(--line);
                padding:6px 10px; white-space:nowrap; }
table.data td { border-bottom:1px solid var(--line); padding:5px 10px; }
table.data .num { text-align:right; white-space:nowrap; }
table.data tbody tr:hover { background:#f5f9fc; }
table.totals tbody tr:last-child td { font-weight:650; border-top:2px solid var(--line); }
table.data td:first-child { white-space:nowrap; }
table.tight { font-size:13px; }
table.tight th, table.tight td { padding:5px 7px; }
table.compact { font-size:12.5px; }
table.compact td { padding:4px 8px; white-space:nowrap; }
table.compact th { white-space:normal; vertical-align:bottom; padding:6px 8px; }
table.compact td.wrap { white-space:normal; min-width:240px; }
details summary { cursor:pointer; color:var(--accent); font-weight:600; margin:8px 0; }
.definitions ul { padding-left:22px; margin:0 0 8px; }
.definitions li { margin:4px 0; }
footer.page { color:var(--muted); font-size:13px; padding:0 0 40px; }
.sr-only { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); white-space:nowrap; }
#tooltip { position:fixed; z-index:10; pointer-events:none; background:#102a43; color:#fff; font-size:12.5px;
           padding:6px 9px; border-radius:6px; max-width:320px; box-shadow:0 4px 12px rgba(0,0,0,.2); }
[data-tip]:focus { outline:2px solid #f0b429; outline-offset:1px; }
svg .point:hover, svg .bar:hover, svg .cell:hover { opacity:.8; }
@media print { body { background:#fff; } header.page { background:#fff; color:var(--ink); }
  header.page .meta, nav.toc a { color:var(--ink); } section.card { box-shadow:none; } #tooltip { display:none; } }
"""

SCRIPT = """
(function () {
  var tip = document.getElementById('tooltip');
  function place(x, y) {
    var w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.max(8, Math.min(window.innerWidth - w - 8, x + 14)) + 'px';
    tip.style.top = Math.max(8, (y - h - 12 < 8 ? y + 18 : y - h - 12)) + 'px';
  }
  function show(target, x, y) { tip.textContent = target.getAttribute('data-tip'); tip.hidden = false; place(x, y); }
  document.addEventListener('mousemove', function (e) {
    var t = e.target.closest && e.target.closest('[data-tip]');
    if (t) { show(t, e.clientX, e.clientY); } else { tip.hidden = true; }
  });
  document.addEventListener('focusin', function (e) {
    var t = e.target.closest && e.target.closest('[data-tip]');
    if (t) { var r = t.getBoundingClientRect(); show(t, r.left + r.width / 2, r.top); }
  });
  document.addEventListener('focusout', function () { tip.hidden = true; });
})();
"""


def _header(data: ReportData, sections: Sequence[Section]) -> str:
    facts = []
    if data.last_month:
        facts.append(f"Last complete month <strong>{_h(month_label(data.last_month.month, long=True))}</strong>")
    if data.as_of_date:
        facts.append(f"data as of <strong>{_h(data.as_of_date.isoformat())}</strong>")
    window = data.publication.get("activity_window_days")
    if window:
        facts.append(f"activity window <strong>{_h(window)} days</strong>")
    published = data.publication.get("published_at_utc")
    if published:
        facts.append(f"published <strong>{_h(published.replace('T', ' '))} UTC</strong>")
    links = "".join(f'<a href="#{s.anchor}">{_h(s.title.split(" — ")[0])}</a>' for s in sections)
    return (f'<header class="page"><div class="wrap"><h1>{_h(REPORT_TITLE)}</h1>'
            f'<p class="meta">{" · ".join(facts)}</p><nav class="toc" aria-label="Sections">{links}</nav>'
            f"</div></header>")


def _footer(data: ReportData) -> str:
    publication = ", ".join(f"{k} = {v}" for k, v in sorted(data.publication.items()))
    counts = ", ".join(f"{t} {number(n)}" for t, n in data.row_counts.items())
    return (f'<footer class="page"><div class="wrap"><p>Generated by Retentio from <code>bi.duckdb</code>'
            f" ({_h(publication) or 'no publication record'}).</p><p>Rows read: {_h(counts)}.</p></div></footer>")


def report_sections(data: ReportData, definitions_markdown: str, currency: str) -> list[Section]:
    """Every section the data supports, in page order."""
    ordered = [
        section_headline(data, currency),
        *optional_sections(data, currency, "top"),
        section_trend(data, currency),
        section_cohorts(data),
        section_rfm(data, currency),
        section_customer_value(data, currency),
        section_nps(data),
        section_channels(data, currency),
        *optional_sections(data, currency, "models"),
        section_quarantine(data),
        section_definitions(definitions_markdown),
    ]
    return [s for s in ordered if s is not None]


def render_page(data: ReportData, definitions_markdown: str = "", currency: str = "EUR") -> str:
    """The whole report as one HTML document (a str); deterministic for the same inputs."""
    sections = report_sections(data, definitions_markdown, currency)
    body = "".join(f'<section class="card" id="{s.anchor}" aria-labelledby="{s.anchor}-h">'
                   f'<h2 id="{s.anchor}-h">{_h(s.title)}</h2>{s.html}</section>' for s in sections)
    title = REPORT_TITLE + (f" — {month_label(data.last_month.month, long=True)}" if data.last_month else "")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="Retentio"><title>{_h(title)}</title>'
        f"<style>{STYLE}</style></head><body>"
        f"{_header(data, sections)}<main><div class=\"wrap\">{body}</div></main>{_footer(data)}"
        '<div id="tooltip" role="tooltip" hidden></div>'
        f"<script>{SCRIPT}</script></body></html>\n"
    )
