"""Build the BI file and swap it in atomically.

BI tools read `bi.duckdb`, never the warehouse DuckDB that dbt writes (DuckDB takes one writer and
blocks other processes while it writes). A publish builds a complete new file beside the old one and
renames it over `bi.duckdb`: a reader sees the old file or the new one, never half of either. A reader
holding the old file open keeps reading it (the rename does not touch its inode) and never blocks the
publish. When a blocking check fails, this never runs, so the previous file stays exactly as it was.

The Parquet exports are one directory per publication, `.exports-<token>/`, and `exports` is a symlink
renamed over to the new one, so they too change all at once, never a mix of two publications. The
exports are swapped first and `bi.duckdb` last: once `bi.duckdb` shows a publication, its exports are
in place. A publish killed half-way leaves only dot-named `.tmp` files and directories, which nothing
reads and the next publish removes (it holds `.publish.lock`, so they cannot be another one's work).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

# Published marts and the order their rows are written in, so two runs on the same input give
# byte-for-byte comparable tables and exports.
PUBLISHED_TABLES: dict[str, str] = {
    "retention_metrics": "period_grain, period_start",
    "customers": "customer_key",
    "customer_cohorts": "cohort_month, activity_month",
    "customer_survival": "curve, dimension, dimension_value, days",
    "customer_survival_summary": "curve, dimension, dimension_value",
    "rfm_scores": "customer_key",
    "nps_by_period": "period_grain, period_start",
    "acquisition_costs": "period_grain, period_start, channel",
    "channel_economics": "channel",
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


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _replace_durably(tmp: Path, final: Path) -> None:
    _fsync_file(tmp)
    os.replace(tmp, final)
    _fsync_directory(final.parent)


@contextlib.contextmanager
def _publish_lock(directory: Path):
    """One publish at a time, whichever way the run was started (make run, the Dagster UI, a test)."""
    with open(directory / ".publish.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _remove_leftovers(bi_path: Path, exports_dir: Path) -> None:
    """What a publish killed half-way left: a BI file (and its WAL), exports and a symlink never swapped in."""
    directory = bi_path.parent
    for stale in [*directory.glob(f".{bi_path.name}.*.tmp"), *directory.glob(f".{bi_path.name}.*.tmp.wal"),
                  *directory.glob(f".{exports_dir.name}.*.link")]:
        stale.unlink(missing_ok=True)
    for stale in directory.glob(f".{exports_dir.name}-*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    if exports_dir.is_dir() and not exports_dir.is_symlink():
        for stale in exports_dir.glob(".*.tmp"):  # left by a publish from before exports were versioned
            stale.unlink(missing_ok=True)


def _swap_exports(exports_dir: Path, version: Path, token: str) -> str | None:
    """Point `exports` at `version`; return the name of the version it pointed at before."""
    previous = os.readlink(exports_dir) if exports_dir.is_symlink() else None
    if exports_dir.is_dir() and not exports_dir.is_symlink():
        # A plain directory published before exports were versioned: it becomes the previous version.
        legacy = exports_dir.with_name(f".{exports_dir.name}-{token}-before")
        os.rename(exports_dir, legacy)
        previous = legacy.name
    tmp_link = exports_dir.with_name(f".{exports_dir.name}.{token}.link")
    os.symlink(version.name, tmp_link)
    os.replace(tmp_link, exports_dir)
    _fsync_directory(exports_dir.parent)
    return previous


def _collect_garbage(exports_dir: Path, keep: set[str]) -> None:
    """Older export versions; the previous one stays for a reader still in the middle of it."""
    for old in exports_dir.parent.glob(f".{exports_dir.name}-*"):
        if old.name not in keep and not old.name.endswith(".tmp"):
            shutil.rmtree(old, ignore_errors=True)


def publish(
    warehouse_db: Path, bi_path: Path, exports_dir: Path, run_metadata: dict[str, str],
    keep_previous_exports: bool = True,
) -> Publication:
    """Copy the published marts from the warehouse into a new BI file and Parquet exports, then swap them in.

    `keep_previous_exports=False` removes the previous export version at once (after an erasure request,
    a copy still holding the erased customer must not linger for slow readers).
    """
    bi_path.parent.mkdir(parents=True, exist_ok=True)
    with _publish_lock(bi_path.parent):
        _remove_leftovers(bi_path, exports_dir)
        token = uuid.uuid4().hex[:12]
        tmp_db = bi_path.with_name(f".{bi_path.name}.{token}.tmp")
        version = exports_dir.with_name(f".{exports_dir.name}-{token}")
        building = version.with_name(f"{version.name}.tmp")
        published_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        try:
            building.mkdir()
            row_counts = _write_publication(warehouse_db, tmp_db, building, run_metadata, published_at)
            for export in building.iterdir():
                _fsync_file(export)
            _fsync_directory(building)
        except BaseException:
            for leftover in (tmp_db, tmp_db.with_name(f"{tmp_db.name}.wal")):
                leftover.unlink(missing_ok=True)
            shutil.rmtree(building, ignore_errors=True)
            raise
        os.rename(building, version)
        previous = _swap_exports(exports_dir, version, token)
        _replace_durably(tmp_db, bi_path)
        kept = {version.name} | ({Path(previous).name} if previous and keep_previous_exports else set())
        _collect_garbage(exports_dir, kept)
    return Publication(bi_path, exports_dir, row_counts, published_at)


def _write_publication(
    warehouse_db: Path, db_path: Path, exports: Path, run_metadata: dict[str, str], published_at: datetime
) -> dict[str, int]:
    """The published tables into the new DuckDB file `db_path` and as Parquet into the directory `exports`."""
    import duckdb

    row_counts: dict[str, int] = {}
    con = duckdb.connect(str(db_path))
    try:
        con.execute("set preserve_insertion_order = true")
        con.execute(f"attach '{warehouse_db}' as warehouse (read_only)")
        for table, order_by in PUBLISHED_TABLES.items():
            con.execute(f"create table main.{table} as "
                        f"select * from warehouse.{WAREHOUSE_SCHEMA}.{table} order by {order_by}")
            row_counts[table] = con.execute(f"select count(*) from main.{table}").fetchall()[0][0]
            # zstd's fastest level: a third less time than its default for 2 % more bytes
            con.execute(f"copy (select * from main.{table}) to '{exports / f'{table}.parquet'}' "
                        "(format parquet, compression zstd, compression_level 1)")
        con.execute("create table main.publication (key varchar, value varchar)")
        metadata = {"published_at_utc": published_at.isoformat(), **run_metadata}
        con.executemany("insert into main.publication values (?, ?)", sorted(metadata.items()))
        con.execute("detach warehouse")
        con.execute("checkpoint")
    finally:
        con.close()
    return row_counts
