"""What `make run` prints once the run is over: rows accounted for, the last months, warnings, outputs.

Everything is read back from what the run wrote (the raw layer's ledgers, the published BI file), so the
summary shows what a BI tool will see, not what the run meant to write.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipelines.report.formatting import MISSING
from pipelines.settings import Settings

SUMMARY_MONTHS = 12


def failed_checks(result, severity: str) -> list[str]:
    """Checks of the run that did not pass, with the given severity ('ERROR' blocks, 'WARN' informs)."""
    failed = []
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity.value == severity:
            failed.append(f"{evaluation.asset_key.to_user_string()} / {evaluation.check_name}"
                          + (f": {evaluation.description}" if evaluation.description else ""))
    return failed


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], left_aligned: int = 1) -> list[str]:
    """Lines of a plain-text table whose columns are as wide as their widest value, two spaces apart."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  " + "  ".join(c.ljust(w) if i < left_aligned else c.rjust(w)
                                for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(header), *(line(r) for r in rows)]


def _count(value) -> str:
    return "-" if value is None else f"{int(value):,}"


def print_ingestion_summary(settings: Settings) -> None:
    import duckdb

    ledgers = sorted(settings.raw_dir.glob("*/files.parquet"))
    if not ledgers:
        return
    rows = duckdb.sql(f"""
        select extract, count(*) as files, sum(rows_read), sum(rows_loaded), sum(rows_quarantined)
        from read_parquet({[str(p) for p in ledgers]}) group by all order by extract
    """).fetchall()
    if not rows:  # no extract had a file (the orders' ingestion failed, say)
        return
    print("\nIngestion (rows read = loaded + quarantined):")
    for line in format_table(("extract", "files", "read", "loaded", "quarantined"),
                             [(e, _count(f), _count(r), _count(lo), _count(q)) for e, f, r, lo, q in rows]):
        print(line)
    reasons = duckdb.sql(f"""
        select extract, reason, count(*) from read_parquet({[str(p.with_name('quarantine.parquet')) for p in ledgers]})
        group by all order by extract, reason
    """).fetchall()
    by_extract: dict[str, list[str]] = {}
    for extract, reason, count in reasons:
        by_extract.setdefault(extract, []).append(f"{reason} {count}")
    for extract, counts in by_extract.items():
        print(f"  quarantined {extract}: {', '.join(counts)}")


# The summary's columns of retention_metrics, with their short headers. Each is written as the marts' yml
# declares its kind (pipelines/report/column_kinds.py), as the report writes it: a count never as money.
SUMMARY_COLUMNS = (
    ("CS", "customers_at_start"), ("CE", "customers_at_end"), ("CN", "new_customers"),
    ("CRR", "retention_rate_pct"), ("churned", "churned_customers"), ("churn", "churn_rate_pct"),
    ("react.", "reactivated_customers"), ("revenue", "revenue"), ("NPS", "nps"), ("CAC", "cac"),
    ("CLV:CAC", "clv_to_cac"),
)


def print_retention_metrics(settings: Settings, months: int = SUMMARY_MONTHS) -> None:
    """The last `months` complete months of retention_metrics, as BI tools will see them."""
    import duckdb

    from pipelines.ingestion.currency import reporting_currency
    from pipelines.report.column_kinds import declared_kinds, format_value, kind_of

    if not settings.bi_db.exists():
        return
    columns = [column for _, column in SUMMARY_COLUMNS]
    con = duckdb.connect(str(settings.bi_db), read_only=True)
    try:
        rows = con.execute(f"""
            select * from (
                select strftime(period_start, '%Y-%m') as month, {', '.join(columns)},
                       is_history_shorter_than_window
                from main.retention_metrics
                where period_grain = 'month' and is_complete
                order by period_start desc limit {months}
            ) order by month
        """).fetchall()
    finally:
        con.close()
    currency = reporting_currency(settings)
    window = settings.activity_window_days
    print(f"\nretention_metrics, last {len(rows)} complete months (activity window {window} days, "
          f"amounts in {currency}):")
    if not rows:
        print("  no complete month yet: the data does not cover a whole calendar month before the as-of date")
        return
    kinds = declared_kinds().get("retention_metrics", {})
    by_column = [dict(zip(["month", *columns, "is_history_shorter_than_window"], row)) for row in rows]
    cells = [(row["month"], *(format_value(row[c], kind_of(kinds, c, row), currency) for c in columns))
             for row in by_column]
    for line in format_table(("month", *(header for header, _ in SUMMARY_COLUMNS)), cells):
        print(line)
    short = [row["month"] for row in by_column if row["is_history_shorter_than_window"]]
    if short:
        span = short[0] if len(short) == 1 else f"{short[0]} to {short[-1]}"
        print(f"  note: {span}: less than {window} days of history before the month, and a customer "
              "lapses only a full window after their last purchase, so churn reads about 0 % and CRR about 100 % "
              "by definition (retention_metrics.is_history_shorter_than_window). Set a shorter "
              "RETENTIO_ACTIVITY_WINDOW_DAYS for a reading now.")
    unknown = [what for what, column in (("NPS (no survey extract)", "nps"), ("CAC (no spend extract)", "cac"))
               if all(row[column] is None for row in by_column)]
    if unknown:
        print(f"  unknown, shown as '{MISSING}': {', '.join(unknown)}")


def print_checks(result) -> None:
    for title, severity in (("Warnings", "WARN"), ("Failed checks", "ERROR")):
        lines = failed_checks(result, severity)
        if lines:
            print(f"\n{title}:")
            for line in lines:
                print(f"  - {line}")


def print_outputs(settings: Settings, log_path: Path | None = None) -> None:
    print("\nOutputs:")
    print(f"  raw layer (Parquet)      {settings.raw_dir}")
    print(f"  warehouse (dbt, DuckDB)  {settings.warehouse_db}")
    if settings.bi_db.exists():
        print(f"  BI file (read-only use)  {settings.bi_db}")
    if settings.exports_dir.exists():
        print(f"  Parquet exports          {settings.exports_dir}")
    report = settings.warehouse_dir / "report" / "retention_report.html"
    if report.exists():
        print(f"  HTML report              {report}")
    audiences = settings.warehouse_dir / "audiences"
    if audiences.exists():
        print(f"  marketing audiences      {audiences}")
    print("  dbt docs                 make docs, then dbt_project/target/index.html")
    print("  Dagster UI               make dev")
    if log_path is not None:
        print(f"  this run's full log      {log_path}")
