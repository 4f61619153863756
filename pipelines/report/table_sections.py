"""Published tables shown as they are: one section per table, its first rows, each value written as the
kind of its column says.

A column's kind (count, money, percent, score, decimal) is declared here, in `COLUMN_KINDS`, never guessed
from the column's name. Integer columns are counts and other numbers plain decimals unless declared; a
column whose rows hold different metrics (alerts, retention_drivers) takes the kind of the row's metric.
A new money or percent column of these tables is one line in `COLUMN_KINDS`. To give a table a chart,
give its `TableSection` a `render` function (`render_clv_backtest` is one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pipelines.report import charts
from pipelines.report.charts import BLUE, BarGroup
from pipelines.report.formatting import MISSING, money, number, percent
from pipelines.report.markup import Section, esc, figure_html, note_html, table_html
from pipelines.report.queries import ReportData, TableExtract

# ---------------------------------------------------------------- what each column holds

COUNT = "count"        # customers, purchases, comments: whole numbers (a fractional share of one, e.g. a
                       # mix effect, keeps one decimal)
MONEY = "money"        # in the reporting currency
PERCENT = "percent"    # already in percent (CRR, churn, shares), or percentage points for their changes
SCORE = "score"        # NPS, -100 .. 100, one decimal as on the tiles
DECIMAL = "decimal"    # any other number: parameters, errors, probabilities


@dataclass(frozen=True)
class KindOfMetric:
    """The kind of a column whose rows hold different metrics, named by the row's `metric` column."""

    kinds: Mapping[str, str]
    column: str = "metric"

    def of(self, row: Mapping[str, object]) -> str:
        return self.kinds.get(str(row.get(self.column)), DECIMAL)


ColumnKind = str | KindOfMetric

# The retention metrics by the names alerts and retention_drivers give them in their `metric` column.
METRIC_KINDS: Mapping[str, str] = {
    "retention_rate_pct": PERCENT, "churn_rate_pct": PERCENT, "churned_customers": COUNT,
    "revenue": MONEY, "cac": MONEY, "nps": SCORE,
}
_METRIC_VALUE = KindOfMetric(METRIC_KINDS)

# Per published table, the columns whose kind is not what their type says (integers: counts, others: decimals).
COLUMN_KINDS: Mapping[str, Mapping[str, ColumnKind]] = {
    "alerts": {
        "current_value": _METRIC_VALUE, "trailing_average": _METRIC_VALUE, "change": _METRIC_VALUE,
        "change_pct": PERCENT,
        # the driving segment's change: churned customers, CRR points or CAC (alerts.yml)
        "driver_change": KindOfMetric({"churn_rate_pct": COUNT, "retention_rate_pct": PERCENT, "cac": MONEY}),
    },
    "retention_drivers": {
        "previous_value": _METRIC_VALUE, "current_value": _METRIC_VALUE, "change": _METRIC_VALUE,
        "mix_effect": _METRIC_VALUE, "rate_effect": _METRIC_VALUE, "share_of_total_change_pct": PERCENT,
    },
    "retention_metrics_by_segment": {
        "retention_rate_pct": PERCENT, "churn_rate_pct": PERCENT, "revenue": MONEY,
    },
    "customers_at_risk": {
        "historical_clv": MONEY, "predicted_clv_12m": MONEY, "predicted_clv_12m_p10": MONEY,
        "predicted_clv_12m_p90": MONEY,
    },
    "clv_backtest": {"total_error_pct": PERCENT},
}


def format_cell(value, kind: str | None, data_type: str, currency: str) -> str:
    """One value as the table shows it: by its column's declared kind, else by its type."""
    if value is None:
        return MISSING
    if data_type.upper() == "BOOLEAN":
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    if kind == MONEY:
        return money(float(value), currency)
    if kind == PERCENT:
        return percent(float(value))
    if kind == SCORE:
        return number(float(value), 1)
    if kind == COUNT or (isinstance(value, int) and not isinstance(value, bool)):
        return number(value, 0 if float(value).is_integer() else 1)
    if isinstance(value, (float, Decimal)):
        return number(float(value), 3 if abs(float(value)) < 10 else 2)
    return str(value)


def _kind(kinds: Mapping[str, ColumnKind], column: str, row: Mapping[str, object]) -> str | None:
    kind = kinds.get(column)
    return kind.of(row) if isinstance(kind, KindOfMetric) else kind


# ---------------------------------------------------------------- tables


def generic_table(extract: TableExtract, currency: str, columns: Sequence[str] = ()) -> str:
    """A table shown as it is: its first rows (only `columns` when given and published), numbers formatted by
    their columns' kinds (COLUMN_KINDS)."""
    keep = [i for i, c in enumerate(extract.columns) if c in columns] if columns else []
    keep = keep or list(range(len(extract.columns)))
    names = [extract.columns[i] for i in keep]
    types = [extract.types[i] for i in keep]
    numeric = [t.upper().split("(")[0] in {"BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT",
                                           "DOUBLE", "FLOAT", "DECIMAL", "REAL"} for t in types]
    kinds = COLUMN_KINDS.get(extract.table, {})
    rows = []
    for row in extract.rows:
        by_name = dict(zip(extract.columns, row))
        rows.append([format_cell(row[i], _kind(kinds, c, by_name), t, currency)
                     for i, c, t in zip(keep, names, types)])
    shown = len(extract.rows)
    scope = f" ({extract.note})" if extract.note else ""
    caption = (f"main.{extract.table}{scope}: all {number(extract.total_rows)} rows" if shown == extract.total_rows
               else f"main.{extract.table}{scope}: first {number(shown)} of {number(extract.total_rows)} rows")
    if not rows:
        return note_html(f"<code>main.{esc(extract.table)}</code> has no rows{esc(scope)}.")
    return table_html([c.replace("_", " ") for c in names], rows, numeric, caption=caption,
                      css_class="data compact")


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
        parts.append(figure_html(charts.grouped_bar_chart(
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


# ---------------------------------------------------------------- the sections


@dataclass(frozen=True)
class TableSection:
    """A section showing the published table `table` (read into `ReportData.table_extracts`)."""

    table: str
    anchor: str
    title: str
    intro: str
    placement: str = "models"     # "top": right after the headline tiles; "models": before data quality
    render: Callable[[TableExtract, str], str] = generic_table


TABLE_SECTIONS: tuple[TableSection, ...] = (
    TableSection("alerts", "alerts", "Alerts", "What the latest run flagged for attention.", placement="top"),
    TableSection("retention_metrics_by_segment", "segments", "Retention by segment",
                 "Retention metrics of the last complete month, per customer segment."),
    TableSection("retention_drivers", "drivers", "Retention drivers",
                 "What moves retention: the drivers the model found and their effect."),
    TableSection("customers_at_risk", "at-risk", "Valuable customers at risk",
                 "Customers in the top fifth by value whose health is falling and who agreed to be contacted, "
                 "most valuable first.",
                 render=columns_table("customer_key", "rfm_segment", "health_band", "health_score",
                                      "probability_alive", "days_since_last_purchase", "historical_clv",
                                      "predicted_clv_12m", "latest_nps_score")),
    TableSection("feedback_themes", "feedback", "Feedback themes",
                 "Themes found in the free-text comments of the NPS survey."),
    TableSection("clv_model_fits", "model-fits", "CLV model fits",
                 "The fitted parameters the CLV predictions rest on. A model whose best fit lies on its "
                 "boundary (customers who do not differ) is published as its limiting case; one that cannot "
                 "be fitted says why, and its predictions are left empty.",
                 render=columns_table("model", "fitted_on", "status", "variant", "parameter", "estimate",
                                      "standard_error", "customers", "reason")),
    TableSection("clv_backtest", "backtest", "CLV back-test",
                 "The purchase model fitted without the last days of data and scored on them, beside the naive "
                 "forecast (every customer keeps buying at their past rate).", render=render_clv_backtest),
)


def table_sections(data: ReportData, currency: str, placement: str) -> list[Section]:
    """The sections of `placement` whose table the report read, in TABLE_SECTIONS order."""
    return [
        Section(spec.anchor, spec.title,
                f"<p>{esc(spec.intro)}</p>" + spec.render(data.table_extracts[spec.table], currency))
        for spec in TABLE_SECTIONS
        if spec.placement == placement and spec.table in data.table_extracts
    ]
