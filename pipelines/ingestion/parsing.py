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
    meta.json          rows read, dialect (with the date order it was read in), what the file's own dates
                       say of that order, unknown columns, load time, the currencies the file states, notes
                       for the person running it
The directory is built under a dot-named `.tmp` name and renamed into place, so a parse killed half-way is
never mistaken for a finished one.

A file whose own dates do not tell day from month is read in the order the extract's other files prove
(date_order.py), which is settled once every file is parsed: such a file is then parsed again in that order,
under its own cache key, and a later run finds that parse without reading the file by default first.
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
    DATE_ORDER_NAMES,
    DEFAULT_DATE_ORDER,
    SAMPLE_ROWS,
    DateOrderEvidence,
    OrderOfOtherFiles,
    date_order_evidence,
    needs_whole_column,
)
from pipelines.ingestion.dialects import SECOND_HEADER_ROW
from pipelines.ingestion.erasure import ErasureRequests, anonymised_rows_sql
from pipelines.ingestion.errors import ExtractFileError
from pipelines.ingestion.landing import discover_files, landing_name
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
    year_first_cast_sql,
)
from pipelines.ingestion.source_config import SourceConfig

# Bump when parsing or checking changes meaning, so cached parses are redone.
PARSER_VERSION = "9"
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


def _parse_signature(extract: Extract, opened: OpenedFile, rules: ParseRules, erasures: ErasureRequests,
                     order_of_other_files: bool = False) -> str:
    # The file name is part of it: accepted rows carry it as _source_file. A date order taken from the
    # extract's other files is told apart from one set in retentio_sources.yml: their meta differ.
    payload = json.dumps({"v": PARSER_VERSION, "extract": extract.name, "file": opened.name,
                          "dialect": opened.describe_dialect(), "mapping": opened.mapping.positions,
                          "constants": opened.mapping.constants,
                          "rules": rules.describe(), "order_of_other_files": order_of_other_files,
                          "erasures": erasures.fingerprint if "customer_id" in extract.column_names else ""},
                         sort_keys=True)
    return hashlib.blake2b(payload.encode(), digest_size=8).hexdigest()


def _parse_file(
    opened: OpenedFile, rules: ParseRules, target: Path, loaded_at: datetime, erasures: ErasureRequests,
    own_evidence: DateOrderEvidence | None = None,
) -> dict:
    """Stage 1 for one file into the directory `target`; returns the file's metadata. `own_evidence` is
    what the file's dates said on a first parse, when `rules` now carry the order of the other files."""
    building = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    building.mkdir(parents=True)
    try:
        meta = _parse_into(opened, rules, building, loaded_at, erasures, own_evidence)
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
    opened: OpenedFile, rules: ParseRules, building: Path, loaded_at: datetime, erasures: ErasureRequests,
    own_evidence: DateOrderEvidence | None,
) -> dict:
    extract = opened.extract
    con = connect()
    notes: list[str] = list(opened.notes)
    date_order_pinned = rules.date_order is not None and own_evidence is None
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
                evidence = evidence or own_evidence
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
        lineage = (f"{sql_string(opened.name)} as _source_file, _source_row, "
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
    # A file whose dates do not tell is named among the warnings by parse_files, once the other files
    # have told (or not) the order it is read in.
    basis = (evidence.basis(rules.date_order) if evidence is not None
             else "set in retentio_sources.yml" if date_order_pinned else None)
    for column in rules.derived:
        if column == "status":
            notes.append(f"{opened.name}: no status column: each order is {DERIVED_STATUS}")
    if opened.second_header_row is not None:
        notes.append(f"{opened.name}: {SECOND_HEADER_ROW} ({opened.second_header_row}, sub-headers such "
                     "as SurveyMonkey's 'Response'): neither loaded nor quarantined; the rows below keep the "
                     "file's numbers, the first is row 2")
    dialect = opened.describe_dialect() | {"date_order": rules.date_order}
    meta = {"rows_read": opened.rows_read, "dialect": dialect,
            "unknown_columns": opened.mapping.unknown_columns, "loaded_at": loaded_at.isoformat(),
            "rows_accepted": accepted, "rows_rejected": rejected + len(opened.malformed),
            "line_level": opened.mapping.line_level, "date_order_basis": basis,
            "date_order_evidence": dataclasses.asdict(evidence) if evidence is not None else None,
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
    date_columns = opened.mapping.date_columns(opened.extract)
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
        # Most files write dates DuckDB's cast reads: then no other layout needs trying.
        cast, present = con.execute(f"select count({year_first_cast_sql(value)}), count({value}) "
                                    "from sample_batch").fetchall()[0]
        if present and cast == present:
            formats.append((column.name, "cast"))
            continue
        result = con.execute(f"select {detect_date_format_sql(value, rules.date_order)} from sample_batch")
        counts = dict(zip([d[0] for d in result.description], result.fetchall()[0]))
        best = max(counts, key=lambda f: counts[f])  # the first of equals wins: 'cast' is listed first
        if counts[best]:
            formats.append((column.name, best))
    con.unregister("sample_batch")
    return dataclasses.replace(rules, date_formats=tuple(formats))


@dataclass
class _ParsedFile:
    """A file parsed on this run or found parsed in the cache, before its date order is settled."""

    path: Path
    stat: os.stat_result
    opened: OpenedFile
    rules: ParseRules                # as its dialect and retentio_sources.yml set them
    target: Path
    meta: dict

    @property
    def evidence(self) -> DateOrderEvidence | None:
        """What the file's own dates say of their order (None: pinned, no dates, or no rows)."""
        recorded = self.meta["date_order_evidence"]
        return DateOrderEvidence(**recorded) if recorded is not None else None

    def outcome(self) -> FileOutcome:
        meta = self.meta
        return FileOutcome(
            self.opened.name, self.opened.checksum, self.stat.st_size, self.opened.file_format,
            meta["dialect"], "loaded", self.target, rows_read=meta["rows_read"],
            unknown_columns=meta["unknown_columns"],
            loaded_at=datetime.fromisoformat(meta["loaded_at"]),
            rows_accepted=meta["rows_accepted"], rows_rejected=meta["rows_rejected"],
            line_level=meta["line_level"], stated_currencies=meta["stated_currencies"],
        )

    def warnings(self) -> list[str]:
        meta = self.meta
        said = []
        if meta["unknown_columns"]:
            said.append(f"{self.opened.name}: unknown columns ignored: {', '.join(meta['unknown_columns'])}")
        if meta["rows_read"] == 0:
            said.append(f"{self.opened.name}: no data rows, only a header")
        if self.evidence is not None and self.evidence.undecided:
            said.append(f"{self.opened.name}: {meta['date_order_basis']}")
        return said + meta["notes"]


def parse_files(
    extract: Extract, landing_dir: Path, cache_dir: Path, config: SourceConfig, currency: str,
    now: datetime | None = None, erasures: ErasureRequests | None = None,
) -> tuple[list[FileOutcome], list[str]]:
    """Stage 1 for every file of the extract; a file whose content was parsed before is not read again.

    A file whose own dates do not tell day from month follows the order the extract's other files prove,
    whichever sorts first and whichever was parsed on an earlier run: it is settled once all are parsed.
    """
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    erasures = erasures or ErasureRequests()
    # In landing order, each with the warnings said of it: an outcome, or a parse whose order may change.
    files: list[tuple[FileOutcome | _ParsedFile, list[str]]] = []
    seen_deliveries: dict[str, str] = {}
    cache = cache_dir / extract.name
    cache.mkdir(parents=True, exist_ok=True)
    for path in discover_files(landing_dir, extract):
        said: list[str] = []
        name = landing_name(path, landing_dir)
        try:
            parsed = _parse_or_skip(path, name, extract, cache, config, currency, now, erasures,
                                    seen_deliveries, said)
        except ExtractFileError as exc:
            raise exc.named(name) from exc
        files.append((parsed, said))
    files = [(item, said) for item, said in files if item is not None]
    _follow_the_order_of_other_files(extract, cache, files, now, erasures)
    outcomes: list[FileOutcome] = []
    warnings: list[str] = []
    for item, said in files:
        if isinstance(item, _ParsedFile):
            outcomes.append(item.outcome())
            warnings.extend(said + item.warnings())
        else:
            outcomes.append(item)
            warnings.extend(said)
    return outcomes, warnings


def _parse_or_skip(
    path: Path, name: str, extract: Extract, cache: Path, config: SourceConfig, currency: str, now: datetime,
    erasures: ErasureRequests, seen_deliveries: dict[str, str], warnings: list[str],
) -> FileOutcome | _ParsedFile | None:
    """One file (`name` in the landing directory) parsed or found in the cache, or the outcome of a file
    that cannot be; None when it is gone."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        warnings.append(f"{name} disappeared before it could be read: skipped")
        return None
    options = config.options_for(extract.name, name)
    try:
        opened = open_extract_file(path, extract, options, stat.st_size, name)
    except (ExtractFileError, OSError):
        # A half-written file can look broken (a Parquet file without its footer yet): blame the
        # file only if it is not changing under us.
        if _changed_since(path, stat):
            return _still_being_written(name, stat, file_format_of(path), "", warnings)
        raise
    # Two partitions may hold the same bytes (one identical row) and differ by their folder's value.
    delivery = opened.checksum + json.dumps(opened.mapping.constants, sort_keys=True)
    if delivery in seen_deliveries:
        original = seen_deliveries[delivery]
        warnings.append(f"{name} has the same content as {original}: not loaded twice")
        return FileOutcome(name, opened.checksum, stat.st_size, opened.file_format,
                           opened.describe_dialect(), "duplicate_file", None, duplicate_of=original)
    decimal = opened.dialect.decimal if opened.dialect else "."
    date_order = opened.dialect.date_order if opened.dialect else options.date_order
    has_statuses = "status" in opened.mapping.present
    rules = ParseRules(decimal=decimal, date_order=date_order, load_date=now.date(), currency=currency,
                       line_level=opened.mapping.line_level,
                       derived=tuple(opened.mapping.absent_derived(extract)),
                       status_synonyms=tuple(sorted(config.order_statuses().items())) if has_statuses else ())
    target = _parse_target(cache, opened, rules, erasures)
    if rules.date_order is None and not (target / "meta.json").exists():
        # A file whose dates do not tell may have been read in the order of the extract's other files on
        # an earlier run (only that parse is kept): found here, the file is not read by default first.
        for order in DATE_ORDER_NAMES.keys() - {DEFAULT_DATE_ORDER}:
            followed_rules = dataclasses.replace(rules, date_order=order)
            followed = _parse_target(cache, opened, followed_rules, erasures, order_of_other_files=True)
            if (followed / "meta.json").exists():
                target = followed
                break
    meta = _parsed_or_cached(path, stat, opened, rules, target, now, erasures)
    if meta is None:
        return _still_being_written(name, stat, opened.file_format, opened.checksum, warnings)
    seen_deliveries[delivery] = name
    return _ParsedFile(path, stat, opened, rules, target, meta)


def _parse_target(cache: Path, opened: OpenedFile, rules: ParseRules, erasures: ErasureRequests,
                  order_of_other_files: bool = False) -> Path:
    signature = _parse_signature(opened.extract, opened, rules, erasures, order_of_other_files)
    return cache / f"{opened.checksum[:24]}-{signature}"


def _parsed_or_cached(
    path: Path, stat: os.stat_result, opened: OpenedFile, rules: ParseRules, target: Path, now: datetime,
    erasures: ErasureRequests, own_evidence: DateOrderEvidence | None = None,
) -> dict | None:
    """The meta of the parse in `target`, parsing the file first when it is not cached; None when the
    file changed while it was read."""
    meta_path = target / "meta.json"
    if meta_path.exists():
        return json.loads(meta_path.read_text())
    try:
        meta = _parse_file(opened, rules, target, now, erasures, own_evidence)
    except (ExtractFileError, OSError):
        if _changed_since(path, stat):
            return None
        raise
    # The checksum and the parse cover the size seen at the start: a file still growing would
    # be loaded cut short, so it waits for the next run.
    if _changed_since(path, stat):
        shutil.rmtree(target, ignore_errors=True)
        return None
    return meta


def _follow_the_order_of_other_files(
    extract: Extract, cache: Path, files: list[tuple[FileOutcome | _ParsedFile, list[str]]], now: datetime,
    erasures: ErasureRequests,
) -> None:
    """Read each file whose own dates do not tell in the order the extract's other files prove (day first,
    as before, when none does or they disagree), parsing it again when it was read the other way; its
    meta's date_order_basis says why, in terms of the files delivered now."""
    parsed = [(i, item) for i, (item, _) in enumerate(files) if isinstance(item, _ParsedFile)]
    other_files = OrderOfOtherFiles.of({item.opened.name: item.evidence for _, item in parsed})
    for i, item in parsed:
        evidence = item.evidence
        if evidence is None or not evidence.undecided:
            continue
        order, basis = other_files.decide(evidence)
        if item.meta["dialect"]["date_order"] != order:
            # Day first is how such a file is read on its own: that parse is the one it had alone.
            followed = order != DEFAULT_DATE_ORDER
            rules = dataclasses.replace(item.rules, date_order=order) if followed else item.rules
            target = _parse_target(cache, item.opened, rules, erasures, order_of_other_files=followed)
            meta = _parsed_or_cached(item.path, item.stat, item.opened, rules, target, now, erasures,
                                     evidence if followed else None)
            if meta is None:
                files[i] = (_still_being_written(item.opened.name, item.stat, item.opened.file_format,
                                                 item.opened.checksum, files[i][1]), files[i][1])
                continue
            item = dataclasses.replace(item, target=target, meta=meta)
            files[i] = (item, files[i][1])
        if item.meta["date_order_basis"] != basis:
            _rewrite_basis(item, basis)


def _rewrite_basis(item: _ParsedFile, basis: str) -> None:
    """Say in the cached meta why the file is read in its order: the other files that told may have changed
    since it was parsed (preview.py shows it)."""
    item.meta["date_order_basis"] = basis
    meta_path = item.target / "meta.json"
    writing = meta_path.with_name(f".meta.json.{uuid.uuid4().hex[:8]}.tmp")
    writing.write_text(json.dumps(item.meta))
    os.replace(writing, meta_path)


def _still_being_written(
    name: str, stat: os.stat_result, file_format: str, checksum: str, warnings: list[str]
) -> FileOutcome:
    warnings.append(f"{name} changed while it was being read (still being written?): "
                    "skipped, it will be loaded by the next run")
    return FileOutcome(name, checksum, stat.st_size, file_format, {}, "incomplete_delivery", None)


def _changed_since(path: Path, before: os.stat_result) -> bool:
    try:
        after = path.stat()
    except FileNotFoundError:
        return True
    return (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns)
