"""Blocking checks on each raw extract, in front of everything downstream.

- every_row_loaded_or_quarantined: for every landing file, rows read = rows in the raw table + rows in
  quarantine. It recounts from the written Parquet instead of trusting the loader's ledger, so a bug that
  drops rows between the two stages stops the run.
- no_file_mostly_rejected: a file that loses more than RETENTIO_MAX_REJECTED_PCT (default 50) % of its
  rows to quarantine is a broken delivery (wrong export settings, a truncated file); publishing metrics
  without it would silently shrink them, so the run stops until it is fixed or removed.
"""

import os

from dagster import AssetCheckResult, AssetChecksDefinition, AssetCheckSeverity, MetadataValue, asset_check

from pipelines.ingestion.assets import raw_asset_key
from pipelines.ingestion.contracts import EXTRACTS
from pipelines.ingestion.raw_layer import data_glob
from pipelines.settings import Settings

DEFAULT_MAX_REJECTED_PCT = 50.0


def _rows(con, sql: str) -> list[dict]:
    result = con.execute(sql)
    columns = [d[0] for d in result.description]
    return [dict(zip(columns, row)) for row in result.fetchall()]


def count_mismatches(extract_dir) -> list[dict]:
    """Files whose read count differs from the rows found in data + quarantine (empty when all add up)."""
    import duckdb

    con = duckdb.connect()
    try:
        return _rows(con, f"""
            with loaded as (
                select _source_file as source_file, count(*) as n
                from read_parquet('{data_glob(extract_dir)}') group by all
            ),
            quarantined as (
                select source_file, count(*) as n
                from read_parquet('{extract_dir}/quarantine.parquet') group by all
            )
            select f.source_file, f.status, f.rows_read,
                   coalesce(l.n, 0) as rows_in_raw_table, coalesce(q.n, 0) as rows_in_quarantine
            from read_parquet('{extract_dir}/files.parquet') as f
            left join loaded as l using (source_file)
            left join quarantined as q using (source_file)
            where f.rows_read <> coalesce(l.n, 0) + coalesce(q.n, 0)
               or f.rows_loaded <> coalesce(l.n, 0)
               or f.rows_quarantined <> coalesce(q.n, 0)
            order by f.source_file
        """)
    finally:
        con.close()


def mostly_rejected_files(extract_dir, max_rejected_pct: float) -> list[dict]:
    import duckdb

    con = duckdb.connect()
    try:
        return _rows(con, f"""
            select source_file, rows_read, rows_quarantined,
                   round(100.0 * rows_quarantined / rows_read, 1) as rejected_pct
            from read_parquet('{extract_dir}/files.parquet')
            where rows_read > 0 and 100.0 * rows_quarantined / rows_read > {float(max_rejected_pct)}
            order by source_file
        """)
    finally:
        con.close()


def max_rejected_pct() -> float:
    return float(os.environ.get("RETENTIO_MAX_REJECTED_PCT") or DEFAULT_MAX_REJECTED_PCT)


def _build_row_accounting_check(extract_name: str) -> AssetChecksDefinition:
    @asset_check(
        asset=raw_asset_key(extract_name),
        name="every_row_loaded_or_quarantined",
        blocking=True,
        description="For every landing file: rows read = rows in the raw table + rows in quarantine.",
    )
    def _check() -> AssetCheckResult:
        mismatches = count_mismatches(Settings.from_env().raw_dir / extract_name)
        return AssetCheckResult(
            passed=not mismatches,
            severity=AssetCheckSeverity.ERROR,
            metadata={"files_not_adding_up": MetadataValue.json(mismatches)},
            description=None if not mismatches else
            f"{len(mismatches)} file(s) lost or gained rows: " + ", ".join(m["source_file"] for m in mismatches),
        )

    return _check


def _build_rejection_share_check(extract_name: str) -> AssetChecksDefinition:
    @asset_check(
        asset=raw_asset_key(extract_name),
        name="no_file_mostly_rejected",
        blocking=True,
        description="No landing file loses more than RETENTIO_MAX_REJECTED_PCT % (default 50) of its rows.",
    )
    def _check() -> AssetCheckResult:
        limit = max_rejected_pct()
        broken = mostly_rejected_files(Settings.from_env().raw_dir / extract_name, limit)
        return AssetCheckResult(
            passed=not broken,
            severity=AssetCheckSeverity.ERROR,
            metadata={"max_rejected_pct": limit, "broken_files": MetadataValue.json(broken)},
            description=None if not broken else "; ".join(
                f"{b['source_file']}: {b['rows_quarantined']} of {b['rows_read']} rows rejected "
                f"({b['rejected_pct']} % > {limit} %), see the {extract_name} quarantine" for b in broken),
        )

    return _check


row_accounting_checks = [_build_row_accounting_check(name) for name in EXTRACTS]
rejection_share_checks = [_build_rejection_share_check(name) for name in EXTRACTS]
