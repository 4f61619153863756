"""What the report reads from the published BI file: one query per section, nothing rendered here.

Everything comes from `bi.duckdb`, opened read-only (a run publishing meanwhile swaps in a new file and
never blocks us). Every run publishes every table read here (pipelines/publish/bi_file.py), so a file
without one is refused. The numbers are computed by the dbt marts (CAC and CLV by channel are the mart
`channel_economics`); the queries only select, filter and bin them for the charts. A new metric is a
column of a mart, read here by name.

Every query has a total order (`order by` on a key) and runs on one thread, so the same file always gives
the same values, to the last digit, and the same report.
"""

from __future__ import annotations

import math
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from pipelines.report.column_kinds import MANIFEST_PATH, TableKinds, declared_kinds

# Tables whose first rows the report shows as they are (see table_sections.TABLE_SECTIONS).
TABLE_EXTRACTS = (
    "alerts", "clv_model_fits", "clv_backtest", "customers_at_risk", "retention_drivers",
    "retention_metrics_by_segment", "feedback_themes",
)
# Every table the report reads, in the order the page lists their row counts.
REPORT_TABLES = (
    "retention_metrics", "customers", "customer_cohorts", "customer_survival", "customer_survival_summary",
    "rfm_scores", "nps_by_period",
    "acquisition_costs", "channel_economics", "quarantine_summary", "publication", *TABLE_EXTRACTS,
)
# The predicted CLV columns of `customers` (null when the purchase models could not be fitted).
PREDICTED_CLV, PREDICTED_CLV_P10, PREDICTED_CLV_P90 = (
    "predicted_clv_12m", "predicted_clv_12m_p10", "predicted_clv_12m_p90")
HEALTH_BAND_ORDER = ("healthy", "watch", "at_risk", "lost")
HISTOGRAM_TARGET_BINS = 24
GENERIC_TABLE_ROW_LIMIT = 20
# Tables whose section charts or counts every row (the back-test: one row per forecast and scope; the drivers:
# one per metric and segment; the fits: one per parameter; the segments: one per segment of the last month).
TABLE_ROW_LIMITS = {"clv_backtest": 500, "retention_drivers": 2000, "clv_model_fits": 500,
                    "retention_metrics_by_segment": 500}
# Rows of a table the report shows (feedback themes: the ones over all comments, not per quarter or segment).
TABLE_FILTERS = {"feedback_themes": "scope_type = 'all'"}
# The segments' small multiples: this many complete months, oldest first.
SEGMENT_TREND_MONTHS = 12
# The survival curves the report draws: for all customers and per acquisition channel (not per cohort year).
SURVIVAL_DIMENSIONS = ("all", "acquisition_channel")


@dataclass(frozen=True)
class Schema:
    """The tables of `main` and their columns, in table order."""

    tables: dict[str, tuple[str, ...]]

    def has_table(self, table: str) -> bool:
        return table in self.tables


@dataclass(frozen=True)
class MonthMetrics:
    """One complete month of `retention_metrics` (period_grain = 'month')."""

    month: date
    customers_at_start: int | None
    customers_at_end: int | None
    new_customers: int | None
    retention_rate_pct: float | None
    churned_customers: int | None
    churn_rate_pct: float | None
    reactivated_customers: int | None
    revenue: float | None
    nps: float | None
    nps_responses: int | None
    marketing_spend: float | None
    cac: float | None
    avg_historical_clv: float | None
    clv_to_cac: float | None
    predicted_clv_to_cac: float | None = None
    is_history_shorter_than_window: bool = False   # churn/CRR not meaningful yet (retention_metrics docs)

    @property
    def has_spend_data(self) -> bool:
        return self.marketing_spend is not None

    @property
    def has_survey_data(self) -> bool:
        return self.nps_responses is not None


@dataclass(frozen=True)
class NpsMonth:
    month: date
    responses: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None


@dataclass(frozen=True)
class CohortCell:
    """One complete month of one acquisition cohort (customer_cohorts)."""

    cohort_month: date
    months_since_first_purchase: int
    cohort_size: int
    active_customers: int
    retention_pct: float | None
    purchasing_customers: int = 0                          # cohort customers who purchased in the month
    purchasing_customers_pct: float | None = None
    cumulative_revenue_per_customer: float | None = None   # revenue per acquired customer through the month


@dataclass(frozen=True)
class RfmCell:
    """Customers with one (recency score, frequency score) pair; the segment map gives each pair one segment."""

    recency_score: int
    frequency_score: int
    rfm_segment: str
    customers: int
    revenue: float


@dataclass(frozen=True)
class SegmentSummary:
    rfm_segment: str
    customers: int
    revenue: float


@dataclass(frozen=True)
class HistogramBin:
    lower: float
    upper: float | None      # None: the open last bin (everything from `lower` up)
    customers: int


@dataclass(frozen=True)
class ClvDistribution:
    column: str              # the customers column the histogram counts
    is_predicted: bool
    customers: int
    mean: float | None
    median: float | None
    p90: float | None
    mean_p10: float | None   # mean of the per-customer interval bounds, when published
    mean_p90: float | None
    bins: tuple[HistogramBin, ...]
    prediction_unavailable: str = ""   # why predicted CLV is empty (clv_model_fits' reasons), when it is


@dataclass(frozen=True)
class ChannelEconomics:
    """One row of `channel_economics`: CAC over the last complete months against the average historical CLV
    of the channel's customers."""

    channel: str
    spend: float | None      # None: no marketing spend extract, so unknown
    new_customers: int
    cac: float | None
    purchasing_customers: int
    avg_historical_clv: float | None
    clv_to_cac: float | None
    avg_predicted_clv_12m: float | None = None   # None: the purchase models could not be fitted


@dataclass(frozen=True)
class ChannelWindow:
    first_month: date
    last_month: date
    months: int
    channels: tuple[ChannelEconomics, ...]
    blended: ChannelEconomics | None     # channel 'all'


@dataclass(frozen=True)
class SurvivalStep:
    """One row of `customer_survival`: the Kaplan-Meier estimate of a curve and slice on one day."""

    curve: str                  # second_purchase | lapse
    dimension: str              # all | acquisition_channel
    dimension_value: str
    days: int
    at_risk: int
    events: int
    censored: int
    survival: float             # share (0..1) still without the event
    survival_lower_95: float
    survival_upper_95: float


@dataclass(frozen=True)
class SurvivalSummary:
    """One row of `customer_survival_summary`: a curve and slice at a glance."""

    curve: str
    dimension: str
    dimension_value: str
    customers: int
    events: int
    censored: int
    longest_observed_days: int | None
    median_days: int | None     # None: more than half are still without the event
    median_days_lower_95: int | None
    median_days_upper_95: int | None
    survival_at: dict[int, float | None]   # {30: .., 90: .., 180: .., 365: ..}; None: not followed that long


@dataclass(frozen=True)
class QuarantineRow:
    extract_name: str
    source_file: str
    reason: str
    column_name: str | None
    rejected_rows: int
    first_source_row: int | None
    example_detail: str | None


@dataclass(frozen=True)
class HealthBand:
    band: str
    customers: int
    avg_health_score: float | None
    avg_probability_alive: float | None
    revenue: float


@dataclass(frozen=True)
class TableExtract:
    """The first rows of a table the report shows as it is (sections added by later issues)."""

    table: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: tuple[tuple, ...]
    total_rows: int
    note: str = ""
    kinds: TableKinds = field(default_factory=dict)    # its columns' declared kinds (column_kinds.py)

    def records(self) -> list[dict[str, object]]:
        """The rows as {column: value}."""
        return [dict(zip(self.columns, row)) for row in self.rows]


@dataclass(frozen=True)
class SegmentMonth:
    """One complete month of one segment (retention_metrics_by_segment)."""

    dimension: str
    segment: str
    month: date
    customers_at_start: int | None
    retention_rate_pct: float | None
    churned_customers: int | None
    churn_rate_pct: float | None


@dataclass(frozen=True)
class ReportData:
    schema: Schema
    publication: dict[str, str]
    row_counts: dict[str, int]
    as_of_date: date | None
    months: tuple[MonthMetrics, ...]                  # complete months, oldest first
    nps_months: tuple[NpsMonth, ...]
    cohorts: tuple[CohortCell, ...]
    rfm_cells: tuple[RfmCell, ...]
    rfm_segments: tuple[SegmentSummary, ...]
    clv: ClvDistribution | None
    channels: ChannelWindow | None
    quarantine: tuple[QuarantineRow, ...]
    health: tuple[HealthBand, ...] = ()
    table_extracts: dict[str, TableExtract] = field(default_factory=dict)   # TABLE_EXTRACTS, by table
    segment_months: tuple[SegmentMonth, ...] = ()     # the last SEGMENT_TREND_MONTHS, by dimension and segment
    survival: tuple[SurvivalStep, ...] = ()           # SURVIVAL_DIMENSIONS, by curve, slice and day
    survival_summaries: tuple[SurvivalSummary, ...] = ()

    @property
    def last_month(self) -> MonthMetrics | None:
        return self.months[-1] if self.months else None

    @property
    def previous_month(self) -> MonthMetrics | None:
        return self.months[-2] if len(self.months) > 1 else None


def _float(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _int(value) -> int | None:
    return None if value is None else int(value)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, parameters=None) -> list[tuple]:
    return con.execute(sql, parameters or []).fetchall()


def read_schema(con: duckdb.DuckDBPyConnection) -> Schema:
    tables: dict[str, list[str]] = {}
    for table, column in _rows(con, """
            select table_name, column_name from information_schema.columns
            where table_schema = 'main' order by table_name, ordinal_position"""):
        tables.setdefault(table, []).append(column)
    return Schema({table: tuple(columns) for table, columns in tables.items()})


def read_publication(con) -> dict[str, str]:
    return dict(_rows(con, "select key, value from main.publication order by key"))


def read_row_counts(con) -> dict[str, int]:
    """Rows of every table the report reads."""
    return {table: _rows(con, f'select count(*) from main."{table}"')[0][0] for table in REPORT_TABLES}


def read_as_of_date(con) -> date | None:
    return _rows(con, "select max(measured_through_date) from main.retention_metrics")[0][0]


def read_months(con) -> tuple[MonthMetrics, ...]:
    """Every complete month of retention_metrics, oldest first."""
    rows = _rows(con, """
        select period_start, customers_at_start, customers_at_end, new_customers, retention_rate_pct,
               churned_customers, churn_rate_pct, reactivated_customers, revenue, nps, nps_responses,
               marketing_spend, cac, avg_historical_clv, clv_to_cac, predicted_clv_to_cac,
               is_history_shorter_than_window
        from main.retention_metrics
        where period_grain = 'month' and is_complete
        order by period_start""")
    return tuple(
        MonthMetrics(
            month=r[0], customers_at_start=_int(r[1]), customers_at_end=_int(r[2]), new_customers=_int(r[3]),
            retention_rate_pct=_float(r[4]), churned_customers=_int(r[5]), churn_rate_pct=_float(r[6]),
            reactivated_customers=_int(r[7]), revenue=_float(r[8]), nps=_float(r[9]), nps_responses=_int(r[10]),
            marketing_spend=_float(r[11]), cac=_float(r[12]), avg_historical_clv=_float(r[13]),
            clv_to_cac=_float(r[14]), predicted_clv_to_cac=_float(r[15]),
            is_history_shorter_than_window=bool(r[16]),
        )
        for r in rows
    )


def read_nps_months(con) -> tuple[NpsMonth, ...]:
    """Complete months of NPS; none when no survey extract was delivered (the counts are then null)."""
    rows = _rows(con, """
        select period_start, responses, promoters, passives, detractors, nps
        from main.nps_by_period
        where period_grain = 'month' and is_complete and responses is not null
        order by period_start""")
    return tuple(NpsMonth(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]), _float(r[5])) for r in rows)


def read_cohorts(con) -> tuple[CohortCell, ...]:
    """Every complete month of every acquisition cohort, oldest cohort first."""
    rows = _rows(con, """
        select cohort_month, months_since_first_purchase, cohort_size, active_customers, retention_pct,
               purchasing_customers, purchasing_customers_pct, cumulative_revenue_per_customer
        from main.customer_cohorts
        where is_complete
        order by cohort_month, months_since_first_purchase""")
    return tuple(CohortCell(r[0], int(r[1]), int(r[2]), int(r[3]), _float(r[4]), int(r[5]), _float(r[6]),
                            _float(r[7])) for r in rows)


def read_rfm(con) -> tuple[tuple[RfmCell, ...], tuple[SegmentSummary, ...]]:
    cells = _rows(con, """
        select recency_score, frequency_score, rfm_segment, count(*), coalesce(sum(monetary), 0)
        from main.rfm_scores
        group by all
        order by recency_score, frequency_score, rfm_segment""")
    segments = _rows(con, """
        select rfm_segment, count(*), coalesce(sum(monetary), 0)
        from main.rfm_scores
        group by all
        order by sum(monetary) desc, rfm_segment""")
    return (
        tuple(RfmCell(int(r[0]), int(r[1]), r[2], int(r[3]), float(r[4])) for r in cells),
        tuple(SegmentSummary(r[0], int(r[1]), float(r[2])) for r in segments),
    )


def nice_step(raw_step: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above raw_step (bin widths and axis ticks people can read)."""
    if raw_step <= 0 or math.isnan(raw_step):
        return 1.0
    exponent = math.floor(math.log10(raw_step))
    for mantissa in (1, 2, 2.5, 5, 10):
        step = mantissa * 10.0 ** exponent
        if step >= raw_step * (1 - 1e-9):
            return step
    return 10.0 ** (exponent + 1)


def read_clv_distribution(con) -> ClvDistribution:
    """Histogram of predicted CLV, or of historical CLV when the models could not be fitted, over purchasing
    customers.

    CLV is long-tailed: the bins cover 0 to the 99th percentile in round widths, and the last bin is open
    ("€5,000 and more") so a few very large customers do not squash the rest into one bar.
    """
    predicted, unavailable = PREDICTED_CLV, ""
    if _rows(con, f"select count({PREDICTED_CLV}) from main.customers")[0][0] == 0:
        unavailable, predicted = read_unfitted_reasons(con), None
    column = predicted or "historical_clv"
    where = f"where {column} is not null and has_purchased"
    p10, p90 = (PREDICTED_CLV_P10, PREDICTED_CLV_P90) if predicted else (None, None)
    customers, mean, median, p90_value, p99, low, mean_p10, mean_p90 = _rows(con, f"""
        select count(*), avg({column}), quantile_cont({column}, 0.5), quantile_cont({column}, 0.9),
               quantile_cont({column}, 0.99), min({column}),
               {f'avg({p10})' if p10 else 'null'}, {f'avg({p90})' if p90 else 'null'}
        from main.customers {where}""")[0]
    if customers == 0:
        return ClvDistribution(column, bool(predicted), 0, None, None, None, None, None, (), unavailable)
    start = min(0.0, float(low))
    width = nice_step((float(p99) - start) / HISTOGRAM_TARGET_BINS) if float(p99) > start else 1.0
    last = max(0, math.ceil((float(p99) - start) / width))   # index of the open bin
    counts = dict(_rows(con, f"""
        select least(floor(({column} - ?) / ?)::bigint, ?) as bin, count(*)
        from main.customers {where}
        group by bin order by bin""", [start, width, last]))
    bins = tuple(
        HistogramBin(start + i * width, None if i == last else start + (i + 1) * width, int(counts.get(i, 0)))
        for i in range(last + 1)
    )
    return ClvDistribution(column, bool(predicted), int(customers), _float(mean), _float(median),
                           _float(p90_value), _float(mean_p10), _float(mean_p90), bins, unavailable)


def read_unfitted_reasons(con) -> str:
    """Why the full-history models could not be fitted, in clv_model_fits' own words."""
    reasons = [r[0] for r in _rows(con, """
        select distinct reason from main.clv_model_fits
        where status = 'not_fitted' and fitted_on = 'full history' and reason is not null
        order by reason""")]
    return " ".join(r if r.endswith(".") else r + "." for r in reasons) or "the purchase models could not be fitted."


def read_channel_economics(con) -> ChannelWindow | None:
    """CAC and CLV per acquisition channel (the mart channel_economics), most spend first; None before the
    first complete month."""
    rows = _rows(con, """
        select first_month_start, last_month_start, months_in_window, channel, spend, new_customers, cac,
               purchasing_customers, avg_historical_clv, clv_to_cac, avg_predicted_clv_12m
        from main.channel_economics
        order by channel = 'all', coalesce(spend, 0) desc, channel""")
    if not rows:
        return None
    economics = [
        ChannelEconomics(channel=r[3], spend=_float(r[4]), new_customers=int(r[5]), cac=_float(r[6]),
                         purchasing_customers=int(r[7]), avg_historical_clv=_float(r[8]), clv_to_cac=_float(r[9]),
                         avg_predicted_clv_12m=_float(r[10]))
        for r in rows
    ]
    first, last, months = rows[0][:3]
    blended = next((e for e in economics if e.channel == "all"), None)
    return ChannelWindow(first, last, int(months), tuple(e for e in economics if e.channel != "all"), blended)


SURVIVAL_HORIZONS = (30, 90, 180, 365)


def read_survival(con) -> tuple[tuple[SurvivalStep, ...], tuple[SurvivalSummary, ...]]:
    """The Kaplan-Meier curves (customer_survival) and their summaries (customer_survival_summary) of all
    customers and of each acquisition channel, by curve, slice and day."""
    dimensions = list(SURVIVAL_DIMENSIONS)
    steps = _rows(con, """
        select curve, dimension, dimension_value, days, at_risk, events, censored, survival, survival_lower_95,
               survival_upper_95
        from main.customer_survival
        where list_contains(?, dimension)
        order by curve, dimension, dimension_value, days""", [dimensions])
    summaries = _rows(con, """
        select curve, dimension, dimension_value, customers, events, censored, longest_observed_days, median_days,
               median_days_lower_95, median_days_upper_95, survival_30_days, survival_90_days, survival_180_days,
               survival_365_days
        from main.customer_survival_summary
        where list_contains(?, dimension)
        order by curve, dimension, dimension_value""", [dimensions])
    return (
        tuple(SurvivalStep(r[0], r[1], str(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]), float(r[7]),
                           float(r[8]), float(r[9])) for r in steps),
        tuple(SurvivalSummary(r[0], r[1], str(r[2]), int(r[3]), int(r[4] or 0), int(r[5] or 0), _int(r[6]),
                              _int(r[7]), _int(r[8]), _int(r[9]),
                              dict(zip(SURVIVAL_HORIZONS, (_float(v) for v in r[10:14]))))
              for r in summaries),
    )


def read_quarantine(con) -> tuple[QuarantineRow, ...]:
    rows = _rows(con, """
        select extract_name, source_file, reason, column_name, rejected_rows, first_source_row, example_detail
        from main.quarantine_summary
        order by extract_name, source_file, reason, column_name nulls first""")
    return tuple(QuarantineRow(r[0], r[1], r[2], r[3], int(r[4]), _int(r[5]), r[6]) for r in rows)


def read_health(con) -> tuple[HealthBand, ...]:
    """Customers per health band; none when the models could not be fitted (the bands are then null)."""
    order = ", ".join(f"'{b}'" for b in HEALTH_BAND_ORDER)
    rows = _rows(con, f"""
        select health_band, count(*), avg(health_score), avg(probability_alive), coalesce(sum(historical_clv), 0)
        from main.customers where health_band is not null
        group by health_band
        order by coalesce(list_position([{order}], health_band), 99), health_band""")
    return tuple(HealthBand(r[0], int(r[1]), _float(r[2]), _float(r[3]), float(r[4])) for r in rows)


def read_segment_months(con) -> tuple[SegmentMonth, ...]:
    """The last SEGMENT_TREND_MONTHS complete months of every segment, by dimension, segment and month."""
    rows = _rows(con, """
        with months as (
            select distinct period_start from main.retention_metrics_by_segment
            where period_grain = 'month' and is_complete
            order by period_start desc limit ?)
        select dimension, segment, period_start, customers_at_start, retention_rate_pct, churned_customers,
               churn_rate_pct
        from main.retention_metrics_by_segment
        where period_grain = 'month' and is_complete and period_start in (select period_start from months)
        order by dimension, segment, period_start""", [SEGMENT_TREND_MONTHS])
    return tuple(SegmentMonth(r[0], str(r[1]), r[2], _int(r[3]), _float(r[4]), _int(r[5]), _float(r[6]))
                 for r in rows)


def read_table_extract(con, schema: Schema, table: str, kinds: TableKinds | None = None) -> TableExtract:
    """A table as it is, in published row order: its latest complete month when it has periods, at most
    GENERIC_TABLE_ROW_LIMIT rows (or its TABLE_ROW_LIMITS), only the rows of its TABLE_FILTERS."""
    columns = schema.tables[table]
    where, note = "", ""
    if table in TABLE_FILTERS and "scope_type" in columns:
        where = f"where {TABLE_FILTERS[table]}"
    if {"period_grain", "period_start", "is_complete"} <= set(columns):
        latest = _rows(con, f"""select max(period_start) from main."{table}"
                                where period_grain = 'month' and is_complete""")[0][0]
        if latest is not None:
            where = (f"{where} and" if where else "where") + (
                f" period_grain = 'month' and is_complete and period_start = '{latest.isoformat()}'")
            note = f"month starting {latest.isoformat()}"
    types = tuple(r[0] for r in _rows(con, """
        select data_type from information_schema.columns
        where table_schema = 'main' and table_name = ? order by ordinal_position""", [table]))
    total = _rows(con, f'select count(*) from main."{table}" {where}')[0][0]
    # The publication writes every table in a defined order (e.g. most valuable customer first); a
    # single-threaded scan returns rows in that order, so the first rows are the ones meant to come first.
    limit = TABLE_ROW_LIMITS.get(table, GENERIC_TABLE_ROW_LIMIT)
    rows = _rows(con, f'select * from main."{table}" {where} limit {limit}')
    return TableExtract(table, columns, types, tuple(rows), int(total), note, kinds or {})


def load_report_data(bi_path: Path, manifest_path: Path = MANIFEST_PATH) -> ReportData:
    """Everything the report shows, read from the BI file in one read-only connection; the kind of each
    published column (money, count, …) from the marts' declarations in dbt's manifest."""
    if not bi_path.exists():
        raise FileNotFoundError(f"{bi_path} does not exist: publish the marts first (make run)")
    # One thread: parallel aggregation can change the last bits of a floating-point sum between runs.
    with closing(duckdb.connect(str(bi_path), read_only=True, config={"threads": 1})) as con:
        schema = read_schema(con)
        missing = [t for t in REPORT_TABLES if not schema.has_table(t)]
        if missing:
            raise ValueError(f"{bi_path} has no table {', '.join(missing)}: is it a Retentio BI file?")
        rfm_cells, rfm_segments = read_rfm(con)
        survival, survival_summaries = read_survival(con)
        kinds = declared_kinds(manifest_path)
        return ReportData(
            schema=schema,
            publication=read_publication(con),
            row_counts=read_row_counts(con),
            as_of_date=read_as_of_date(con),
            months=read_months(con),
            nps_months=read_nps_months(con),
            cohorts=read_cohorts(con),
            rfm_cells=rfm_cells,
            rfm_segments=rfm_segments,
            clv=read_clv_distribution(con),
            channels=read_channel_economics(con),
            quarantine=read_quarantine(con),
            health=read_health(con),
            table_extracts={t: read_table_extract(con, schema, t, kinds.get(t, {})) for t in TABLE_EXTRACTS},
            segment_months=read_segment_months(con),
            survival=survival,
            survival_summaries=survival_summaries,
        )
