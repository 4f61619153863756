"""Blocking checks on each raw extract, in front of everything downstream.

- every_row_loaded_or_quarantined: for every landing file, rows read = rows in the raw table + rows in
  quarantine. It recounts from the written Parquet instead of trusting the loader's ledger, so a bug that
  drops rows between the two stages stops the run. An order rolled up from lines counts as its lines
  (`_line_count`), as the quarantine keeps lines.
- no_file_mostly_rejected: a file that loses more than RETENTIO_MAX_REJECTED_PCT % of its
  rows to quarantine is a broken delivery (wrong export settings, a truncated file, another currency);
  publishing metrics without it would silently shrink them, so the run stops until it is fixed or removed.
  The message names the main reason and what to change (for another currency: RETENTIO_CURRENCY).
"""

from dagster import AssetCheckResult, AssetChecksDefinition, AssetCheckSeverity, MetadataValue, asset_check

from pipelines.ingestion.contracts import EXTRACTS, RejectReason
from pipelines.ingestion.raw_layer import LINE_COUNT_COLUMN, data_glob
from pipelines.ingestion.rejection_advice import ADVICE_BY_REASON
from pipelines.ingestion.row_checks import stated_currency_of_raw_record_sql
from pipelines.settings import Settings
from pipelines.shared import RetentioSettings, raw_asset_key


def _rows(con, sql: str) -> list[dict]:
    result = con.execute(sql)
    columns = [d[0] for d in result.description]
    return [dict(zip(columns, row)) for row in result.fetchall()]


def count_mismatches(extract_dir) -> list[dict]:
    """Files whose read count differs from the rows found in data + quarantine (empty when all add up)."""
    import duckdb

    con = duckdb.connect()
    try:
        data = f"read_parquet('{data_glob(extract_dir)}')"
        has_line_counts = LINE_COUNT_COLUMN in [row[0] for row in con.execute(f"describe select * from {data}").fetchall()]
        return _rows(con, f"""
            with loaded as (
                select _source_file as source_file, {f"sum({LINE_COUNT_COLUMN})" if has_line_counts else "count(*)"} as n
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
    """Files losing more than the share allowed, each with its main reason (and for currency_mismatch,
    the currency the rows are in)."""
    import duckdb

    con = duckdb.connect()
    try:
        return _rows(con, f"""
            with broken as (
                select source_file, rows_read, rows_quarantined,
                       round(100.0 * rows_quarantined / rows_read, 1) as rejected_pct
                from read_parquet('{extract_dir}/files.parquet')
                where rows_read > 0 and 100.0 * rows_quarantined / rows_read > {float(max_rejected_pct)}
            ),
            reasons as (
                select source_file, reason, count(*) as n,
                       mode({stated_currency_of_raw_record_sql()}) as currency_found
                from read_parquet('{extract_dir}/quarantine.parquet')
                where source_file in (select source_file from broken)
                group by all
            )
            select b.*, r.reason as main_reason, r.n as main_reason_rows, r.currency_found
            from broken as b
            left join (select * from reasons qualify row_number() over (
                           partition by source_file order by n desc, reason) = 1) as r using (source_file)
            order by source_file
        """)
    finally:
        con.close()


def broken_file_message(broken: dict, extract_name: str, limit: float, currency: str) -> str:
    """What a person reads when a file stops the run: the file, how much, why, and what to change."""
    said = (f"{broken['source_file']}: {broken['rows_quarantined']:,} of {broken['rows_read']:,} rows rejected "
            f"({broken['rejected_pct']} % > {limit:g} %)")
    reason = broken.get("main_reason")
    if reason is None:
        return f"{said}, see the {extract_name} quarantine"
    said += f", mostly {reason} ({broken['main_reason_rows']:,} rows)"
    if reason == RejectReason.CURRENCY_MISMATCH.value and broken.get("currency_found"):
        found = broken["currency_found"]
        return (f"{said}: its amounts are in {found}, the reporting currency is {currency}; if {found} is "
                f"your reporting currency, set RETENTIO_CURRENCY={found} (else convert the file upstream)")
    advice = ADVICE_BY_REASON.get(reason)
    return f"{said}: {advice}" if advice else f"{said}, see the {extract_name} quarantine"


def _build_row_accounting_check(extract_name: str) -> AssetChecksDefinition:
    @asset_check(
        asset=raw_asset_key(extract_name),
        name="every_row_loaded_or_quarantined",
        blocking=True,
        description="For every landing file: rows read = rows in the raw table + rows in quarantine.",
    )
    def _check(retentio_settings: RetentioSettings) -> AssetCheckResult:
        mismatches = count_mismatches(retentio_settings.get().raw_dir / extract_name)
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
        description="No landing file loses more than RETENTIO_MAX_REJECTED_PCT % "
                    f"(default {Settings.max_rejected_pct:g}) of its rows.",
    )
    def _check(retentio_settings: RetentioSettings) -> AssetCheckResult:
        from pipelines.ingestion.currency import reporting_currency

        settings = retentio_settings.get()
        limit = settings.max_rejected_pct
        broken = mostly_rejected_files(settings.raw_dir / extract_name, limit)
        currency = reporting_currency(settings) if broken else ""
        return AssetCheckResult(
            passed=not broken,
            severity=AssetCheckSeverity.ERROR,
            metadata={"max_rejected_pct": limit, "broken_files": MetadataValue.json(broken)},
            description=None if not broken else "; ".join(
                broken_file_message(b, extract_name, limit, currency) for b in broken),
        )

    return _check


row_accounting_checks = [_build_row_accounting_check(name) for name in EXTRACTS]
rejection_share_checks = [_build_rejection_share_check(name) for name in EXTRACTS]
