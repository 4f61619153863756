"""Build the BI file and swap it in atomically.

BI tools read `bi.duckdb`, never the warehouse DuckDB that dbt writes (DuckDB takes one writer and
blocks other processes while it writes). A publish builds a complete new file beside the old one and
renames it over `bi.duckdb`: a reader sees the old file or the new one, never half of either. A reader
holding the old file open keeps reading it (the rename does not touch its inode) and never blocks the
publish. When a blocking check fails, this never runs, so the previous file stays exactly as it was.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

# Published marts and the order their rows are written in, so two runs on the same input give
# byte-for-byte comparable tables and exports.
PUBLISHED_TABLES: dict[str, str] = {
    "retention_metrics": "period_grain, period_start",
    "customers": "customer_key",
    "customer_cohorts": "cohort_month, activity_month",
    "rfm_scores": "customer_key",
    "nps_by_period": "period_grain, period_start",
    "acquisition_costs": "period_grain, period_start, channel",
    "quarantine_summary": "extract_name, source_file, reason, column_name",
    "customers_at_risk": "predicted_clv_12m desc, customer_key",
    "clv_model_fits": "model, fitted_on, parameter",
    "clv_backtest": "forecast, scope",
    "retention_metrics_by_segment": "period_grain, period_start, dimension, segment",
    "retention_drivers": "metric, dimension, segment",
    "alerts": "metric",
    "feedback_themes": "scope_type, scope, side, rank, term",
}
WAREHOUSE_SCHEMA = "marts"


@dataclass
class Publication:
    bi_path: Path
    exports_dir: Path
    row_counts: dict[str, int]
    published_at: datetime


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_durably(tmp: Path, final: Path) -> None:
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, final)
    _fsync_directory(final.parent)


def publish(warehouse_db: Path, bi_path: Path, exports_dir: Path, run_metadata: dict[str, str]) -> Publication:
    """Copy the published marts from the warehouse into a new BI file and Parquet exports, then swap them in."""
    bi_path.parent.mkdir(parents=True, exist_ok=True)
    exports_dir.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    tmp_db = bi_path.with_name(f".{bi_path.name}.{token}.tmp")
    published_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    row_counts: dict[str, int] = {}
    tmp_exports: list[tuple[Path, Path]] = []
    con = duckdb.connect(str(tmp_db))
    try:
        con.execute("set preserve_insertion_order = true")
        con.execute(f"attach '{warehouse_db}' as warehouse (read_only)")
        for table, order_by in PUBLISHED_TABLES.items():
            con.execute(f"create table main.{table} as "
                        f"select * from warehouse.{WAREHOUSE_SCHEMA}.{table} order by {order_by}")
            row_counts[table] = con.execute(f"select count(*) from main.{table}").fetchall()[0][0]
            export = exports_dir / f"{table}.parquet"
            tmp_export = exports_dir / f".{table}.parquet.{token}.tmp"
            con.execute(f"copy (select * from main.{table}) to '{tmp_export}' (format parquet, compression zstd)")
            tmp_exports.append((tmp_export, export))
        con.execute("create table main.publication (key varchar, value varchar)")
        metadata = {"published_at_utc": published_at.isoformat(), **run_metadata}
        con.executemany("insert into main.publication values (?, ?)", sorted(metadata.items()))
        con.execute("detach warehouse")
        con.execute("checkpoint")
    except BaseException:
        con.close()
        tmp_db.unlink(missing_ok=True)
        for tmp_export, _ in tmp_exports:
            tmp_export.unlink(missing_ok=True)
        raise
    con.close()
    _replace_durably(tmp_db, bi_path)
    for tmp_export, export in tmp_exports:
        _replace_durably(tmp_export, export)
    return Publication(bi_path, exports_dir, row_counts, published_at)
