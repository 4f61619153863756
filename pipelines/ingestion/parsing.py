"""Stage 1 of ingestion: type every value of a landing file and reject the rows that are wrong on their own.

Each distinct file content is parsed once (cached by checksum, name and parsing rules) into a directory:
    accepted.parquet   the rows every row check accepted, in the raw layer's schema with lineage
                       (raw_layer.part_columns), in file order; the raw layer hard-links it when no row
                       of the file is rejected across files (reconcile.py). A file of order lines holds
                       its orders here, rolled up (order_lines.py)
    rejected.parquet   rows a check rejected: row number, reason, column, detail, raw values as JSON
    malformed.parquet  records the reader could not split into fields (same columns), when there are any
    lines.parquet      a file of order lines only: each line counted into an order, with its own values
                       (order_lines.py)
    meta.json          rows read, dialect (with the date order the dates told), unknown columns, load
                       time, the currencies the file states, notes for the person running it
The directory is built under a dot-named `.tmp` name and renamed into place, so a parse killed half-way is
never mistaken for a finished one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.ingestion import order_lines
from pipelines.ingestion.contracts import DERIVED_STATUS, ColumnType, Extract
from pipelines.ingestion.date_order import (
    DEFAULT_DATE_ORDER,
    SAMPLE_ROWS,
    DateOrderEvidence,
    date_order_evidence,
    needs_whole_column,
)
from pipelines.ingestion.erasure import ErasureRequests, anonymised_rows_sql
from pipelines.ingestion.errors import ExtractFileError
from pipelines.ingestion.landing import discover_files
from pipelines.ingestion.raw_layer import LINE_COUNT_COLUMN
from pipelines.ingestion.readers import (
    NeedsSlowPath,
    OpenedFile,
    batch_schema,
    file_format_of,
    open_extract_file,
    read_batches,
)
from pipelines.ingestion.row_checks import (
    ISO_4217_CODES,
    SQL_TYPES,
    ParseRules,
    detect_date_format_sql,
    typed_rows_sql,
)
from pipelines.ingestion.source_config import SourceConfig

# Bump when parsing or checking changes meaning, so cached parses are redone.
PARSER_VERSION = "5"
ACCEPTED_FILE = "accepted.parquet"
REJECT_FILES = ("rejected.parquet", "malformed.parquet")
REJECT_COLUMNS = "_source_row, _reject_reason, _reject_column, _reject_detail, _raw_record"


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
    rows_accepted: int = 0           # by stage 1; reconcile may still reject some across files
    rows_rejected: int = 0
    line_level: bool = False         # one row per order line: rows are lines, accepted.parquet holds orders
    stated_currencies: dict[str, int] = field(default_factory=dict)  # valid ISO codes the file states, rows each

    @property
    def accepted_path(self) -> Path:
        return self.parsed_path / ACCEPTED_FILE

    @property
    def lines_path(self) -> Path | None:
        return self.parsed_path / order_lines.LINES_FILE if self.line_level else None

    def reject_paths(self) -> list[Path]:
        return [self.parsed_path / name for name in REJECT_FILES if (self.parsed_path / name).exists()]


def connect(memory_limit: str | None = None, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    if memory_limit:
        con.execute(f"set memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"set threads = {int(threads)}")
    return con


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def null_columns_sql(extract: Extract) -> str:
    """Every column of the extract as a typed null, for rows that have none (or no rows at all)."""
    return ", ".join(f"cast(null as {SQL_TYPES[c.type]}) as {c.name}" for c in extract.columns)


def _parse_signature(extract: Extract, opened: OpenedFile, rules: ParseRules, erasures: ErasureRequests) -> str:
    # The file name is part of it: accepted rows carry it as _source_file.
    payload = json.dumps({"v": PARSER_VERSION, "extract": extract.name, "file": opened.path.name,
                          "dialect": opened.describe_dialect(), "mapping": opened.mapping.positions,
                          "rules": rules.describe(),
                          "erasures": erasures.fingerprint if "customer_id" in extract.column_names else ""},
                         sort_keys=True)
    return hashlib.blake2b(payload.encode(), digest_size=8).hexdigest()


def _parse_file(
    opened: OpenedFile, rules: ParseRules, target: Path, loaded_at: datetime, erasures: ErasureRequests
) -> dict:
    """Stage 1 for one file into the directory `target`; returns the file's metadata."""
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
    """`sql` with erased customers anonymised (pipelines/ingestion/erasure.py), when there are any."""
    if not erasures or "customer_id" not in extract.column_names:
        return sql
    con.register("erased_customers", pa.table({"customer_id": list(erasures.tokens),
                                               "token": list(erasures.tokens.values())}))
    return anonymised_rows_sql(extract.name, sql, "erased_customers")


def _parse_into(
    opened: OpenedFile, rules: ParseRules, building: Path, loaded_at: datetime, erasures: ErasureRequests
) -> dict:
    extract = opened.extract
    con = connect()
    notes: list[str] = list(opened.notes)
    date_order_pinned = rules.date_order is not None
    file_rules = rules
    try:
        for slow in (False, True):
            state = {"needs_slow_path": False}
            try:
                batches = _watch_for_slow_path(read_batches(opened, slow=slow), state)
                first = next(batches, None)
                stream = pa.RecordBatchReader.from_batches(
                    batch_schema(opened.columns), itertools.chain([first] if first is not None else [], batches))
                con.register("batch", stream)
                relation, rules, evidence = _with_date_order(con, first, opened, file_rules)
                if first is not None:
                    rules = _with_likely_date_formats(con, first, opened, rules)
                typed = _erasing(con, extract, erasures, typed_rows_sql(extract, rules, relation))
                # Typed once, then split: accepted rows in the raw layer's schema, rejects with their reasons.
                con.execute(f"create or replace temp table typed as {typed}")
                con.unregister("batch")
                con.execute("drop table if exists batch_text")
                break
            except (NeedsSlowPath, duckdb.Error):
                if not state["needs_slow_path"]:
                    raise
        lineage = (f"{sql_string(opened.path.name)} as _source_file, _source_row, "
                   f"cast('{loaded_at.isoformat(sep=' ')}' as timestamp) as _loaded_at")
        stated_currencies = _stated_currencies(con, opened)
        if opened.mapping.line_level:
            accepted, rejected = order_lines.roll_up(
                con, extract, extract.lines.line_key in opened.mapping.positions, lineage,
                building / ACCEPTED_FILE, building / REJECT_FILES[0], building / order_lines.LINES_FILE,
                [(m.key_value, m.source_row, m.reason.value) for m in opened.malformed if m.key_value])
        else:
            accepted, rejected = _write_rows(con, extract, lineage, building)
        con.execute("drop table typed")
        if opened.malformed:
            _write_malformed(con, extract, opened.malformed, building / REJECT_FILES[1], erasures)
    finally:
        con.close()
    basis = (evidence.basis(rules.date_order) if evidence is not None
             else "set in retentio_sources.yml" if date_order_pinned else None)
    if evidence is not None and evidence.order is None and evidence.ambiguous:
        notes.append(f"{opened.path.name}: {basis}")
    for column in rules.derived:
        if column == "status":
            notes.append(f"{opened.path.name}: no status column: each order is {DERIVED_STATUS}")
    dialect = opened.describe_dialect() | {"date_order": rules.date_order}
    meta = {"rows_read": opened.rows_read, "dialect": dialect,
            "unknown_columns": opened.mapping.unknown_columns, "loaded_at": loaded_at.isoformat(),
            "rows_accepted": accepted, "rows_rejected": rejected + len(opened.malformed),
            "line_level": opened.mapping.line_level, "date_order_basis": basis,
            "stated_currencies": stated_currencies, "notes": notes}
    (building / "meta.json").write_text(json.dumps(meta))
    return meta


def _write_rows(con: duckdb.DuckDBPyConnection, extract: Extract, lineage: str, building: Path) -> tuple[int, int]:
    """A file of one row per item: accepted rows as they are, rejects with their reasons."""
    # Orders from a file of orders stand for one landing-file record each (orders of lines, for theirs).
    line_count = f", cast(1 as bigint) as {LINE_COUNT_COLUMN}" if extract.lines else ""
    con.execute(f"""
        copy (select {", ".join(extract.column_names)}, {lineage}{line_count} from typed where _reject_reason is null)
        to '{building / ACCEPTED_FILE}' (format parquet, compression zstd)""")
    con.execute(f"""
        copy (select {REJECT_COLUMNS} from typed where _reject_reason is not null)
        to '{building / REJECT_FILES[0]}' (format parquet, compression zstd)""")
    accepted, rejected = con.execute(
        "select count(*) filter (where _reject_reason is null), count(*) filter (where _reject_reason is not null) "
        "from typed").fetchall()[0]
    return accepted, rejected


def _stated_currencies(con: duckdb.DuckDBPyConnection, opened: OpenedFile) -> dict[str, int]:
    """How many rows state each valid currency code (an empty cell states none, unless the amount's symbol
    names one): the reporting currency is resolved from these when RETENTIO_CURRENCY is unset
    (pipelines/ingestion/currency.py)."""
    if not any(c.type is ColumnType.CURRENCY for c in opened.extract.columns):
        return {}
    rows = con.execute("select _stated_currency, count(*) from typed where _stated_currency is not null "
                       "group by all order by 1").fetchall()
    return {code: count for code, count in rows if code in ISO_4217_CODES}


def _with_date_order(
    con: duckdb.DuckDBPyConnection, first: pa.RecordBatch | None, opened: OpenedFile, rules: ParseRules
) -> tuple[str, ParseRules, DateOrderEvidence | None]:
    """(relation to type, rules with the date order, what the dates said): the file's first rows decide
    when they can; when they hold only dates that read both ways, the whole file is kept in DuckDB and all
    its dates are looked at (only such files pay for that)."""
    if rules.date_order is not None:
        return "batch", rules, None
    date_columns = [c.name for c in opened.extract.file_columns(opened.mapping.line_level)
                    if c.type in (ColumnType.DATE, ColumnType.TIMESTAMP) and c.name in opened.mapping.positions]
    if first is None or not date_columns:
        return "batch", dataclasses.replace(rules, date_order=DEFAULT_DATE_ORDER), None
    con.register("first_rows", first)
    evidence = date_order_evidence(con, "first_rows", date_columns, limit=SAMPLE_ROWS)
    con.unregister("first_rows")
    relation = "batch"
    if needs_whole_column(evidence):
        con.execute("create or replace temp table batch_text as select * from batch")
        relation = "batch_text"
        evidence = date_order_evidence(con, relation, date_columns)
    order = evidence.order or DEFAULT_DATE_ORDER
    return relation, dataclasses.replace(rules, date_order=order), evidence


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
    # Typed (empty) columns too, so an erasure can be applied to them as to any other rows.
    rows_sql = f"""
        select cast(_source_row as bigint) as _source_row, {null_columns_sql(extract)},
               cast(_reject_reason as varchar) as _reject_reason,
               cast(_reject_column as varchar) as _reject_column,
               cast(_reject_detail as varchar) as _reject_detail,
               cast(_raw_record as varchar) as _raw_record
        from malformed_rows"""
    erased = _erasing(con, extract, erasures, rows_sql)
    con.execute(f"copy (select {REJECT_COLUMNS} from ({erased})) to '{path}' (format parquet, compression zstd)")
    con.unregister("malformed_rows")


def _with_likely_date_formats(
    con: duckdb.DuckDBPyConnection, batch: pa.RecordBatch, opened: OpenedFile, rules: ParseRules
) -> ParseRules:
    """Find, on the file's first rows, the layout most of each date column's values have."""
    formats = []
    con.register("sample_batch", batch.slice(0, SAMPLE_ROWS))
    for column in opened.extract.file_columns(opened.mapping.line_level):
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
                outcomes.append(_still_being_written(path, stat, file_format_of(path), "", warnings))
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
        has_statuses = "status" in opened.mapping.positions
        rules = ParseRules(decimal=decimal, date_order=date_order, load_date=now.date(), currency=currency,
                           line_level=opened.mapping.line_level, derived=tuple(opened.mapping.absent_derived(extract)),
                           status_synonyms=tuple(sorted(config.order_statuses().items())) if has_statuses else ())
        target = cache / f"{opened.checksum[:24]}-{_parse_signature(extract, opened, rules, erasures)}"
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
        warnings.extend(meta["notes"])
        outcomes.append(FileOutcome(
            path.name, opened.checksum, stat.st_size, opened.file_format, meta["dialect"], "loaded", target,
            rows_read=meta["rows_read"], unknown_columns=meta["unknown_columns"],
            loaded_at=datetime.fromisoformat(meta["loaded_at"]),
            rows_accepted=meta["rows_accepted"], rows_rejected=meta["rows_rejected"],
            line_level=meta["line_level"], stated_currencies=meta["stated_currencies"],
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
