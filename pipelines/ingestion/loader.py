"""Load every file of one extract into the raw layer, losing nothing.

Two stages:
1. Parse, once per distinct file content (cached by checksum): type every value and reject rows that are
   wrong on their own (readers.py, row_checks.py).
2. Reconcile across all files of the extract, in file-name then row order: the first row with a key
   wins, later ones are quarantined; orders and survey answers of unknown customers are quarantined
   (and loaded by a later run once a customer extract holds the customer).

The result is an immutable version directory, swapped in by renaming a symlink:
    raw/<extract>            -> .versions/<extract>-<token>/
        data.parquet         accepted rows, typed, with lineage (_source_file, _source_row, _loaded_at)
        quarantine.parquet   rejected rows with file, row, column, reason, detail and raw values
        files.parquet        one row per file: checksum, dialect, rows read / loaded / quarantined
The token is a hash of everything the version depends on, so a run with unchanged inputs reuses it.

Everything is built in a dot-named `.tmp` directory and renamed into place, so a run killed half-way
leaves only such directories behind: nothing reads them, and the next ingestion of the extract removes
them (it holds a lock per extract, so they cannot belong to a run still going).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import itertools
import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ingestion.contracts import EXTRACTS, ColumnType, Extract, RejectReason
from pipelines.ingestion.errors import ExtractFileError
from pipelines.ingestion.readers import (
    NeedsSlowPath,
    OpenedFile,
    batch_schema,
    open_extract_file,
    read_batches,
)
from pipelines.ingestion.row_checks import ParseRules, detect_date_format_sql, typed_rows_sql
from pipelines.ingestion.source_config import SourceConfig, load_source_config
from pipelines.privacy.erasure import (
    ErasureRequests,
    anonymised_rows_sql,
    applied_state,
    read_erasure_requests,
    record_state,
)

# Bump when parsing or checking changes meaning, so cached parses are redone.
PARSER_VERSION = "2"
SUPPORTED_SUFFIXES = (".csv", ".parquet", ".txt", ".tsv")

FILE_LEDGER_SCHEMA = pa.schema([
    ("extract", pa.string()), ("source_file", pa.string()), ("checksum", pa.string()),
    ("size_bytes", pa.int64()), ("file_format", pa.string()), ("dialect", pa.string()),
    ("status", pa.string()), ("duplicate_of", pa.string()), ("unknown_columns", pa.string()),
    ("rows_read", pa.int64()), ("rows_loaded", pa.int64()), ("rows_quarantined", pa.int64()),
    ("loaded_at", pa.timestamp("us")),
])

_SQL_TYPES = {
    ColumnType.TEXT: "varchar", ColumnType.CURRENCY: "varchar", ColumnType.DATE: "date",
    ColumnType.TIMESTAMP: "timestamp", ColumnType.DECIMAL: "decimal(18, 2)", ColumnType.INTEGER: "integer",
    ColumnType.BOOLEAN: "boolean",
}


@dataclass
class FileOutcome:
    source_file: str
    checksum: str
    size_bytes: int
    file_format: str
    dialect: dict
    status: str                      # loaded | duplicate_file | incomplete_delivery (skipped, next run loads it)
    parsed_path: Path | None
    rows_read: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    loaded_at: datetime | None = None
    duplicate_of: str | None = None


@dataclass
class IngestionResult:
    extract: str
    version_dir: Path
    files: list[dict]
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    quarantined_by_reason: dict[str, int]
    warnings: list[str]
    reused: bool

    @property
    def data_path(self) -> Path:
        return self.version_dir / "data.parquet"


def discover_files(landing_dir: Path, extract: Extract) -> list[Path]:
    """Files of one extract, in the order that decides which duplicate wins: by name."""
    if not landing_dir.is_dir():
        return []
    found = [
        p for p in landing_dir.iterdir()
        if p.is_file() and p.name.lower().startswith(extract.file_prefix)
        and p.suffix.lower() in SUPPORTED_SUFFIXES and not p.name.startswith(".")
    ]
    return sorted(found, key=lambda p: p.name)


def _connect(memory_limit: str | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    if memory_limit:
        con.execute(f"set memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"set threads = {int(threads)}")
    return con


def _parse_signature(extract: Extract, opened: OpenedFile, rules: ParseRules, erasures: ErasureRequests) -> str:
    payload = json.dumps({"v": PARSER_VERSION, "extract": extract.name, "dialect": opened.describe_dialect(),
                          "mapping": opened.mapping.positions, "currency": rules.currency,
                          "erasures": erasures.fingerprint if "customer_id" in extract.column_names else ""},
                         sort_keys=True)
    return hashlib.blake2b(payload.encode(), digest_size=8).hexdigest()


def _parse_file(
    opened: OpenedFile, rules: ParseRules, target: Path, loaded_at: datetime, erasures: ErasureRequests
) -> dict:
    """Stage 1 for one file: write every record, typed and checked, into the directory `target`.

    `rows.parquet` holds every record the reader could split into fields (accepted or rejected by a
    row check); `malformed.parquet` the records it could not. Returns the file's metadata.
    """
    building = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    building.mkdir(parents=True)
    try:
        meta = _parse_into(opened, rules, building, loaded_at, erasures)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    shutil.rmtree(target, ignore_errors=True)
    os.rename(building, target)
    return meta


def _erasing(con: duckdb.DuckDBPyConnection, extract: Extract, erasures: ErasureRequests, sql: str) -> str:
    """`sql` with erased customers anonymised (pipelines/privacy/erasure.py), when there are any."""
    if not erasures or "customer_id" not in extract.column_names:
        return sql
    con.register("erased_customers", pa.table({"customer_id": list(erasures.tokens),
                                               "token": list(erasures.tokens.values())}))
    return anonymised_rows_sql(extract.name, sql, "erased_customers")


def _parse_into(
    opened: OpenedFile, rules: ParseRules, building: Path, loaded_at: datetime, erasures: ErasureRequests
) -> dict:
    extract = opened.extract
    con = _connect()
    try:
        for slow in (False, True):
            state = {"needs_slow_path": False}
            try:
                batches = _watch_for_slow_path(read_batches(opened, slow=slow), state)
                first = next(batches, None)
                if first is not None:
                    rules = _with_likely_date_formats(con, first, extract, rules)
                stream = pa.RecordBatchReader.from_batches(
                    batch_schema(extract), itertools.chain([first] if first is not None else [], batches))
                con.register("batch", stream)
                typed = _erasing(con, extract, erasures, typed_rows_sql(extract, rules))
                con.execute(f"copy ({typed}) to '{building / 'rows.parquet'}' "
                            "(format parquet, compression zstd)")
                con.unregister("batch")
                break
            except (NeedsSlowPath, duckdb.Error):
                if not state["needs_slow_path"]:
                    raise
                (building / "rows.parquet").unlink(missing_ok=True)
        if opened.malformed:
            _write_malformed(con, extract, opened.malformed, building / "malformed.parquet", erasures)
    finally:
        con.close()
    meta = {"rows_read": opened.rows_read, "dialect": opened.describe_dialect(),
            "unknown_columns": opened.mapping.unknown_columns, "loaded_at": loaded_at.isoformat()}
    (building / "meta.json").write_text(json.dumps(meta))
    return meta


def _watch_for_slow_path(batches, state: dict):
    """Remember that the fast reader gave up, since DuckDB reports it only as a generic scan error."""
    try:
        yield from batches
    except NeedsSlowPath:
        state["needs_slow_path"] = True
        raise


def _write_malformed(
    con: duckdb.DuckDBPyConnection, extract: Extract, malformed, path: Path, erasures: ErasureRequests
) -> None:
    rows = pa.Table.from_pylist([
        {"_source_row": m.source_row, "_reject_reason": m.reason.value, "_reject_column": m.column,
         "_reject_detail": m.detail,
         "_raw_record": json.dumps({"_raw_text": m.raw_text}, ensure_ascii=False)}
        for m in malformed
    ])
    con.register("malformed_rows", rows)
    typed = ", ".join(f"cast(null as {_SQL_TYPES[c.type]}) as {c.name}" for c in extract.columns)
    rows_sql = f"""
        select cast(_source_row as bigint) as _source_row, {typed},
               cast(_reject_reason as varchar) as _reject_reason,
               cast(_reject_column as varchar) as _reject_column,
               cast(_reject_detail as varchar) as _reject_detail,
               cast(_raw_record as varchar) as _raw_record
        from malformed_rows"""
    con.execute(f"copy ({_erasing(con, extract, erasures, rows_sql)}) to '{path}' (format parquet, compression zstd)")
    con.unregister("malformed_rows")


def _with_likely_date_formats(
    con: duckdb.DuckDBPyConnection, batch: pa.RecordBatch, extract: Extract, rules: ParseRules
) -> ParseRules:
    """Find, on the file's first rows, the layout most of each date column's values have."""
    formats = []
    con.register("sample_batch", batch.slice(0, 2000))
    for column in extract.columns:
        if column.type not in (ColumnType.DATE, ColumnType.TIMESTAMP):
            continue
        value = f"nullif(trim({column.name}), '')"
        result = con.execute(f"select {detect_date_format_sql(value, rules.date_order)} from sample_batch")
        counts = dict(zip([d[0] for d in result.description], result.fetchall()[0]))
        best = max(counts, key=lambda f: counts[f])  # the first of equals wins: 'cast' is listed first
        if counts[best]:
            formats.append((column.name, best))
    con.unregister("sample_batch")
    return dataclasses.replace(rules, date_formats=tuple(formats))


def parse_files(
    extract: Extract, landing_dir: Path, cache_dir: Path, config: SourceConfig, currency: str,
    now: datetime | None = None, erasures: ErasureRequests | None = None,
) -> tuple[list[FileOutcome], list[str]]:
    """Stage 1 for every file of the extract; a file whose content was parsed before is not read again."""
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    erasures = erasures or ErasureRequests()
    outcomes: list[FileOutcome] = []
    warnings: list[str] = []
    seen_checksums: dict[str, str] = {}
    cache = cache_dir / extract.name
    cache.mkdir(parents=True, exist_ok=True)
    for path in discover_files(landing_dir, extract):
        try:
            stat = path.stat()
        except FileNotFoundError:
            warnings.append(f"{path.name} disappeared before it could be read: skipped")
            continue
        options = config.options_for(extract.name, path.name)
        try:
            opened = open_extract_file(path, extract, options, stat.st_size)
        except (ExtractFileError, OSError):
            # A half-written file can look broken (a Parquet file without its footer yet): blame the
            # file only if it is not changing under us.
            if _changed_since(path, stat):
                file_format = "parquet" if path.suffix.lower() == ".parquet" else "csv"
                outcomes.append(_still_being_written(path, stat, file_format, "", warnings))
                continue
            raise
        if opened.checksum in seen_checksums:
            outcomes.append(FileOutcome(path.name, opened.checksum, stat.st_size, opened.file_format,
                                        opened.describe_dialect(), "duplicate_file", None,
                                        duplicate_of=seen_checksums[opened.checksum]))
            warnings.append(f"{path.name} has the same content as {seen_checksums[opened.checksum]}: not loaded twice")
            continue
        decimal = opened.dialect.decimal if opened.dialect else "."
        date_order = opened.dialect.date_order if opened.dialect else options.date_order
        rules = ParseRules(decimal=decimal, date_order=date_order, load_date=now.date(), currency=currency)
        target = cache / f"{opened.checksum}-{_parse_signature(extract, opened, rules, erasures)}"
        meta_path = target / "meta.json"
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
        else:
            try:
                meta = _parse_file(opened, rules, target, now, erasures)
            except (ExtractFileError, OSError):
                if _changed_since(path, stat):
                    outcomes.append(
                        _still_being_written(path, stat, opened.file_format, opened.checksum, warnings))
                    continue
                raise
            # The checksum and the parse cover the size seen at the start: a file still growing would
            # be loaded cut short, so it waits for the next run.
            if _changed_since(path, stat):
                shutil.rmtree(target, ignore_errors=True)
                outcomes.append(_still_being_written(path, stat, opened.file_format, opened.checksum, warnings))
                continue
        seen_checksums[opened.checksum] = path.name
        if meta["unknown_columns"]:
            warnings.append(f"{path.name}: unknown columns ignored: {', '.join(meta['unknown_columns'])}")
        if meta["rows_read"] == 0:
            warnings.append(f"{path.name}: no data rows, only a header")
        outcomes.append(FileOutcome(
            path.name, opened.checksum, stat.st_size, opened.file_format, meta["dialect"], "loaded", target,
            rows_read=meta["rows_read"], unknown_columns=meta["unknown_columns"],
            loaded_at=datetime.fromisoformat(meta["loaded_at"]),
        ))
    return outcomes, warnings


def _still_being_written(
    path: Path, stat: os.stat_result, file_format: str, checksum: str, warnings: list[str]
) -> FileOutcome:
    warnings.append(f"{path.name} changed while it was being read (still being written?): "
                    "skipped, it will be loaded by the next run")
    return FileOutcome(path.name, checksum, stat.st_size, file_format, {}, "incomplete_delivery", None)


def _changed_since(path: Path, before: os.stat_result) -> bool:
    try:
        after = path.stat()
    except FileNotFoundError:
        return True
    return (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns)


def _version_token(extract: Extract, outcomes: list[FileOutcome], upstream: str | None) -> str:
    payload = json.dumps({"v": PARSER_VERSION, "extract": extract.name, "upstream": upstream,
                          "files": [(o.source_file, o.checksum, o.status, str(o.parsed_path.name if o.parsed_path else ""))
                                    for o in outcomes]})
    return hashlib.blake2b(payload.encode(), digest_size=8).hexdigest()


def _parsed_view(con: duckdb.DuckDBPyConnection, extract: Extract, outcomes: list[FileOutcome]) -> None:
    """`parsed`: every record of every loaded file, with its file's order, name and load time."""
    parts = []
    for order, outcome in enumerate(o for o in outcomes if o.status == "loaded"):
        for part in sorted(outcome.parsed_path.glob("*.parquet")):
            parts.append((str(part), order, outcome.source_file, outcome.loaded_at))
    if not parts:
        typed = ", ".join(f"cast(null as {_SQL_TYPES[c.type]}) as {c.name}" for c in extract.columns)
        con.execute(f"""
            create or replace temp view parsed as
            select cast(null as bigint) as _source_row, {typed}, cast(null as varchar) as _reject_reason,
              cast(null as varchar) as _reject_column, cast(null as varchar) as _reject_detail,
              cast(null as varchar) as _raw_record, cast(null as integer) as _file_order,
              cast(null as varchar) as _source_file, cast(null as timestamp) as _loaded_at
            where false
        """)
        return
    # One scan per file with its order, name and load time as constants: a union of scans keeps the rows
    # in file then row order, so the accepted rows can be written without sorting ten million of them.
    scans = []
    for part, order, source_file, loaded_at in parts:
        scans.append(
            f"select *, {order} as _file_order, '{source_file.replace(chr(39), chr(39) * 2)}' as _source_file, "
            f"cast('{loaded_at.isoformat(sep=' ')}' as timestamp) as _loaded_at "
            f"from read_parquet('{part.replace(chr(39), chr(39) * 2)}')")
    con.execute("create or replace temp view parsed as\n" + "\nunion all by name\n".join(scans))


def reconcile(
    con: duckdb.DuckDBPyConnection, extract: Extract, outcomes: list[FileOutcome], target_dir: Path,
    customers_data: Path | None,
) -> None:
    """Stage 2: the first row with a key wins; later duplicates and unknown customers go to quarantine."""
    _parsed_view(con, extract, outcomes)
    columns = extract.column_names
    key = ", ".join(extract.key)
    over_key = f"partition by {key} order by _file_order, _source_row"
    row_hash = f"hash({', '.join(columns)})"
    # Only the few rows whose key repeats pay for the window; the rest are never sorted.
    con.execute(f"""
        create or replace temp table cross_row_rejects as
        with valid as (
            select * from parsed where _reject_reason is null
        ),
        repeated as (
            select * from valid
            where ({key}) in (select ({key}) from valid group by all having count(*) > 1)
        ),
        ranked as (
            select _file_order, _source_row,
                row_number() over ({over_key}) as key_rank,
                {row_hash} as row_hash,
                first_value({row_hash}) over ({over_key}) as first_hash,
                first_value(_source_file) over ({over_key}) as first_file,
                first_value(_source_row) over ({over_key}) as first_row
            from repeated
        )
        select _file_order, _source_row,
            case when row_hash = first_hash then '{RejectReason.DUPLICATE_ROW.value}'
                 else '{RejectReason.DUPLICATE_KEY.value}' end as reason,
            '{" + ".join(extract.key)}' as column_name,
            'same key as row ' || first_row || ' of ' || first_file
              || case when row_hash = first_hash then ' (identical values)'
                      else ' (different values; the first is kept)' end as detail
        from ranked where key_rank > 1
    """)
    if extract.references_customers:
        customers_path = str(customers_data).replace("'", "''")
        con.execute(f"""
            insert into cross_row_rejects
            select _file_order, _source_row, '{RejectReason.UNKNOWN_CUSTOMER.value}', 'customer_id',
                   'customer ' || customer_id || ' is in no customer extract (yet)'
            from parsed as v
            where _reject_reason is null
              and not exists (select 1 from read_parquet('{customers_path}') as c where c.customer_id = v.customer_id)
              and not exists (select 1 from cross_row_rejects as d
                              where d._file_order = v._file_order and d._source_row = v._source_row)
        """)
    has_cross_row_rejects = con.execute("select count(*) from cross_row_rejects").fetchall()[0][0] > 0
    # Without rejects to take out, the scan is already in file and row order: no anti-join, no sort.
    kept = ("""and not exists (select 1 from cross_row_rejects as d
                               where d._file_order = v._file_order and d._source_row = v._source_row)
            order by _file_order, _source_row""" if has_cross_row_rejects else "")
    con.execute(f"""
        copy (
            select {", ".join(columns)}, _source_file, _source_row, _loaded_at
            from parsed as v
            where _reject_reason is null {kept}
        ) to '{target_dir / "data.parquet"}' (format parquet, compression zstd)
    """)
    raw_json = ("cast(to_json(struct_pack(" + ", ".join(f"{c} := cast(v.{c} as varchar)" for c in columns)
                + ")) as varchar)")
    con.execute(f"""
        copy (
            select '{extract.name}' as extract, source_file, source_row, column_name, reason, detail,
                   raw_record, loaded_at
            from (
                select _file_order, _source_file as source_file, _source_row as source_row,
                       _reject_column as column_name, _reject_reason as reason, _reject_detail as detail,
                       _raw_record as raw_record, _loaded_at as loaded_at
                from parsed where _reject_reason is not null
                union all
                select v._file_order, v._source_file, v._source_row, d.column_name, d.reason, d.detail,
                       {raw_json}, v._loaded_at
                from cross_row_rejects as d
                join parsed as v on v._file_order = d._file_order and v._source_row = d._source_row
                where v._reject_reason is null
            )
            order by _file_order, source_row
        ) to '{target_dir / "quarantine.parquet"}' (format parquet, compression zstd)
    """)
    per_file = {
        f: (accepted, rejected)
        for f, accepted, rejected in con.execute("""
            select _source_file, count(*) filter (where _reject_reason is null),
                   count(*) filter (where _reject_reason is not null)
            from parsed group by all
        """).fetchall()
    }
    cross_rejects = dict(con.execute("""
        select v._source_file, count(*) from cross_row_rejects as d
        join parsed as v on v._file_order = d._file_order and v._source_row = d._source_row
        where v._reject_reason is null group by all
    """).fetchall())
    rows = []
    for o in outcomes:
        accepted, rejected = per_file.get(o.source_file, (0, 0)) if o.status == "loaded" else (0, 0)
        later_rejected = cross_rejects.get(o.source_file, 0) if o.status == "loaded" else 0
        rows.append({
            "extract": extract.name, "source_file": o.source_file, "checksum": o.checksum,
            "size_bytes": o.size_bytes, "file_format": o.file_format, "dialect": json.dumps(o.dialect),
            "status": o.status, "duplicate_of": o.duplicate_of,
            "unknown_columns": ", ".join(o.unknown_columns) or None, "rows_read": o.rows_read,
            "rows_loaded": accepted - later_rejected, "rows_quarantined": rejected + later_rejected,
            "loaded_at": o.loaded_at,
        })
    pq.write_table(pa.Table.from_pylist(rows, schema=FILE_LEDGER_SCHEMA), target_dir / "files.parquet")


def _swap_symlink(link: Path, target_name: str) -> None:
    tmp_link = link.with_name(f".{link.name}.{uuid.uuid4().hex}.link")
    os.symlink(target_name, tmp_link)
    os.replace(tmp_link, link)


@contextlib.contextmanager
def _extract_lock(raw_dir: Path, extract: Extract):
    """One ingestion of an extract at a time, so whatever `.tmp` it finds was left by a run that died."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    with open(raw_dir / f".{extract.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _remove_leftovers(raw_dir: Path, cache_dir: Path, extract: Extract) -> None:
    """What a killed run of this extract left half-built: parses, versions and symlinks never swapped in."""
    half_built = [*(cache_dir / extract.name).glob(".*.tmp"), *(raw_dir / ".versions").glob(f".{extract.name}-*.tmp")]
    for stale in half_built:
        shutil.rmtree(stale, ignore_errors=True)
    for stale_link in raw_dir.glob(f".{extract.name}.*.link"):
        stale_link.unlink(missing_ok=True)


def _collect_garbage(versions_dir: Path, extract: Extract, keep: set[str]) -> None:
    for old in versions_dir.glob(f"{extract.name}-*"):
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def _collect_cache_garbage(cache_dir: Path, extract: Extract, outcomes: list[FileOutcome]) -> None:
    """Parses of file contents no longer in the landing directory are never read again."""
    used = {o.parsed_path.name for o in outcomes if o.parsed_path is not None}
    for old in (cache_dir / extract.name).iterdir():
        if not old.name.startswith(".") and old.name not in used:
            shutil.rmtree(old, ignore_errors=True)


def ingest_extract(
    extract_name: str,
    landing_dir: Path,
    raw_dir: Path,
    cache_dir: Path,
    currency: str = "EUR",
    customers_data: Path | None = None,
    now: datetime | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> IngestionResult:
    """Parse, reconcile and publish one extract into `raw_dir/<extract>`."""
    extract = EXTRACTS[extract_name]
    if extract.references_customers and customers_data is None:
        raise ValueError(f"{extract_name} refers to customers: pass the loaded customers' data.parquet")
    config = load_source_config(landing_dir)
    with _extract_lock(raw_dir, extract):
        _remove_leftovers(raw_dir, cache_dir, extract)
        return _ingest_locked(extract, landing_dir, raw_dir, cache_dir, config, currency, customers_data, now,
                              memory_limit, threads)


def _ingest_locked(
    extract: Extract, landing_dir: Path, raw_dir: Path, cache_dir: Path, config: SourceConfig, currency: str,
    customers_data: Path | None, now: datetime | None, memory_limit: str | None, threads: int | None,
) -> IngestionResult:
    extract_name = extract.name
    erasures = read_erasure_requests(landing_dir)
    outcomes, warnings = parse_files(extract, landing_dir, cache_dir, config, currency, now, erasures)
    if not discover_files(landing_dir, extract):
        warnings.append(f"no {extract.file_prefix}*.csv or *.parquet file in {landing_dir}")
    upstream = customers_data.resolve().parent.name if customers_data is not None else None
    token = _version_token(extract, outcomes, upstream)
    versions_dir = raw_dir / ".versions"
    versions_dir.mkdir(parents=True, exist_ok=True)
    version_name = f"{extract.name}-{token}"
    version_dir = versions_dir / version_name
    link = raw_dir / extract.name
    reused = (version_dir / "_SUCCESS").exists()
    if not reused:
        building = versions_dir / f".{version_name}.{uuid.uuid4().hex[:8]}.tmp"
        building.mkdir()
        try:
            con = _connect(memory_limit, threads)
            try:
                reconcile(con, extract, outcomes, building, customers_data)
            finally:
                con.close()
            record_state(building, erasures.fingerprint)
            (building / "_SUCCESS").write_text("")
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        if version_dir.exists():
            shutil.rmtree(version_dir)
        os.rename(building, version_dir)
    previous = os.readlink(link) if link.is_symlink() else None
    if link.exists() and not link.is_symlink():
        raise ExtractFileError(link, "the raw layer path is not a symlink managed by Retentio; move it away")
    _swap_symlink(link, f".versions/{version_name}")
    # The previous version stays for a reader still on it, unless it holds data of someone since erased.
    keep = {version_name}
    if previous and applied_state(versions_dir / Path(previous).name) == erasures.fingerprint:
        keep.add(Path(previous).name)
    _collect_garbage(versions_dir, extract, keep)
    _collect_cache_garbage(cache_dir, extract, outcomes)
    return summarise(extract_name, version_dir, warnings, reused)


def summarise(extract_name: str, version_dir: Path, warnings: list[str], reused: bool) -> IngestionResult:
    files = pq.read_table(version_dir / "files.parquet").to_pylist()
    reasons: dict[str, int] = {}
    quarantine = pq.read_table(version_dir / "quarantine.parquet", columns=["reason"])
    for reason in quarantine.column("reason").to_pylist():
        reasons[reason] = reasons.get(reason, 0) + 1
    return IngestionResult(
        extract=extract_name,
        version_dir=version_dir,
        files=files,
        rows_read=sum(f["rows_read"] for f in files),
        rows_loaded=sum(f["rows_loaded"] for f in files),
        rows_quarantined=sum(f["rows_quarantined"] for f in files),
        quarantined_by_reason=dict(sorted(reasons.items())),
        warnings=warnings,
        reused=reused,
    )
