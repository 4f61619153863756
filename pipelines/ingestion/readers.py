"""Read one extract file into batches of text columns named after the contract, numbered by record.

CSV goes through pyarrow's multi-threaded reader when the file is well-formed. A file with a malformed
record (wrong field count, unterminated quote, damaged bytes) is read again by Python's csv module,
which is slower but knows each record's number and raw text, so the bad record can be quarantined
rather than lost. Parquet and Excel workbooks (excel.py) are read as they are typed and turned into text,
so that every format goes through the same checks.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipelines.ingestion.compression import compression_of, damaged_archive_named, is_compressed, open_content
from pipelines.ingestion.contracts import Extract, RejectReason
from pipelines.ingestion.dialects import (
    SAMPLE_BYTES,
    CsvDialect,
    FileFacts,
    HeaderMapping,
    detect_dialect,
    is_sub_header_row,
    map_header,
)
from pipelines.ingestion.errors import ExtractFileError
from pipelines.ingestion.excel import (
    EXCEL_SUFFIXES,
    WORKBOOK_FORMATS,
    Workbook,
    open_workbook,
    row_below_header,
    workbook_batches,
)
from pipelines.ingestion.source_config import ReadOptions

BATCH_ROWS = 250_000
PYARROW_BLOCK_BYTES = 32 << 20   # a record (a 1 MB comment, say) must fit in one block
MAX_FIELD_CHARS = 64 << 20
UNDECODABLE = "retentio-undecodable"


def _keep_undecodable_bytes(error: UnicodeDecodeError) -> tuple[str, int]:
    """Like Python's surrogateescape, but for any byte (a truncated UTF-16 code unit may be below 0x80)."""
    return "".join(chr(0xDC00 + byte) for byte in error.object[error.start:error.end]), error.end


codecs.register_error(UNDECODABLE, _keep_undecodable_bytes)
_UNDECODABLE_CHAR = re.compile("[\udc00-\udcff]")


@dataclass
class MalformedRecord:
    source_row: int
    line: int
    reason: RejectReason
    column: str | None
    detail: str
    raw_text: str
    # The value where the extract's key should be, when the record could be split into fields: a bad order
    # line still names its order, which must then not load without it (order_lines.py).
    key_value: str | None = None


@dataclass
class OpenedFile:
    """A file ready to be read: how it is written and where its columns are."""

    path: Path
    extract: Extract
    file_format: str               # "csv" | "parquet" | a workbook's: "xlsx", "xls", "ods", ...
    size_bytes: int                # the bytes read: of the content, for a compressed file
    checksum: str
    dialect: CsvDialect | None
    mapping: HeaderMapping
    facts: FileFacts | None = None
    malformed: list[MalformedRecord] = field(default_factory=list)
    rows_read: int = 0
    workbook: Workbook | None = None   # an Excel file: the worksheets read
    # Its name in the landing directory (landing.landing_name: orders/2024-01.csv for a file in a folder),
    # which its rows' lineage and every message about it use.
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or self.path.name

    @property
    def notes(self) -> list[str]:
        """What the person running it should know about how the file was read (worksheets left out)."""
        return self.workbook.notes(self.name) if self.workbook else []

    @property
    def second_header_row(self) -> str | None:
        """Where a second header row was skipped (SurveyMonkey's sub-headers), None when there was none."""
        if self.dialect is not None and self.dialect.header_rows == 2:
            return f"line {self.dialect.header_line + 1}"
        if self.workbook is not None and self.workbook.sub_header_sheets:
            sheets = ", ".join(f"'{name}'" for name in sorted(self.workbook.sub_header_sheets))
            return f"the row under the header of worksheet(s) {sheets}"
        return None

    @property
    def columns(self) -> list[str]:
        """The canonical columns its batches carry (line columns for a file of order lines)."""
        return [c.name for c in self.extract.file_columns(self.mapping.line_level)]

    def describe_dialect(self) -> dict:
        if self.dialect:
            return self.dialect.describe() | compression_of(self.path)
        if self.workbook:
            return {"format": self.file_format, "worksheets": self.workbook.sheets} | (
                {"header_rows": 2, "sub_header_worksheets": sorted(self.workbook.sub_header_sheets)}
                if self.workbook.sub_header_sheets else {})
        return {"format": self.file_format}


def trim_values(values: pa.Array) -> pa.Array:
    """Strip spaces, tabs, line breaks and no-break spaces around every value (vectorised)."""
    return pc.utf8_trim_whitespace(values)


def batch_schema(columns: list[str]) -> pa.Schema:
    return pa.schema([pa.field(c, pa.string()) for c in columns] + [("_source_row", pa.int64())])


def _digest():
    """SHA-256: twice as fast as BLAKE2 where the CPU has SHA instructions; 40 hex digits are kept."""
    return hashlib.sha256()


def scan_file(path: Path, size: int) -> tuple[str, FileFacts]:
    """One pass over the first `size` bytes: checksum, UTF-8 validity, quote balance. A compressed file (gzip,
    zip) is read whole, decompressed; its facts describe the content (FileFacts.size_bytes: the bytes the
    readers read)."""
    digest = _digest()
    decoder = codecs.getincrementaldecoder("utf-8")()
    valid_utf8, quotes, content_bytes = True, 0, 0
    remaining = None if is_compressed(path) else size
    with damaged_archive_named(path), open_content(path) as handle:
        while remaining is None or remaining > 0:
            chunk = handle.read(8 << 20 if remaining is None else min(8 << 20, remaining))
            if not chunk:
                break
            if remaining is not None:
                remaining -= len(chunk)
            content_bytes += len(chunk)
            digest.update(chunk)
            quotes += chunk.count(b'"')
            if valid_utf8 and not chunk.isascii():
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    valid_utf8 = False
    if valid_utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            valid_utf8 = False
    facts = FileFacts(size_bytes=content_bytes, is_valid_utf8=valid_utf8, has_odd_quote_count=quotes % 2 == 1)
    return digest.hexdigest()[:40], facts


def checksum_file(path: Path, size: int) -> str:
    digest = _digest()
    with path.open("rb") as handle:
        remaining = size
        while remaining > 0:
            chunk = handle.read(min(8 << 20, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            digest.update(chunk)
    return digest.hexdigest()[:40]


def file_format_of(path: Path) -> str:
    """The file's format by its suffix: parquet, a workbook's (xlsx, xls, ods, ...: WORKBOOK_FORMATS), or
    csv (the text formats: .csv, .txt, .tsv, gzipped, zipped or not)."""
    suffix = path.suffix.lower()
    return "parquet" if suffix == ".parquet" else suffix[1:] if suffix in EXCEL_SUFFIXES else "csv"


def open_extract_file(path: Path, extract: Extract, options: ReadOptions, size: int,
                      name: str = "") -> OpenedFile:
    """Fingerprint a file and learn its layout; `size` bounds the read (a file still growing is not chased).
    `name` is its landing name (the file's own name when not given)."""
    file_format = file_format_of(path)
    if file_format == "parquet":
        checksum = checksum_file(path, size)
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise ExtractFileError(path, f"not a readable Parquet file ({exc})") from None
        mapping = map_header(path, extract, list(schema.names), options.column_mapping, options.folder_values)
        for column, position in mapping.positions.items():
            kind = schema.field(position).type
            if pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
                raise ExtractFileError(
                    path, f"has Parquet type {kind}, which cannot hold a {extract.column(column).type.value} "
                          "value; write it as a plain column (text, number, date or timestamp)", column=column)
        return OpenedFile(path, extract, "parquet", size, checksum, None, mapping, name=name)
    if file_format in WORKBOOK_FORMATS:
        checksum = checksum_file(path, size)
        book = open_workbook(path)
        mapping = map_header(path, extract, book.header, options.column_mapping, options.folder_values)
        book.sub_header_sheets = {name for name in book.sheets
                                  if is_sub_header_row(row_below_header(book, name), extract, mapping)}
        return OpenedFile(path, extract, file_format, size, checksum, None, mapping, workbook=book, name=name)
    checksum, facts, head = _scan_with_head(path, size)
    dialect, mapping = detect_dialect(path, extract, facts, head, options)
    return OpenedFile(path, extract, "csv", facts.size_bytes, checksum, dialect, mapping, facts, name=name)


def _scan_with_head(path: Path, size: int) -> tuple[str, FileFacts, bytes]:
    """A text file's checksum and facts (scan_file), and the first bytes of its content dialect detection
    reads."""
    checksum, facts = scan_file(path, size)
    with open_content(path) as handle:
        head = handle.read(min(facts.size_bytes, SAMPLE_BYTES))
    return checksum, facts, head


def extract_whose_columns_fit(path: Path, config) -> Extract | None:
    """For a file named like no extract: the extract its header maps onto, None when none does. When several
    do (a customer id is all the customers extract needs), the one taking most of its columns; on a tie,
    the first in contract order. `config` is the landing directory's SourceConfig (its column mappings
    count)."""
    from pipelines.ingestion.contracts import EXTRACTS
    from pipelines.ingestion.landing import is_supported

    if not is_supported(path):
        return None
    file_format = file_format_of(path)
    try:
        # The header is all that is needed, read once for every extract tried: a Parquet file's schema, a
        # workbook loaded, a text file read only as far as dialect detection looks (a compressed one is
        # decompressed whole, once).
        if file_format == "parquet":
            header = list(pq.read_schema(path).names)
        elif file_format in WORKBOOK_FORMATS:
            header = open_workbook(path).header
        else:
            _, facts, head = _scan_with_head(path, min(path.stat().st_size, SAMPLE_BYTES))
    except (ExtractFileError, OSError, pa.ArrowInvalid):
        return None
    best, most_columns = None, 0
    for extract in EXTRACTS.values():
        options = config.options_for(extract.name, path.name)
        try:
            if file_format == "csv":
                _, mapping = detect_dialect(path, extract, facts, head, options)
            else:
                mapping = map_header(path, extract, header, options.column_mapping)
        except (ExtractFileError, OSError):
            continue
        if len(mapping.positions) > most_columns:
            best, most_columns = extract, len(mapping.positions)
    return best


def renamed_for(path: Path, extract: Extract) -> str:
    """The name that makes the file one of `extract`'s: clients.xlsx -> customers_clients.xlsx."""
    return f"{extract.file_prefix}_{path.name}"


class NeedsSlowPath(Exception):
    """The fast reader met a record it cannot take as it is: read the file again with `slow=True`."""


def read_batches(opened: OpenedFile, *, slow: bool = False) -> Iterator[pa.RecordBatch]:
    """Batches of the canonical columns as text, plus `_source_row` (1 = first record after the header; a
    second header row, skipped, is record 1).

    Malformed records are collected on `opened.malformed`; `opened.rows_read` counts every record. The
    fast CSV path raises NeedsSlowPath part-way through a file it cannot read: the caller discards what
    it wrote and reads again with `slow=True`.
    """
    if opened.file_format == "parquet":
        batches = _parquet_batches(opened)
    elif opened.workbook is not None:
        batches = _workbook_batches(opened)
    elif slow or not _fast_path_allowed(opened):
        batches = _slow_csv_batches(opened)
    else:
        batches = _fast_csv_batches(opened)
    constants = {column: value for column, (value, _) in opened.mapping.constants.items()}
    return _stating(batches, constants) if constants else batches


def _stating(batches: Iterator[pa.RecordBatch], constants: dict[str, str]) -> Iterator[pa.RecordBatch]:
    """The batches with each column of `constants` (absent from the file, so null) holding its value on every
    row."""
    for batch in batches:
        for column, value in constants.items():
            index = batch.schema.get_field_index(column)
            batch = batch.set_column(index, column, pa.repeat(pa.scalar(value, pa.string()), batch.num_rows))
        yield batch


def _fast_path_allowed(opened: OpenedFile) -> bool:
    facts, dialect = opened.facts, opened.dialect
    return not (facts.has_odd_quote_count or dialect.encoding_is_damaged)


class _BoundedReader(io.RawIOBase):
    """Reads at most `limit` bytes of a file's content: the size seen when the file was fingerprinted."""

    def __init__(self, path: Path, limit: int):
        self._handle = open_content(path)
        self._remaining = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._remaining <= 0:
            return 0
        view = memoryview(buffer)[: self._remaining]
        count = self._handle.readinto(view)
        self._remaining -= count
        return count

    def close(self) -> None:
        self._handle.close()
        super().close()


def _fast_csv_batches(opened: OpenedFile) -> Iterator[pa.RecordBatch]:
    """pyarrow's reader; raises NeedsSlowPath at the first record it cannot take as it is."""
    dialect, mapping = opened.dialect, opened.mapping
    names = [f"f{i}" for i in range(mapping.field_count)]
    wanted = {c: f"f{mapping.positions[c]}" for c in opened.columns if c in mapping.positions}
    encoding = "utf8" if dialect.encoding in ("utf-8", "utf-8-sig") else dialect.encoding

    def refuse(_row) -> str:
        return "error"

    schema = batch_schema(opened.columns)
    first_row = next_row = dialect.header_rows  # after a second header row, 2: numbered as in the file
    stream = io.BufferedReader(_BoundedReader(opened.path, opened.size_bytes), buffer_size=8 << 20)
    try:
        reader = pa_csv.open_csv(
            stream,
            # skip_rows counts blank lines too, so it skips a preamble and the header alike
            read_options=pa_csv.ReadOptions(encoding=encoding, column_names=names,
                                            skip_rows=dialect.header_line + dialect.header_rows - 1,
                                            block_size=PYARROW_BLOCK_BYTES, use_threads=True),
            parse_options=pa_csv.ParseOptions(delimiter=dialect.delimiter, quote_char='"', double_quote=True,
                                              escape_char=False, newlines_in_values=True,
                                              ignore_empty_lines=True, invalid_row_handler=refuse),
            convert_options=pa_csv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                  include_columns=sorted(set(wanted.values())),
                                                  strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        for batch in reader:
            count = batch.num_rows
            columns = [trim_values(batch.column(wanted[c])) if c in wanted else pa.nulls(count, pa.string())
                       for c in opened.columns]
            columns.append(pa.array(range(next_row, next_row + count), pa.int64()))
            next_row += count
            yield pa.RecordBatch.from_arrays(columns, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowException, UnicodeDecodeError):
        raise NeedsSlowPath from None
    finally:
        stream.close()
    opened.rows_read = next_row - first_row


class _LineTap:
    """Feeds lines to csv.reader and remembers those of the current record, for its raw text; lines put
    back are fed again."""

    def __init__(self, stream):
        self._stream = stream
        self._put_back: list[str] = []  # last first
        self.pending: list[str] = []
        self.lines_consumed = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self._put_back.pop() if self._put_back else self._stream.readline()
        if not line:
            raise StopIteration
        self.pending.append(line)
        self.lines_consumed += 1
        return line

    def take(self) -> str:
        text = "".join(self.pending)
        self.pending = []
        return text

    def take_first_line_of_record(self) -> str:
        """The record's first line; its other lines are put back, to be read as records of their own."""
        first, rest = self.pending[0], self.pending[1:]
        self._put_back.extend(reversed(rest))
        self.lines_consumed -= len(rest)
        self.pending = []
        return first


def _slow_csv_batches(opened: OpenedFile) -> Iterator[pa.RecordBatch]:
    dialect, mapping = opened.dialect, opened.mapping
    csv.field_size_limit(MAX_FIELD_CHARS)
    schema = batch_schema(opened.columns)
    positions = [(c, mapping.positions.get(c)) for c in opened.columns]
    buffers: dict[str, list] = {c: [] for c in opened.columns}
    rows: list[int] = []
    opened.malformed = []
    raw = io.BufferedReader(_BoundedReader(opened.path, opened.size_bytes), buffer_size=8 << 20)
    text = io.TextIOWrapper(raw, encoding=dialect.encoding, errors=UNDECODABLE, newline="")
    tap = _LineTap(text)
    reader = csv.reader(tap, delimiter=dialect.delimiter, quotechar='"', doublequote=True, strict=True)
    fields_needed = mapping.fields_needed
    key_position = mapping.positions.get(opened.extract.key[0]) if len(opened.extract.key) == 1 else None
    record_no = 0

    def stray_quote_in(lines: list[str]) -> bool:
        """A record over several lines whose second line is a whole record by itself."""
        if len(lines) < 2:
            return False
        try:
            fields = next(csv.reader([lines[1]], delimiter=dialect.delimiter, quotechar='"', doublequote=True,
                                     strict=True))
        except (csv.Error, StopIteration):
            return False
        return len(fields) == mapping.field_count or _only_empty_fields_beyond(fields, fields_needed)

    def flush() -> pa.RecordBatch:
        batch = pa.RecordBatch.from_arrays(
            [trim_values(pa.array(buffers[c], pa.string())) for c in opened.columns]
            + [pa.array(rows, pa.int64())],
            schema=schema,
        )
        for values in buffers.values():
            values.clear()
        rows.clear()
        return batch

    try:
        for _ in range(dialect.header_line - 1):
            next(tap, None)  # blank lines or `sep=;` before the header
        try:
            next(reader)  # header, already mapped
            for _ in range(dialect.header_rows - 1):
                next(reader)  # a second header row: it keeps its number, as the fast reader numbers rows
                record_no += 1
        except (StopIteration, csv.Error):
            return
        tap.take()
        while True:
            start_line = tap.lines_consumed + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                # A stray quote opens a field the parser carries on through the lines below, to the end of
                # the file: when the line after it is a record of its own, only the quote's line is
                # quarantined and the lines after are read again, or one bad character would take every
                # order below it out of the metrics unseen. (A comment's line breaks stay in its record.)
                record_no += 1
                raw_text = tap.take_first_line_of_record() if stray_quote_in(tap.pending) else tap.take()
                opened.malformed.append(MalformedRecord(
                    record_no, start_line, RejectReason.MALFORMED_ROW, None,
                    f"record starting on line {start_line} cannot be parsed: {exc}"
                    + (" (a quote is never closed)" if "end of data" in str(exc) or "EOF" in str(exc) else ""),
                    _printable(raw_text)))
                continue
            lines = list(tap.pending)
            raw_text = tap.take()
            if not record or record == [""] and mapping.field_count > 1:
                continue  # blank line
            record_no += 1
            if len(record) != mapping.field_count and not _only_empty_fields_beyond(record, fields_needed):
                detail = f"expected {mapping.field_count} fields, found {len(record)} (line {start_line})"
                if stray_quote_in(lines):  # as above: the record stops at its first line
                    tap.pending = lines
                    raw_text = tap.take_first_line_of_record()
                    last_line = start_line + len(lines) - 1
                    detail = (f"expected {mapping.field_count} fields, found {len(record)} in a record "
                              f"running over lines {start_line}-{last_line} (a stray quote?); the lines "
                              "after its first are read again")
                opened.malformed.append(MalformedRecord(
                    record_no, start_line, RejectReason.MALFORMED_ROW, None, detail,
                    _printable(raw_text), _key_value(record, key_position)))
                continue
            # The record's text is searched once; its columns only when it holds an undecodable byte.
            damaged = _has_surrogates(raw_text) and next(
                (c for c, p in positions if p is not None and _has_surrogates(record[p])), None)
            if damaged:
                opened.malformed.append(MalformedRecord(
                    record_no, start_line, RejectReason.UNDECODABLE_BYTES, damaged,
                    f"bytes that are not {dialect.encoding} text (line {start_line})", _printable(raw_text),
                    _key_value(record, key_position)))
                continue
            for column, position in positions:
                buffers[column].append(record[position] if position is not None else None)
            rows.append(record_no)
            if len(rows) >= BATCH_ROWS:
                yield flush()
    finally:
        text.close()
    if rows:
        yield flush()
    opened.rows_read = record_no - (dialect.header_rows - 1)


def _key_value(record: list[str], position: int | None) -> str | None:
    if position is None or position >= len(record) or _has_surrogates(record[position]):
        return None
    return record[position].strip() or None


def _only_empty_fields_beyond(record: list[str], fields_needed: int) -> bool:
    """A trailing separator (or several) after the last named column loses nothing: accept the record."""
    return len(record) >= fields_needed and not any(value.strip() for value in record[fields_needed:])


def _has_surrogates(value: str) -> bool:
    return _UNDECODABLE_CHAR.search(value) is not None


def _printable(text: str) -> str:
    """Raw text with undecodable bytes shown as \\xNN, so it can be stored as UTF-8."""
    return _UNDECODABLE_CHAR.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)


def _parquet_batches(opened: OpenedFile) -> Iterator[pa.RecordBatch]:
    mapping = opened.mapping
    schema = batch_schema(opened.columns)
    parquet = pq.ParquetFile(opened.path)
    names = parquet.schema_arrow.names
    wanted = {c: names[p] for c, p in mapping.positions.items()}
    next_row = 1
    try:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=sorted(set(wanted.values()))):
            count = batch.num_rows
            columns = []
            for column in opened.columns:
                if column not in wanted:
                    columns.append(pa.nulls(count, pa.string()))
                    continue
                values = batch.column(wanted[column])
                try:
                    columns.append(trim_values(_parquet_text(values)))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise ExtractFileError(opened.path, f"Parquet type {values.type} cannot be read as text: {exc}",
                                           column=column) from None
            columns.append(pa.array(range(next_row, next_row + count), pa.int64()))
            next_row += count
            yield pa.RecordBatch.from_arrays(columns, schema=schema)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ExtractFileError(opened.path, f"Parquet file cannot be read ({exc})") from None
    opened.rows_read = next_row - 1


WHOLE_FLOAT_LIMIT = 1e15   # below it a double holds every whole number exactly, as excel.cell_text assumes


def _parquet_text(values: pa.Array) -> pa.Array:
    """A Parquet column as text. A float column of whole numbers is written as integers, as Excel's cells are
    (excel.cell_text): pandas stores an id column with a missing value as float64, and Arrow writes a double
    of 13 digits or more in scientific notation (5123456789012.0 -> '5.123456789012e+12'), which no id
    in another extract would match."""
    if not pa.types.is_floating(values.type):
        return values.cast(pa.string())
    whole = pc.and_(pc.equal(pc.floor(values), values), pc.less(pc.abs(values), WHOLE_FLOAT_LIMIT))
    integers = pc.if_else(whole, values, pa.scalar(None, values.type)).cast(pa.int64())
    return pc.if_else(whole, integers.cast(pa.string()), values.cast(pa.string()))


def _workbook_batches(opened: OpenedFile) -> Iterator[pa.RecordBatch]:
    rows = 0
    for batch in workbook_batches(opened.workbook, opened.mapping.positions, opened.columns,
                                  batch_schema(opened.columns), BATCH_ROWS):
        rows += batch.num_rows
        columns = [trim_values(batch.column(i)) for i in range(batch.num_columns - 1)]
        yield pa.RecordBatch.from_arrays([*columns, batch.column(batch.num_columns - 1)], schema=batch.schema)
    opened.rows_read = rows
