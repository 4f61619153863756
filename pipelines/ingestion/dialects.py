"""Recognise how a CSV file was written: encoding, separator, decimal mark, and which column is which.

Exports from French tools use `;`, a decimal comma and Latin-1 (Windows-1252); others use `,` and UTF-8,
sometimes with a byte-order mark. Detection looks at the file itself, and `retentio_sources.yml` can
pin any of it when detection cannot know (month-first dates, an ambiguous header).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.ingestion.compression import read_content
from pipelines.ingestion.contracts import ColumnType, Extract
from pipelines.ingestion.errors import ExtractFileError
from pipelines.ingestion.source_config import ReadOptions

CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 1 << 20

_COMMA_DECIMAL = re.compile(r"^\s*[-+]?\d{1,3}(?:[ .\u00a0\u202f]\d{3})*,\d+\s*$")
_POINT_DECIMAL = re.compile(r"^\s*[-+]?\d{1,3}(?:,\d{3})*\.\d+\s*$|^\s*[-+]?\d+\.\d+\s*$")


@dataclass(frozen=True)
class FileFacts:
    """What one pass over the whole file learnt, besides its checksum."""

    size_bytes: int
    is_valid_utf8: bool
    has_odd_quote_count: bool


# How the warnings and `make check-extracts` say that a file's second header row was not read as data.
SECOND_HEADER_ROW = "second header row skipped"


@dataclass(frozen=True)
class CsvDialect:
    delimiter: str
    encoding: str
    decimal: str
    date_order: str | None             # None: detected from the dates themselves when the file is parsed
    encoding_is_damaged: bool = False  # UTF-8 with a few undecodable bytes: those rows are quarantined
    header_line: int = 1               # after blank lines or Excel's `sep=;` line, when a file starts with them
    # 2: a second header row under the header (SurveyMonkey's sub-headers), skipped; it keeps its number, 1,
    # so that the answers are numbered as in the file
    header_rows: int = 1

    def describe(self) -> dict:
        described = {"delimiter": self.delimiter, "encoding": self.encoding, "decimal": self.decimal,
                     "date_order": self.date_order or "detect"}
        if self.header_line != 1:
            described["header_line"] = self.header_line
        if self.header_rows != 1:
            described["header_rows"] = self.header_rows
        return described


@dataclass(frozen=True)
class HeaderMapping:
    """Where each canonical column sits in the file (0-based field index)."""

    positions: dict[str, int]
    field_count: int
    unknown_columns: list[str] = field(default_factory=list)
    # Fields after the last named header: a trailing separator some exporters add. A record may have
    # more or fewer of them as long as they are empty.
    named_field_count: int | None = None
    line_level: bool = False           # one row per order line (quantity and unit_price), rolled up into orders
    headers: dict[str, str] = field(default_factory=dict)  # canonical column -> the header it was found under
    # Columns the file does not hold but states for every row (readers.read_batches fills them in): a
    # partitioned dataset's folder values (orders/order_date=2024-01-01/part-0.parquet: Spark writes the
    # partition column into the path only), the currency a money column's header names ("Amount spent
    # (USD)"). Column -> (value, where it comes from).
    constants: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def present(self) -> set[str]:
        """The columns every row has a value for, from its fields or stated for the whole file."""
        return set(self.positions) | set(self.constants)

    @property
    def fields_needed(self) -> int:
        return self.field_count if self.named_field_count is None else self.named_field_count

    def date_columns(self, extract: Extract) -> list[str]:
        """The file's columns read as dates or timestamps: what the day/month order matters to."""
        return [c.name for c in extract.file_columns(self.line_level)
                if c.type in (ColumnType.DATE, ColumnType.TIMESTAMP) and c.name in self.positions]

    def absent_derived(self, extract: Extract) -> list[str]:
        """Required columns the file leaves out that are worked out instead (an order's status)."""
        return [name for name in extract.derived_when_absent if name not in self.present]


def normalise_header(name: str) -> str:
    name = unicodedata.normalize("NFKD", name.replace("\ufeff", "").strip())
    name = "".join(ch for ch in name if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_")


def map_header(path: Path, extract: Extract, headers: list[str], explicit: dict[str, str],
               folder_values: dict[str, str] | None = None) -> HeaderMapping:
    """Map file headers onto canonical columns: the explicit mapping first, then canonical names, then aliases.

    An explicit mapping wins over a header that happens to carry the canonical name (a WooCommerce export
    mapped `customer_email: customer_id` also has a `customer_id` column, 0 for guests): that header is
    ignored, like any unknown column. `folder_values` ({order_date: 2024-01-01} from the file's folder
    `order_date=2024-01-01`) give the columns the file's own headers leave out; the others are ignored.
    """
    explicit_normalised = {normalise_header(k): v for k, v in explicit.items()}
    canonical = set(extract.input_column_names)
    assigned: dict[str, int] = {}
    unresolved: list[int] = []

    def assign(column: str, index: int) -> None:
        if column in assigned:
            first = assigned[column]
            raise ExtractFileError(
                path,
                f"column appears twice: as {headers[first]!r} (field {first + 1}) and {headers[index]!r} "
                f"(field {index + 1}); rename one or map it in retentio_sources.yml",
                column=column,
            )
        assigned[column] = index

    by_name: list[tuple[int, str]] = []
    for index, header in enumerate(headers):
        key = normalise_header(header)
        target = explicit.get(header) or explicit_normalised.get(key)
        if target is not None and target in canonical:
            assign(target, index)
        elif key in canonical:
            by_name.append((index, key))
        else:
            unresolved.append(index)
    for index, key in by_name:
        if key in assigned and key in explicit.values():
            unresolved.append(index)  # the explicit mapping took this column: the header of that name is ignored
        else:
            assign(key, index)
    unknown = []
    for index in sorted(unresolved):
        target = extract.aliases.get(normalise_header(headers[index])) or _asked_for(extract, headers[index])
        if target is not None and target not in assigned:
            assign(target, index)
        else:
            # Not a contract column, or an alias of one the file already has under its own name.
            unknown.append(headers[index] if headers[index].strip() else f"(unnamed field {index + 1})")
    constants = {}
    for key, value in (folder_values or {}).items():
        target = _column_named(extract, key, explicit, explicit_normalised)
        if target is not None and target not in assigned and target not in constants:
            constants[target] = (value, f"the folder {key}={value}")
    line_level = _is_line_level(extract, assigned)
    if extract.lines is not None:
        unknown += _unused_line_columns(extract, headers, assigned, line_level)
    needed = _required_columns(extract, line_level, set(assigned) | set(constants))
    missing = [name for name in needed if name not in assigned and name not in constants]
    if missing:
        raise ExtractFileError(
            path,
            f"required column{'s' if len(missing) > 1 else ''} missing "
            f"(found columns: {', '.join(repr(h) for h in headers)}); {_what_the_extract_needs(extract)}",
            columns=tuple(missing),
        )
    named = max((i + 1 for i, h in enumerate(headers) if h.strip()), default=0)
    money = next((c for c in ("amount", "unit_price") if c in assigned), None)
    if money and "currency" in extract.column_names and "currency" not in assigned | constants.keys():
        named_currency = _currency_named_in(headers[assigned[money]])
        if named_currency is not None:
            constants["currency"] = (named_currency, f"the header {headers[assigned[money]]!r}")
    return HeaderMapping(positions=assigned, field_count=len(headers), unknown_columns=unknown,
                         named_field_count=named if named < len(headers) else None, line_level=line_level,
                         headers={column: headers[index] for column, index in assigned.items()},
                         constants=constants)


def _column_named(extract: Extract, name: str, explicit: dict[str, str],
                  explicit_normalised: dict[str, str]) -> str | None:
    """The extract's column a name stands for, in map_header's order: mapped in retentio_sources.yml (a
    `files` rule's mapping may name another extract's column: not this one's), the column's own, an alias."""
    key = normalise_header(name)
    target = explicit.get(name) or explicit_normalised.get(key)
    if target in extract.input_column_names:
        return target
    return key if key in extract.input_column_names else extract.aliases.get(key)


_CURRENCY_TOKEN = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])|([€£])")


def _currency_named_in(header: str) -> str | None:
    """The one currency a header names, by its ISO code in capitals or its symbol (`Amount spent (EUR)`,
    `Cost (USD)`, `Montant (€)`); None for none or several. Capitals only: `all` is no Albanian lek."""
    from pipelines.ingestion.row_checks import CURRENCY_SYMBOLS, ISO_4217_CODES

    named = {code or CURRENCY_SYMBOLS[symbol] for code, symbol in _CURRENCY_TOKEN.findall(header)
             if symbol or code in ISO_4217_CODES}
    return named.pop() if len(named) == 1 else None


def _asked_for(extract: Extract, header: str) -> str | None:
    """The column a header written as a question asks for (a survey tool's score column), if any; not a
    column the tool derives from the answer (Qualtrics' "How likely … recommend …? - Group": Promoter)."""
    words = normalise_header(header)
    if any(word in words for word in _DERIVED_FROM_THE_ANSWER):
        return None
    return next((column for word, column in extract.question_words.items() if word in words), None)


_DERIVED_FROM_THE_ANSWER = ("group", "categor", "segment")


def _is_line_level(extract: Extract, assigned: dict[str, int]) -> bool:
    if extract.lines is None:
        return False
    quantity, unit_price = extract.lines.required_names
    # Both, or one without an amount to fall back on (then the other is reported missing).
    return (quantity in assigned and unit_price in assigned) or (
        (quantity in assigned or unit_price in assigned) and extract.lines.replaces not in assigned)


def _unused_line_columns(extract: Extract, headers: list[str], assigned: dict[str, int], line_level: bool) -> list[str]:
    """Columns that do not apply to the file's shape: they are dropped from the mapping and reported."""
    unused = []
    if line_level and extract.lines.replaces in assigned:
        index = assigned.pop(extract.lines.replaces)
        unused.append(f"{headers[index]} ({extract.lines.replaces} is computed from the lines)")
    if not line_level:
        for column in extract.lines.column_names:
            if column in assigned:
                index = assigned.pop(column)
                unused.append(f"{headers[index]} ({column} without "
                              f"{' and '.join(c for c in extract.lines.required_names if c != column)}: "
                              f"read one row per order)")
    return unused


def _required_columns(extract: Extract, line_level: bool = False,
                      present: set[str] | None = None) -> list[str]:
    """The columns a file must have: the required ones but those worked out when absent (from the
    `present` columns they need); in a file of order lines, quantity and unit_price instead of amount."""
    present = present or set()

    def worked_out(name: str) -> bool:
        derived = extract.derived_when_absent.get(name)
        return derived is not None and set(derived.needs) <= present

    needed = [c.name for c in extract.columns if c.required and not worked_out(c.name)]
    if line_level:
        position = needed.index(extract.lines.replaces)
        needed[position:position + 1] = extract.lines.required_names
    return needed


def _what_the_extract_needs(extract: Extract) -> str:
    text = f"the {extract.name} extract needs {', '.join(_required_columns(extract))}"
    if extract.lines is not None:
        text += (f" ({extract.lines.replaces}, or {' and '.join(extract.lines.required_names)} for a file with "
                 "one row per order line)")
    return text


def detect_encoding(path: Path, facts: FileFacts, head: bytes, requested: str | None) -> tuple[str, bool]:
    """Return (encoding, damaged): damaged means mostly UTF-8 with some bytes that are not."""
    if requested:
        return requested, False
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", not facts.is_valid_utf8
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", False
    unmarked_utf16 = _utf16_without_bom(head)
    if unmarked_utf16:
        return unmarked_utf16, False
    if facts.is_valid_utf8:
        return "utf-8", False
    # Not valid UTF-8: a single-byte legacy file (Excel on Windows writes cp1252), or a UTF-8 file with a
    # few damaged bytes. Latin-1 text rarely holds a valid UTF-8 sequence by accident (an accented capital
    # followed by a symbol such as ©), so a few of them outweigh several stray bytes. Guessing UTF-8
    # wrongly shows (rows quarantined as undecodable); guessing cp1252 wrongly would not (mojibake loaded).
    # Counted with the codecs and numpy, in C: a regular expression over a 50 MB export took 10 s.
    data = read_content(path) if facts.size_bytes <= 64 * SAMPLE_BYTES else head
    as_utf8 = data.decode("utf-8", errors="replace")
    invalid = as_utf8.count("\ufffd")  # about one per byte that is not part of a UTF-8 sequence
    sequences = len(as_utf8) - len(as_utf8.encode("ascii", errors="ignore")) - invalid
    if sequences * 4 >= invalid:
        return "utf-8", True
    try:
        data.decode("cp1252")
        windows = "cp1252"
    except UnicodeDecodeError:
        windows = "latin-1"
    # Excel for Mac's "CSV (Macintosh)" is Mac Roman, where é is 0x8E (Ž in cp1252): the encoding that puts
    # accented lower-case letters inside words is the one the text was written in.
    beside_letters = _high_bytes_beside_lower_case_letters(data)
    if _accented_letters(beside_letters, "mac_roman") > _accented_letters(beside_letters, windows):
        return "mac_roman", False
    return windows, False


def _high_bytes_beside_lower_case_letters(data: bytes):
    """How often each byte value (0x80-0xFF) stands right before or after an ASCII lower-case letter."""
    import numpy as np  # loads when a legacy-encoded file is met, not with the code location

    values = np.frombuffer(data, dtype=np.uint8)
    lower = (values >= ord("a")) & (values <= ord("z"))
    beside = np.zeros(len(values), dtype=bool)
    beside[1:] |= lower[:-1]
    beside[:-1] |= lower[1:]
    return np.bincount(values[(values >= 0x80) & beside], minlength=256)


_ACCENTED_LOWER_CASE = re.compile(r"[à-öø-ÿ]")


def _accented_letters(counts, encoding: str) -> int:
    """Of the bytes counted, those that are accented lower-case letters in `encoding` (the é of
    'référence')."""
    return int(sum(counts[byte] for byte in range(0x80, 0x100)
                   if _ACCENTED_LOWER_CASE.fullmatch(bytes([byte]).decode(encoding, errors="replace"))))


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 saved without a byte-order mark: text of mostly ASCII has a zero in every other byte."""
    sample = head[:4096]
    if b"\x00" not in sample or len(sample) < 4:
        return None
    zeros_even, zeros_odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if zeros_odd > half * 0.6 and zeros_even < half * 0.1:
        return "utf-16-le"
    if zeros_even > half * 0.6 and zeros_odd < half * 0.1:
        return "utf-16-be"
    return None


_BLANK_LINE = re.compile(r"[ \t]*(?:\r\n|\r|\n)")
_EXCEL_SEPARATOR_LINE = re.compile(r"(?i)sep=(.)[ \t]*(?:\r\n|\r|\n|$)")


def skip_preamble(text: str) -> tuple[int, str | None, str]:
    """Blank lines and Excel's `sep=;` line before the header: (lines skipped, separator named, the rest)."""
    skipped, position, separator = 0, 0, None
    while match := _BLANK_LINE.match(text, position):
        skipped, position = skipped + 1, match.end()
    if match := _EXCEL_SEPARATOR_LINE.match(text, position):
        skipped, position, separator = skipped + 1, match.end(), match.group(1)
        while match := _BLANK_LINE.match(text, position):
            skipped, position = skipped + 1, match.end()
    return skipped, separator, text[position:]


def first_records(text: str, delimiter: str, limit: int) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True)
    records = []
    try:
        for record in reader:
            records.append(record)
            if len(records) >= limit:
                break
    except csv.Error:
        pass  # the sample may end inside a quoted field; what was read is enough to sniff
    return records


def detect_dialect(
    path: Path, extract: Extract, facts: FileFacts, head: bytes, options: ReadOptions
) -> tuple[CsvDialect, HeaderMapping]:
    if facts.size_bytes == 0 or not head.strip():
        raise ExtractFileError(path, "file is empty: no header row (expected columns "
                               f"{', '.join(extract.column_names)})")
    encoding, damaged = detect_encoding(path, facts, head, options.encoding)
    text = head.decode(encoding, errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines_skipped, excel_separator, text = skip_preamble(text)
    if not text.strip():
        raise ExtractFileError(path, "no header row: the file holds only blank lines"
                               + (" and a separator line" if excel_separator else ""))
    candidates = (options.delimiter or excel_separator,) if options.delimiter or excel_separator \
        else CANDIDATE_DELIMITERS
    best = _likeliest_header(text, extract, options, candidates)
    if best is None or best[0] == 0:
        below_titles = _header_below_title_lines(text, extract, options, candidates)
        if below_titles is not None:
            title_lines, text, best = below_titles
            lines_skipped += title_lines
    if best is None or best[0] == 0:
        raise ExtractFileError(
            path,
            f"header not recognised: none of the columns {', '.join(extract.input_column_names)} found with "
            f"separator {' or '.join(repr(d) for d in candidates)}",
            line=lines_skipped + 1,
        )
    _, _, delimiter, headers = best
    mapping = map_header(path, extract, headers, options.column_mapping, options.folder_values)
    decimal = options.decimal or _detect_decimal(text, delimiter, extract, mapping)
    header_rows = 2 if _sub_header_below(text, delimiter, extract, mapping) else 1
    return CsvDialect(delimiter, encoding, decimal, options.date_order, damaged, lines_skipped + 1,
                      header_rows), mapping


def _likeliest_header(text: str, extract: Extract, options: ReadOptions, candidates
                      ) -> tuple[int, int, str, list[str]] | None:
    """(columns recognised, fields, separator, headers) of the first record of `text` under the separator
    recognising the most columns; None when `text` holds no record."""
    best = None
    for delimiter in candidates:
        records = first_records(text, delimiter, 1)
        if not records:
            continue
        headers = records[0]
        recognised = _recognised_columns(extract, headers, options.column_mapping)
        score = (recognised, len(headers))
        if best is None or score > best[:2]:
            best = (recognised, len(headers), delimiter, headers)
    return best


MAX_TITLE_LINES = 10


def _header_below_title_lines(text: str, extract: Extract, options: ReadOptions, candidates):
    """A report's title lines above the header ('Sales report;;;', a date, blank lines), as spreadsheets and
    ad platforms export them: (lines skipped, the text from the header on, its header), for the first of the
    next MAX_TITLE_LINES lines recognised as a header with at least two columns (one could be a title's
    word); None when there is none."""
    lines = text.splitlines(keepends=True)
    for skipped in range(1, min(MAX_TITLE_LINES, len(lines) - 1) + 1):
        if not lines[skipped].strip():
            continue
        rest = "".join(lines[skipped:])
        best = _likeliest_header(rest, extract, options, candidates)
        if best is not None and best[0] >= 2:
            return skipped, rest, best
    return None


# Types a word cannot be a value of: a sub-header's 'Response' under a score or a date is no data.
_TYPES_NO_WORD_IS = (ColumnType.DATE, ColumnType.TIMESTAMP, ColumnType.DECIMAL, ColumnType.INTEGER,
                     ColumnType.QUANTITY, ColumnType.UNIT_PRICE)
_DIGIT = re.compile(r"\d")
_QUALTRICS_IMPORT_ID = '{"ImportId"'


def _is_label(value: str) -> bool:
    """Words, not data: 'Response', 'Open-Ended Response', 'Very likely'; no digit (a score, a date, an
    id)."""
    return any(ch.isalpha() for ch in value) and not _DIGIT.search(value)


def _sub_header_below(text: str, delimiter: str, extract: Extract, mapping: HeaderMapping) -> bool:
    """Whether the record right under the header of a text file is a second header row."""
    records = first_records(text, delimiter, 2)
    return len(records) >= 2 and is_sub_header_row(records[1], extract, mapping)


def is_sub_header_row(record: list[str], extract: Extract, mapping: HeaderMapping) -> bool:
    """Whether `record`, the one right under the header, is a second header row, as SurveyMonkey's exports
    have (CSV and workbook): the question texts on the first row, `Response`, `Open-Ended Response` or an
    answer's label under them on the second, nothing under `Respondent ID`, `Start Date`, `End Date`.

    Narrowly, so that a genuine first row is never skipped: every value of the record is a label or empty;
    every required column fails typing, empty or a label where a number or a date belongs, with at least one
    such label; and no column holds a value it could take (a word under an id, a currency code, a yes/no).
    Only an optional text column may hold a label (the comment's 'Open-Ended Response').

    Qualtrics' third header row, `{"ImportId":"QID1"}` under every column, is one too."""
    if len(record) != mapping.field_count:
        return False
    record = [value.strip() for value in record]
    if any(record) and all(value.startswith(_QUALTRICS_IMPORT_ID) for value in record if value):
        return True
    if not all(_is_label(value) for value in record if value):
        return False
    labelled_where_no_word_is = False
    for column in extract.file_columns(mapping.line_level):
        value = record[mapping.positions[column.name]] if column.name in mapping.positions else ""
        if not value:
            continue
        if column.type in _TYPES_NO_WORD_IS:
            labelled_where_no_word_is = labelled_where_no_word_is or column.required
        elif column.required or column.type is not ColumnType.TEXT:
            return False  # a word it can hold: a row of data
    return labelled_where_no_word_is


def _recognised_columns(extract: Extract, headers: list[str], explicit: dict[str, str]) -> int:
    canonical = set(extract.input_column_names)
    explicit_normalised = {normalise_header(k) for k in explicit}
    return sum(
        1
        for h in headers
        if normalise_header(h) in canonical
        or h in explicit
        or normalise_header(h) in explicit_normalised
        or normalise_header(h) in extract.aliases
    )


def _detect_decimal(text: str, delimiter: str, extract: Extract, mapping: HeaderMapping) -> str:
    """Decide the decimal mark from the amounts themselves; `;` files default to the comma."""
    numeric = (ColumnType.DECIMAL, ColumnType.INTEGER, ColumnType.QUANTITY, ColumnType.UNIT_PRICE)
    positions = [mapping.positions[c.name] for c in extract.input_columns
                 if c.type in numeric and c.name in mapping.positions]
    comma = point = 0
    for record in first_records(text, delimiter, 5000)[1:]:
        for position in positions:
            if position < len(record):
                value = record[position]
                comma += bool(_COMMA_DECIMAL.match(value))
                point += bool(_POINT_DECIMAL.match(value))
    if comma != point:
        return "," if comma > point else "."
    return "," if delimiter == ";" else "."
