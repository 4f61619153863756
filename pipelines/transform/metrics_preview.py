"""What the Dagster UI shows on a dbt model's asset page beyond dbt's own: for `retention_metrics`, its rows and
the last complete months as a Markdown table (an observation logged after the dbt step, see
transform/assets.py), read from the warehouse once dbt has finished with it (dbt holds the DuckDB file while
it runs)."""

from __future__ import annotations

from pathlib import Path

from dagster import MetadataValue

PREVIEW_MONTHS = 12


def _cell(value, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}" if isinstance(value, (int, float)) or hasattr(value, "as_tuple") else str(value)


def retention_metrics_metadata(warehouse_db: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(warehouse_db), read_only=True)
    try:
        rows = con.execute("select count(*) from marts.retention_metrics").fetchone()[0]
        months = con.execute(f"""
            select strftime(period_start, '%Y-%m'), customers_at_start, customers_at_end, new_customers,
                   retention_rate_pct, churn_rate_pct, nps
            from marts.retention_metrics
            where period_grain = 'month' and is_complete
            order by period_start desc
            limit {PREVIEW_MONTHS}
        """).fetchall()
    finally:
        con.close()
    header = "| Month | CS | CE | CN | CRR % | Churn % | NPS |\n|---|---:|---:|---:|---:|---:|---:|"
    lines = [f"| {month} | {_cell(cs)} | {_cell(ce)} | {_cell(cn)} | {_cell(crr, 1)} | {_cell(churn, 1)} | "
             f"{_cell(nps, 1)} |" for month, cs, ce, cn, crr, churn, nps in months]
    return {
        "dagster/row_count": MetadataValue.int(rows),
        "last_complete_months": MetadataValue.md("\n".join([header, *lines]) if months
                                                 else "_No complete month yet._"),
    }
