"""Blocking checks on each raw extract, in front of everything downstream.

- every_row_loaded_or_quarantined: for every landing file, rows read = rows in the raw table + rows in
  quarantine. It recounts from the written Parquet instead of trusting the loader's ledger, so a bug that
  drops rows between the two stages stops the run. An order rolled up from lines counts as its lines
  (`_line_count`), as the quarantine keeps lines.
- no_file_mostly_rejected: a file that loses more than RETENTIO_MAX_REJECTED_PCT % of its
  rows to quarantine is a broken delivery (wrong export settings, a truncated file, another currency);
  publishing metrics without it would silently shrink them, so the run stops until it is fixed or removed.
  The message names the main reason and what to change (for another currency: RETENTIO_CURRENCY).
  Orders without a customer do not count against the share while the file loads some orders: a till
  records most sales anonymously (a café whose loyalty card is shown now and then), and they are no fault
  of the file. They are set aside (quarantined as missing_value on customer_id), and instead:
- no_file_mostly_anonymous (orders; a warning, never blocking): names a file where they are more than
  RETENTIO_MAX_REJECTED_PCT % of the rows, since the metrics then stand on a minority of its sales, and
  a customer column emptied by a wrong export setting looks the same.
"""

from dagster import AssetCheckResult, AssetChecksDefinition, AssetCheckSeverity, MetadataValue, asset_check

from pipelines.ingestion.contracts import EXTRACTS, RejectReason
from pipelines.ingestion.raw_layer import LINE_COUNT_COLUMN, data_glob
from pipelines.ingestion.rejection_advice import ADVICE_BY_REASON
from pipelines.ingestion.row_checks import stated_currency_of_raw_record_sql
from pipelines.settings import Settings
from pipelines.shared import RetentioSettings, raw_asset_key

# Extracts whose rows come without a customer as a matter of course, and must have one to count: sales at
# a till (orders). An anonymous survey answer is read as such (its customer_id is optional).
SOLD_ANONYMOUSLY = [name for name, extract in EXTRACTS.items() if extract.references_customers
                    and any(c.name == "customer_id" and c.required for c in extract.columns)]
# A quarantined row of theirs that is such a sale, over the quarantine's columns.
_ANONYMOUS_ROW_SQL = f"reason = '{RejectReason.MISSING_VALUE.value}' and column_name = 'customer_id'"


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


def _files_with_anonymous_rows_sql(extract_dir, set_aside_anonymous: bool) -> str:
    """The ledger's files with `anonymous_rows`, their rows quarantined for an empty customer_id, and
    `rows_rejected`, the rest of their quarantine, or all of it when nothing of the file loaded."""
    anonymous = (f"""
        select source_file, count(*) as anonymous_rows
        from read_parquet('{extract_dir}/quarantine.parquet')
        where {_ANONYMOUS_ROW_SQL}
        group by all""" if set_aside_anonymous
                 else "select null::varchar as source_file, 0::bigint as anonymous_rows where false")
    return f"""
        select f.*, coalesce(a.anonymous_rows, 0) as anonymous_rows,
               f.rows_quarantined - if(f.rows_loaded > 0, coalesce(a.anonymous_rows, 0), 0) as rows_rejected
        from read_parquet('{extract_dir}/files.parquet') as f
        left join ({anonymous}) as a using (source_file)"""


def mostly_rejected_files(extract_dir, max_rejected_pct: float,
                          set_aside_anonymous: bool = False) -> list[dict]:
    """Files losing more than the share allowed, each with its main reason (and for currency_mismatch,
    the currency the rows are in). With `set_aside_anonymous` (orders), rows without a customer do not count
    while the file loads some: `rows_rejected` is the rest, `anonymous_rows` those."""
    import duckdb

    con = duckdb.connect()
    try:
        return _rows(con, f"""
            with broken as (
                select source_file, rows_read, rows_quarantined, rows_rejected, anonymous_rows,
                       round(100.0 * rows_rejected / rows_read, 1) as rejected_pct
                from ({_files_with_anonymous_rows_sql(extract_dir, set_aside_anonymous)})
                where rows_read > 0 and 100.0 * rows_rejected / rows_read > {float(max_rejected_pct)}
            ),
            reasons as (  -- among the rows that count: orders without a customer set aside do not
                select q.source_file, q.reason, count(*) as n,
                       mode({stated_currency_of_raw_record_sql()}) as currency_found
                from read_parquet('{extract_dir}/quarantine.parquet') as q
                join broken as b using (source_file)
                where not (b.rows_rejected < b.rows_quarantined and {_ANONYMOUS_ROW_SQL})
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
    said = (f"{broken['source_file']}: {broken['rows_rejected']:,} of {broken['rows_read']:,} rows rejected "
            f"({broken['rejected_pct']} % > {limit:g} %)")
    if broken["rows_rejected"] < broken["rows_quarantined"]:
        said += f" besides {broken['anonymous_rows']:,} orders without a customer"
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
        broken = mostly_rejected_files(settings.raw_dir / extract_name, limit,
                                       set_aside_anonymous=extract_name in SOLD_ANONYMOUSLY)
        currency = reporting_currency(settings) if broken else ""
        return AssetCheckResult(
            passed=not broken,
            severity=AssetCheckSeverity.ERROR,
            metadata={"max_rejected_pct": limit, "broken_files": MetadataValue.json(broken)},
            description=None if not broken else "; ".join(
                broken_file_message(b, extract_name, limit, currency) for b in broken),
        )

    return _check


def mostly_anonymous_files(extract_dir, max_anonymous_pct: float) -> list[dict]:
    """Files that load some orders and whose orders without a customer are more than the share."""
    import duckdb

    con = duckdb.connect()
    try:
        return _rows(con, f"""
            select source_file, rows_read, anonymous_rows,
                   round(100.0 * anonymous_rows / rows_read, 1) as anonymous_pct
            from ({_files_with_anonymous_rows_sql(extract_dir, set_aside_anonymous=True)})
            where rows_loaded > 0 and 100.0 * anonymous_rows / rows_read > {float(max_anonymous_pct)}
            order by source_file""")
    finally:
        con.close()


def _mostly_anonymous_message(file: dict, limit: float) -> str:
    return (f"{file['source_file']}: {file['anonymous_rows']:,} of {file['rows_read']:,} rows "
            f"({file['anonymous_pct']} % > {limit:g} %) are orders without a customer, set aside "
            "(quarantined as missing_value): they are in no customer metric and in no revenue figure. "
            "Expected for a till's anonymous sales; if every order should name its customer, check the "
            "export's customer column")


def _build_anonymous_share_check(extract_name: str) -> AssetChecksDefinition:
    @asset_check(
        asset=raw_asset_key(extract_name),
        name="no_file_mostly_anonymous",
        blocking=False,
        description="Warns when more than RETENTIO_MAX_REJECTED_PCT % of a file's rows are orders without "
                    "a customer (set aside: a till's anonymous sales, or a customer column emptied by the "
                    "export).",
    )
    def _check(retentio_settings: RetentioSettings) -> AssetCheckResult:
        settings = retentio_settings.get()
        limit = settings.max_rejected_pct
        anonymous = mostly_anonymous_files(settings.raw_dir / extract_name, limit)
        return AssetCheckResult(
            passed=not anonymous,
            severity=AssetCheckSeverity.WARN,
            metadata={"max_anonymous_pct": limit, "files": MetadataValue.json(anonymous)},
            description=None if not anonymous else "; ".join(
                _mostly_anonymous_message(file, limit) for file in anonymous),
        )

    return _check


row_accounting_checks = [_build_row_accounting_check(name) for name in EXTRACTS]
rejection_share_checks = [_build_rejection_share_check(name) for name in EXTRACTS]
anonymous_share_checks = [_build_anonymous_share_check(name) for name in SOLD_ANONYMOUSLY]
