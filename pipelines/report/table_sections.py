"""The sections of the published tables the report reads whole or in part (queries.TABLE_EXTRACTS): alerts,
retention by segment, why retention moved, customers at risk, feedback themes, the CLV model card and
back-test. Each draws its table as a picture a manager reads, with the table itself (or its first rows) one
click away; every value is written as the kind its column declares in the marts' dbt yml (column_kinds.py),
never as its name suggests. A section is a `TableSection`; its `render` gets the table's extract, the
currency and the rest of the report's data.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from pipelines.report import charts
from pipelines.report.charts import BLUE, BarGroup, TermBar
from pipelines.report.column_kinds import MONEY, format_value, kind_of
from pipelines.report.drivers import CHURNED, CRR, DriverRow, drivers_chart, drivers_sentence
from pipelines.report.formatting import MISSING, month_label, number, percent, short_month_label
from pipelines.report.markup import Section, esc, figure_html, note_html, table_html
from pipelines.report.queries import ReportData, SegmentMonth, TableExtract

# ---------------------------------------------------------------- tables

NUMERIC_TYPES = {"BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT", "DOUBLE", "FLOAT", "DECIMAL",
                 "REAL"}
# A customer's pseudonymous key in front of a published example comment ("c_0123abcd…: the comment").
CUSTOMER_KEY_PREFIX = re.compile(r"^\s*c_[0-9a-f]{6,}\s*:\s*")


def generic_table(extract: TableExtract, currency: str, columns: Sequence[str] = (),
                  headers: Mapping[str, str] | None = None, wrap: Sequence[str] = ()) -> str:
    """A table shown as it is: its rows (only `columns` when given and published, in that order), each value
    written as its column's declared kind (extract.kinds), headers renamed by `headers`, the text of the
    `wrap` columns wrapped."""
    keep = [extract.columns.index(c) for c in columns if c in extract.columns] if columns else []
    keep = keep or list(range(len(extract.columns)))
    names = [extract.columns[i] for i in keep]
    types = [extract.types[i] for i in keep]
    numeric = ["wrap" if c in wrap else t.upper().split("(")[0] in NUMERIC_TYPES for c, t in zip(names, types)]
    rows = []
    for row in extract.rows:
        by_name = dict(zip(extract.columns, row))
        rows.append([format_value(row[i], kind_of(extract.kinds, c, by_name), currency, t)
                     for i, c, t in zip(keep, names, types)])
    shown = len(extract.rows)
    scope = f" ({extract.note})" if extract.note else ""
    caption = (f"main.{extract.table}{scope}: all {number(extract.total_rows)} rows" if shown == extract.total_rows
               else f"main.{extract.table}{scope}: first {number(shown)} of {number(extract.total_rows)} rows")
    if not rows:
        return note_html(f"<code>main.{esc(extract.table)}</code> has no rows{esc(scope)}.")
    return table_html([(headers or {}).get(c, c.replace("_", " ")) for c in names], rows, numeric,
                      caption=caption, css_class="data compact")


def _float(value) -> float | None:
    return None if value is None else float(value)


def _details(summary: str, html: str, is_open: bool = False) -> str:
    return f"<details{' open' if is_open else ''}><summary>{esc(summary)}</summary>{html}</details>"


def _has(extract: TableExtract, *columns: str) -> bool:
    return set(columns) <= set(extract.columns)


def render_alerts(extract: TableExtract, currency: str, data: ReportData) -> str:
    """Each alert's own sentence first, then its figures."""
    return generic_table(extract, currency, ("message", "metric", "current_value", "trailing_average", "change_pct",
                                             "driver_segment", "driver_change"),
                         {"message": "alert", "current_value": "now", "trailing_average": "trailing average",
                          "change_pct": "change", "driver_segment": "driving segment",
                          "driver_change": "its change"}, wrap=("message",))


# ---------------------------------------------------------------- why retention moved


def render_drivers(extract: TableExtract, currency: str, data: ReportData) -> str:
    """The generated sentences, the largest contributions to the change in churned customers and in CRR as
    mix/rate bars, and the whole decomposition behind a click."""
    if not _has(extract, "metric", "dimension", "segment", "change", "mix_effect", "rate_effect"):
        return generic_table(extract, currency)
    rows = [DriverRow.from_record(r) for r in extract.records()]
    if not any(r.dimension == "total" for r in rows):
        return note_html("No two complete periods to compare yet.")
    sentences = [drivers_sentence(rows, metric) for metric in (CHURNED, CRR)]
    parts = [f'<p class="finding">{esc(s)}</p>' for s in sentences if s]
    parts.append("<p>Each bar is one segment's part of the change, split in two: <strong>mix</strong> (the "
                 "segment had more or fewer customers at the start) and <strong>rate</strong> (its own rate "
                 "moved); the black tick is their sum. This is an exact decomposition of the published figures "
                 "(shift-share), not a model: within one dimension (channel, country, cohort year or RFM segment) "
                 "the parts add up to the total change, so compare bars of the same dimension.</p>")
    for metric in (CHURNED, CRR):
        chart = drivers_chart(rows, metric)
        if chart:
            parts.append(figure_html(chart))
    columns = ("metric", "dimension", "segment", "previous_value", "current_value", "change", "mix_effect",
               "rate_effect", "share_of_total_change_pct")
    parts.append(_details(f"The whole decomposition ({number(len(rows))} rows)", generic_table(
        extract, currency, columns, {"previous_value": "before", "current_value": "after",
                                     "share_of_total_change_pct": "share of the change"})))
    return "".join(parts)


# ---------------------------------------------------------------- retention by segment


SEGMENT_DIMENSIONS = {"acquisition_channel": "Acquisition channel", "country": "Country",
                      "cohort_year": "Cohort year (first purchase)", "rfm_segment": "RFM segment"}


def segment_multiples(months: Sequence[SegmentMonth], dimension: str) -> str:
    """One small CRR trend per segment of `dimension` on a shared scale, most customers first."""
    rows = [m for m in months if m.dimension == dimension]
    all_months = sorted({m.month for m in months})
    by_segment: dict[str, dict] = {}
    for m in rows:
        by_segment.setdefault(m.segment, {})[m.month] = m
    latest = all_months[-1]

    def size(segment):
        last = by_segment[segment].get(latest)
        return (last.customers_at_start or 0) if last else 0

    values = [m.retention_rate_pct for m in rows if m.retention_rate_pct is not None]
    low, high = (min(values), max(values)) if values else (0.0, 100.0)
    labels = [short_month_label(d) for d in all_months]
    cells = []
    for segment in sorted(by_segment, key=lambda s: (-size(s), s)):
        series = by_segment[segment]
        last = series.get(latest)
        crr = [series[d].retention_rate_pct if d in series else None for d in all_months]
        note = (f"{number(last.customers_at_start)} at start · churn {percent(last.churn_rate_pct)}"
                if last and last.customers_at_start else "no customer at the start")
        slug = re.sub(r"[^a-z0-9]+", "-", f"{dimension}-{segment}".lower()).strip("-")
        cells.append(charts.small_trend(f"chart-segment-{slug}", segment.replace("_", " "), labels, crr, percent,
                                        percent(last.retention_rate_pct if last else None), note, low, high))
    return f'<div class="multiples">{"".join(cells)}</div>'


def render_segments(extract: TableExtract, currency: str, data: ReportData) -> str:
    months = data.segment_months
    if not months:
        return note_html("No complete month has been sliced by segment yet.") + generic_table(extract, currency)
    latest = max(m.month for m in months)
    parts = [f"<p>CRR month by month over the last {len(set(m.month for m in months))} complete months, one "
             f"small chart per segment on a scale shared within each dimension; the orange point and the figure "
             f"top right are {esc(month_label(latest, long=True))}. Small segments swing more: their customers "
             "at the start are written under their name.</p>"]
    for dimension in dict.fromkeys([*SEGMENT_DIMENSIONS, *(m.dimension for m in months)]):
        if any(m.dimension == dimension for m in months):
            values = [m.retention_rate_pct for m in months
                      if m.dimension == dimension and m.retention_rate_pct is not None]
            scale = (f' <span class="muted">CRR scale {esc(percent(min(values), 0))} – '
                     f'{esc(percent(max(values), 0))} in every chart</span>' if values else "")
            parts.append(f"<h3>{esc(SEGMENT_DIMENSIONS.get(dimension, dimension.replace('_', ' ')))}{scale}</h3>"
                         + segment_multiples(months, dimension))
    parts.append(_details(f"{month_label(latest, long=True)} by segment, as a table", generic_table(
        extract, currency, ("dimension", "segment", "customers_at_start", "new_customers", "customers_at_end",
                            "retention_rate_pct", "churned_customers", "churn_rate_pct", "reactivated_customers",
                            "revenue"),
        {"customers_at_start": "CS", "new_customers": "CN", "customers_at_end": "CE", "retention_rate_pct": "CRR",
         "churned_customers": "churned", "churn_rate_pct": "churn", "reactivated_customers": "reactivated"})))
    return "".join(parts)


# ---------------------------------------------------------------- customers at risk


HEALTH_BANDS = {"at_risk": "at risk", "watch": "watch", "healthy": "healthy", "lost": "lost"}


LIKELY_LAPSING = 0.6    # P(alive) below it: the purchase model doubts they still buy (models/health.py)


def why_at_risk(row: Mapping[str, object]) -> str:
    """Why a customer's health is low, in words, from their published figures: the purchase model's doubt
    that they still buy (P(alive)), their latest survey answer when not a promoter's; otherwise what is left of
    the health score (models/health.py): silent for longer than their own rhythm, or a smaller last basket."""
    reasons = []
    alive = row.get("probability_alive")
    if alive is not None and float(alive) < LIKELY_LAPSING:
        reasons.append(f"only {percent(100 * float(alive), 0)} likely to still be buying")
    nps = row.get("latest_nps_score")
    if nps is not None and int(nps) <= 6:
        reasons.append(f"detractor in the survey ({int(nps)}/10)")
    elif nps is not None and int(nps) <= 8:
        reasons.append(f"passive in the survey ({int(nps)}/10)")
    if not reasons or (alive is not None and float(alive) >= LIKELY_LAPSING):
        reasons.append("silent for longer than their usual rhythm, or a smaller last basket")
    return "; ".join(reasons)


def render_at_risk(extract: TableExtract, currency: str, data: ReportData) -> str:
    if not _has(extract, "customer_key", "health_band", "predicted_clv_12m"):
        return generic_table(extract, currency)
    records = extract.records()
    if not records:
        return note_html("No valuable customer is at risk, or the purchase models could not be fitted.")

    def value(r, column):
        return format_value(r.get(column), kind_of(extract.kinds, column, r) or MONEY, currency)

    rows = [[str(r["customer_key"]), str(r.get("rfm_segment") or MISSING),
             f"{HEALTH_BANDS.get(str(r['health_band']), str(r['health_band']))}"
             + (f" ({number(r['health_score'])})" if r.get("health_score") is not None else ""),
             number(r.get("days_since_last_purchase")), value(r, "historical_clv"), value(r, "predicted_clv_12m"),
             why_at_risk(r)] for r in records]
    caption = (f"The {number(len(rows))} most valuable of {number(extract.total_rows)} customers at risk "
               "(main.customers_at_risk has them all). Health 0–100: likelihood to still be buying, silence "
               "against the customer's own rhythm, spend trend and latest survey answer; watch below 70, at risk "
               "below 50")
    return table_html(["Customer key", "Segment", "Health (score)", "Days since last purchase", "Revenue to date",
                       "Predicted value, 12 months", "Why at risk"], rows,
                      [False, False, False, True, True, True, "wrap"], caption=caption, css_class="data compact")


# ---------------------------------------------------------------- feedback themes


def example_comment(text: object) -> str:
    """A published example comment without the customer key in front of it (the report names nobody)."""
    return CUSTOMER_KEY_PREFIX.sub("", str(text)).strip() if text else ""


def _term_bar(r: Mapping[str, object]) -> TermBar:
    comments = int(r.get("comments_with_term") or 0)
    tip = (f"“{r['term']}”: in {number(r.get('detractor_comments_with_term'))} of "
           f"{number(r.get('detractor_comments_in_scope'))} detractor comments and "
           f"{number(r.get('promoter_comments_with_term'))} of {number(r.get('promoter_comments_in_scope'))} "
           f"promoter comments (z = {abs(float(r.get('z_score') or 0)):.1f})")
    return TermBar(str(r["term"]), abs(float(r.get("z_score") or 0.0)), f"{number(comments)} comments", tip)


def _examples_html(records: Sequence[Mapping[str, object]], side: str, shown: int = 5) -> str:
    def item(r):
        quotes = "".join(f"<q>{esc(example_comment(r.get(k)))}</q>" for k in ("example_1", "example_2")
                         if example_comment(r.get(k)))
        return f"<li><strong>{esc(r['term'])}</strong>{quotes}</li>"

    items = [item(r) for r in records]
    more = (_details(f"{len(items) - shown} more {side} terms", f'<ul class="examples">{"".join(items[shown:])}</ul>')
            if len(items) > shown else "")
    return f'<ul class="examples">{"".join(items[:shown])}</ul>{more}'


def render_feedback(extract: TableExtract, currency: str, data: ReportData) -> str:
    if not _has(extract, "side", "rank", "term", "z_score"):
        return generic_table(extract, currency)
    records = sorted(extract.records(), key=lambda r: (str(r["side"]), int(r["rank"])))
    detractor = [r for r in records if r["side"] == "detractor"]
    promoter = [r for r in records if r["side"] == "promoter"]
    if not detractor and not promoter:
        return note_html("No survey comment to read yet.")
    svg = charts.term_bars(
        "chart-feedback", "What detractors say more than promoters, and the other way round",
        [_term_bar(r) for r in detractor], [_term_bar(r) for r in promoter], "Detractors (0–6)",
        "Promoters (9–10)", "How strongly the term sets its side apart (log-odds z-score)",
        subtitle="All comments; the bar's label counts the comments of that side holding the term")
    columns = (f'<div class="grid-2"><div><h3>Detractors’ terms, with two comments each</h3>'
               f"{_examples_html(detractor, 'detractor')}</div><div><h3>Promoters’ terms, with two comments each</h3>"
               f"{_examples_html(promoter, 'promoter')}</div></div>")
    return (figure_html(svg) + columns
            + note_html("Comments are quoted without the customer’s key; e-mails, phone numbers and links were "
                        "masked when the themes were published. Per quarter, RFM segment and tenure band: "
                        "<code>main.feedback_themes</code>."))


# ---------------------------------------------------------------- CLV model card and back-test


MODEL_NAMES = {"bg_nbd": "Purchase model (BG/NBD): how often customers buy and when they stop",
               "pareto_nbd": "Purchase model (Pareto/NBD): how often customers buy and when they stop",
               "gamma_gamma": "Spend model (Gamma-Gamma): how much a customer spends per order"}
PURCHASE_MODEL_NAMES = {"bg_nbd": "BG/NBD", "pareto_nbd": "Pareto/NBD"}
# The explanatory fits (models/covariates.py): what their effects multiply, in words.
COVARIATE_MODELS = {"bg_nbd_covariates": "how often customers buy",
                    "gamma_gamma_covariates": "how much customers spend per order"}
COVARIATE_EFFECT = re.compile(r"^(rate|spend)\[([^=\]]+)=(.*)\]$")
SIGNIFICANT_Z = 2.0          # |estimate| / standard error at or above it: unlikely to be chance
LIKELIHOOD_RATIO_PARAMETER = "likelihood_ratio_p_value"
BACKTEST_FIT = "back-test"   # in clv_model_fits.fitted_on of the back-test's fits
# Who the customers of a covariate level are, and who the baseline's are (the level without a row).
COVARIATE_SUBJECTS = {
    "acquisition_channel": ("customers acquired through {}", "acquired through the baseline channel"),
    "country_code": ("customers in {}", "in the baseline country"),
    "first_purchase_year": ("customers who first bought in {}", "who first bought in the baseline year"),
}


def model_card(fits: Sequence[Mapping[str, object]], backtest: Sequence[Mapping[str, object]]) -> list[str]:
    """The model card's lines: each model fitted on the full history (on how many customers, converged, a
    limiting case or not fitted and why), then what the back-test says."""
    lines = []
    groups: dict[tuple, list] = {}
    for r in fits:
        groups.setdefault((r["model"], r["fitted_on"]), []).append(r)
    for (model, fitted_on), rows in groups.items():
        if fitted_on != "full history" or model in COVARIATE_MODELS:
            continue
        first = next((r for r in rows if r.get("variant")), rows[0])
        name = MODEL_NAMES.get(str(model), str(model))
        customers = f"{number(first.get('customers'))} customers" if first.get("customers") is not None else "—"
        status = first.get("status")
        if status == "fitted":
            state = "converged" if first.get("converged") else "did not converge"
            what = f"fitted on {customers}: {state}."
        elif status == "limiting_case":
            what = (f"fitted on {customers} as its limiting case “{first.get('variant')}”: "
                    f"{first.get('reason') or 'customers do not differ'}.")
        else:
            what = f"not fitted ({customers}): {first.get('reason') or 'no reason given'}; its predictions are empty."
        lines.append(f"{name} — {what}")
    totals = {r["forecast"]: r for r in backtest if r.get("scope") == "all customers"}
    model, naive = totals.get("model"), totals.get("naive")
    if model or naive:
        holdout = (model or naive).get("holdout_days")
        actual = float((model or naive)["actual_purchases"])

        def said(r):
            predicted = _float(r.get("predicted_purchases"))
            if predicted is None:
                return None
            off = (predicted - actual) / actual * 100 if actual else None
            return f"{number(predicted)}" + (f" ({'+' if off >= 0 else '−'}{abs(off):.1f} %)" if off is not None else "")

        text = f"Back-test: fitted without the last {holdout} days, then scored on them: {number(actual)} actual purchases"
        if model and said(model):
            text += f"; the model predicted {said(model)}"
        elif model:
            text += "; the model could not be fitted on the shorter history"
        if naive and said(naive):
            text += f"; the naive forecast (each customer keeps their past rate) {said(naive)}"
        lines.append(text + ".")
    return lines


def purchase_model_choice(fits: Sequence[Mapping[str, object]], backtest: Sequence[Mapping[str, object]]) -> str:
    """Which purchase model publishes the predictions (clv_backtest.purchase_model) and why (the choice_reason
    of its back-test fit in clv_model_fits); '' when the back-test names none."""
    chosen = next((str(r["purchase_model"]) for r in backtest if r.get("purchase_model")), None)
    if chosen is None:
        return ""
    name = PURCHASE_MODEL_NAMES.get(chosen, chosen)
    reason = next((str(r["choice_reason"]) for r in fits if r.get("model") == chosen and r.get("choice_reason")
                   and BACKTEST_FIT in str(r.get("fitted_on", ""))), None)
    reason = reason or next((str(r["choice_reason"]) for r in fits
                             if r.get("model") == chosen and r.get("choice_reason")), None)
    return f"The predictions come from {name}" + (f", chosen by the back-test ({reason})." if reason else ".")


def _multiple(estimate: float) -> str:
    """exp(estimate) as people say it: 1.3×, 1.06×, 0.8×."""
    return f"{math.exp(estimate):.2f}".rstrip("0").rstrip(".") + "×"


def covariate_effect_sentence(parameter: str, estimate: float) -> str:
    """One effect of a covariate fit in words: rate[acquisition_channel=paid_search] 0.26 -> "Customers
    acquired through paid search buy 1.3× as often as those acquired through the baseline channel" (the most
    common channel, which has no effect of its own)."""
    match = COVARIATE_EFFECT.match(parameter)
    if not match:
        return ""
    kind, dimension, level = match.groups()
    subject, baseline = COVARIATE_SUBJECTS.get(
        dimension, (f"customers with {dimension.replace('_', ' ')} {{}}", f"with the baseline {dimension}"))
    verb = "buy {} as often as" if kind == "rate" else "spend {} as much per order as"
    who = subject.format(level.replace("_", " "))
    return f"{who[0].upper()}{who[1:]} {verb.format(_multiple(estimate))} those {baseline}."


def covariate_lines(fits: Sequence[Mapping[str, object]]) -> list[str]:
    """What the covariate fits explain, in words: each effect whose |estimate| / standard error is at least 2,
    then the likelihood-ratio test's verdict (its row's choice_reason); a fit that could not be made says why."""
    lines = []
    for model, what in COVARIATE_MODELS.items():
        rows = [r for r in fits if r.get("model") == model]
        if not rows:
            continue
        if rows[0].get("status") == "not_fitted":
            lines.append(f"Differences in {what} between channels, countries and first-purchase years: not "
                         f"fitted ({rows[0].get('reason') or 'no reason given'}).")
            continue
        effects = []
        for r in rows:
            estimate, error = _float(r.get("estimate")), _float(r.get("standard_error"))
            if (COVARIATE_EFFECT.match(str(r.get("parameter") or "")) and estimate is not None and error
                    and abs(estimate) / error >= SIGNIFICANT_Z):
                effects.append((-abs(estimate) / error, str(r["parameter"]), estimate))
        sentences = [covariate_effect_sentence(parameter, estimate) for _, parameter, estimate in sorted(effects)]
        verdict = next((str(r["choice_reason"]) for r in rows
                        if r.get("parameter") == LIKELIHOOD_RATIO_PARAMETER and r.get("choice_reason")), "")
        text = f"Differences in {what}: " + (" ".join(sentences) if sentences else
                                               "no effect is clearly more than chance (|estimate| / standard "
                                               "error below 2 for every one).")
        if verdict:
            text += f" Taken together, {verdict}."
        lines.append(text)
    return lines


def render_model_card(extract: TableExtract, currency: str, data: ReportData) -> str:
    if not _has(extract, "model", "fitted_on", "status"):
        return generic_table(extract, currency)
    backtest = data.table_extracts.get("clv_backtest")
    fits, backtest_rows = extract.records(), backtest.records() if backtest else []
    choice = purchase_model_choice(fits, backtest_rows)
    lines = [*model_card(fits, backtest_rows), *([choice] if choice else [])]
    card = f'<ul class="model-card">{"".join(f"<li>{esc(line)}</li>" for line in lines)}</ul>'
    effects = covariate_lines(fits)
    if effects:
        card += ("<h3>What the differences between customers explain</h3><p>Fitted besides the plain models: "
                 "each effect compares the customers of one channel, country or first-purchase year with those "
                 "of the most common one (the baseline, which has no effect of its own), while they are "
                 "customers. When the differences explain how often customers buy, this model also competes "
                 "for the predictions in the back-test.</p>"
                 f'<ul class="model-card">{"".join(f"<li>{esc(line)}</li>" for line in effects)}</ul>')
    parameters = generic_table(extract, currency, ("model", "fitted_on", "status", "variant", "parameter", "estimate",
                                                   "standard_error", "customers", "reason"),
                                wrap=("fitted_on", "parameter", "reason"))
    return card + _details("Fitted parameters (as in the papers: r, α, a, b; p, q, γ)", parameters)


CALIBRATION_SHARES = ("share_below_p10", "share_at_or_below_p10", "share_above_p90", "share_at_or_above_p90")
CALIBRATED_SHARE_PCT = 10.0    # a calibrated 80 % interval: at most 10 % below p10 and at most 10 % above p90


def _pct(share) -> float | None:
    return None if share is None else 100 * float(share)


def calibration_sentence(rows: Sequence[Mapping[str, object]]) -> str:
    """The intervals' calibration over all customers in words (the model's 'all customers' row); '' when the
    back-test did not measure it."""
    total = next((r for r in rows if r.get("forecast") == "model" and r.get("scope") == "all customers"), None)
    if total is None or any(total.get(c) is None for c in CALIBRATION_SHARES):
        return ""
    below, at_or_below, above, at_or_above = (_pct(total[c]) for c in CALIBRATION_SHARES)
    sides = [side for side, out, reached in (("low", below, at_or_below), ("high", above, at_or_above))
             if out > CALIBRATED_SHARE_PCT or reached < CALIBRATED_SHARE_PCT]
    verdict = ("both within what a calibrated interval gives" if not sides else
               f"the interval is off at its {' and '.join(sides)} end{'s' if len(sides) > 1 else ''}")
    return (f"Over all {number(total.get('customers'))} customers, {percent(below)} made fewer purchases in the "
            f"hold-out days than their p10 and {percent(above)} more than their p90 (a calibrated 80 % interval: at "
            f"most 10 % on each side); {percent(at_or_below)} made at most p10 and {percent(at_or_above)} at least "
            f"p90 (a calibrated one: at least 10 % each, a count often equals its quantile): {verdict}.")


def calibration_chart(rows: Sequence[Mapping[str, object]]) -> str:
    """Per calibration-frequency bucket, the share of customers below p10 and above p90 of the model's
    interval against the 10 % line; '' when the back-test did not measure it."""
    buckets = [r for r in rows if r.get("forecast") == "model" and r.get("scope") != "all customers"
               and r.get("share_below_p10") is not None and r.get("share_above_p90") is not None]
    if not buckets:
        return ""
    groups = [BarGroup(
        str(r["scope"]).replace("calibration ", ""), [_pct(r["share_below_p10"]), _pct(r["share_above_p90"])],
        tips=[f"{r['scope']}: {percent(_pct(r['share_below_p10']))} of {number(r.get('customers'))} customers "
              f"bought fewer than p10 ({percent(_pct(r.get('share_at_or_below_p10')))} at most p10)",
              f"{r['scope']}: {percent(_pct(r['share_above_p90']))} of {number(r.get('customers'))} customers "
              f"bought more than p90 ({percent(_pct(r.get('share_at_or_above_p90')))} at least p90)"])
        for r in buckets]
    return charts.grouped_bar_chart(
        "chart-calibration", "Are the 80 % intervals honest? Customers outside them, by purchases before the hold-out",
        groups, ["Below p10 (fewer purchases)", "Above p90 (more purchases)"], [charts.SKY, charts.ORANGE],
        percent, lambda v: f"{v:g}%", "Share of the bucket's customers (%)",
        subtitle="A calibrated interval puts at most 10 % of customers on each side",
        reference=(CALIBRATED_SHARE_PCT, "10 %: the most a calibrated interval leaves out on each side"))


def _forecast_name(forecast: str, rows: Sequence[Mapping[str, object]]) -> str:
    """'Model (BG/NBD)' for the chosen purchase model's forecast, 'Naive' for the naive one."""
    chosen = next((str(r["purchase_model"]) for r in rows if r.get("purchase_model")), None)
    if forecast == "model" and chosen:
        return f"Model ({PURCHASE_MODEL_NAMES.get(chosen, chosen)})"
    return forecast.capitalize()


def render_clv_backtest(extract: TableExtract, currency: str, data: ReportData | None = None) -> str:
    """Actual purchases in the hold-out period against each forecast, per scope; how honest the model's
    intervals were, per scope; the totals as a table (with both purchase models' own, the evidence for the
    choice)."""
    if not _has(extract, "forecast", "scope", "actual_purchases", "predicted_purchases"):
        return generic_table(extract, currency)
    rows = extract.records()
    # The forecasts made per calibration frequency (the chosen model's and the naive one); the purchase models'
    # own rows (bg_nbd, pareto_nbd) are totals only.
    forecasts = list(dict.fromkeys(r["forecast"] for r in rows if r["scope"] != "all customers"))
    by_key = {(r["scope"], r["forecast"]): r for r in rows}
    groups = []
    for scope in dict.fromkeys(r["scope"] for r in rows if r["scope"] != "all customers"):
        actual = next(float(by_key[(scope, f)]["actual_purchases"]) for f in forecasts if (scope, f) in by_key)
        # a forecast the model could not make (its fit is not_fitted) has no bar, not a zero one
        predicted = [_float(by_key[(scope, f)]["predicted_purchases"]) if (scope, f) in by_key else None
                     for f in forecasts]
        groups.append(BarGroup(scope.replace("calibration ", ""), [actual, *predicted]))
    holdout = next((r["holdout_days"] for r in rows if r.get("holdout_days") is not None), None)
    parts = []
    if groups:
        parts.append(figure_html(charts.grouped_bar_chart(
            "chart-backtest", "Hold-out purchases: actual against forecast, by purchases before the hold-out",
            groups, ["Actual", *[f"{_forecast_name(f, rows)} forecast" for f in forecasts]],
            [charts.INK, BLUE, charts.ORANGE, charts.PURPLE][:len(forecasts) + 1], number, number,
            "Purchases in the hold-out period",
            subtitle=f"Fitted without the last {holdout} days, then scored on them" if holdout else None)))
    totals = tuple(tuple(r.values()) for r in rows if r["scope"] == "all customers")
    parts.append(generic_table(
        replace(extract, rows=totals, total_rows=len(totals), note="all customers"), currency,
        ("forecast", "customers", "actual_purchases", "predicted_purchases", "total_error", "total_error_pct",
         "mean_absolute_error")))
    chart, sentence = calibration_chart(rows), calibration_sentence(rows)
    if chart or sentence:
        parts.append("<h3>How honest the 80 % intervals were</h3>")
        parts.append(f'<p class="finding">{esc(sentence)}</p>' if sentence else "")
        parts.append(figure_html(chart) if chart else "")
    return "".join(parts)


# ---------------------------------------------------------------- the sections


def _as_is(extract: TableExtract, currency: str, data: ReportData) -> str:
    return generic_table(extract, currency)


@dataclass(frozen=True)
class TableSection:
    """A section showing the published table `table` (read into `ReportData.table_extracts`)."""

    table: str
    anchor: str
    title: str
    intro: str
    placement: str = "models"     # "top": right after the headline tiles; "models": before data quality
    render: Callable[[TableExtract, str, ReportData], str] = _as_is


TABLE_SECTIONS: tuple[TableSection, ...] = (
    TableSection("alerts", "alerts", "Alerts", "What the latest run flagged for attention.", placement="top",
                 render=render_alerts),
    TableSection("retention_drivers", "drivers", "Why retention moved",
                 "The change between the last two complete periods (months by default), split over the segments "
                 "that made it.",
                 render=render_drivers),
    TableSection("retention_metrics_by_segment", "segments", "Retention by segment",
                 "Each acquisition channel, country, cohort year and RFM segment on its own.", render=render_segments),
    TableSection("customers_at_risk", "at-risk", "Valuable customers at risk",
                 "Customers in the top fifth by value whose health is falling and who agreed to be contacted, "
                 "most valuable first: who to call, and why.", render=render_at_risk),
    TableSection("feedback_themes", "feedback", "Feedback themes",
                 "The words that set detractors’ survey comments apart from promoters’, with what customers wrote.",
                 render=render_feedback),
    TableSection("clv_model_fits", "model-fits", "CLV model card",
                 "What the CLV predictions rest on. A model whose best fit lies on its boundary (customers who do "
                 "not differ) is published as its limiting case; one that cannot be fitted says why, and its "
                 "predictions are left empty.", render=render_model_card),
    TableSection("clv_backtest", "backtest", "CLV back-test",
                 "The purchase model fitted without the last days of data and scored on them, beside the naive "
                 "forecast (every customer keeps buying at their past rate).", render=render_clv_backtest),
)


def table_sections(data: ReportData, currency: str, placement: str) -> list[Section]:
    """The sections of `placement` whose table the report read, in TABLE_SECTIONS order."""
    return [
        Section(spec.anchor, spec.title,
                f"<p>{esc(spec.intro)}</p>" + spec.render(data.table_extracts[spec.table], currency, data))
        for spec in TABLE_SECTIONS
        if spec.placement == placement and spec.table in data.table_extracts
    ]
