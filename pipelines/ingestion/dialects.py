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

from pipelines.ingestion.contracts import ColumnType, Extract
from pipelines.ingestion.errors import ExtractFileError
from pipelines.ingestion.source_config import ReadOptions

CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 1 << 20

_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_COMMA_DECIMAL = re.compile(r"^\s*[-+]?\d{1,3}(?:[ .\u00a0\u202f]\d{3})*,\d+\s*$")
_POINT_DECIMAL = re.compile(r"^\s*[-+]?\d{1,3}(?:,\d{3})*\.\d+\s*$|^\s*[-+]?\d+\.\d+\s*$")


@dataclass(frozen=True)
class FileFacts:
    """What one pass over the whole file learnt, besides its checksum."""

    size_bytes: int
    is_valid_utf8: bool
    has_odd_quote_count: bool


@dataclass(frozen=True)
class CsvDialect:
    delimiter: str
    encoding: str
    decimal: str
    date_order: str
    encoding_is_damaged: bool = False  # UTF-8 with a few undecodable bytes: those rows are quarantined

    def describe(self) -> dict:
        return {"delimiter": self.delimiter, "encoding": self.encoding, "decimal": self.decimal,
                "date_order": self.date_order}


@dataclass(frozen=True)
class HeaderMapping:
    """Where each canonical column sits in the file (0-based field index)."""

    positions: dict[str, int]
    field_count: int
    unknown_columns: list[str] = field(default_factory=list)


def normalise_header(name: str) -> str:
    name = unicodedata.normalize("NFKD", name.replace("\ufeff", "").strip())
    name = "".join(ch for ch in name if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_")


def map_header(path: Path, extract: Extract, headers: list[str], explicit: dict[str, str]) -> HeaderMapping:
    """Map file headers onto canonical columns: explicit mapping and canonical names first, then aliases."""
    explicit_normalised = {normalise_header(k): v for k, v in explicit.items()}
    canonical = set(extract.column_names)
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

    for index, header in enumerate(headers):
        key = normalise_header(header)
        target = explicit.get(header) or explicit_normalised.get(key)
        if target is None and key in canonical:
            target = key
        if target is not None and target in canonical:
            assign(target, index)
        else:
            unresolved.append(index)
    unknown = []
    for index in unresolved:
        target = extract.aliases.get(normalise_header(headers[index]))
        if target is not None and target not in assigned:
            assign(target, index)
        elif target is not None:
            unknown.append(headers[index])  # an alias of a column the file already has under its own name
        else:
            unknown.append(headers[index])
    missing = [c.name for c in extract.columns if c.required and c.name not in assigned]
    if missing:
        raise ExtractFileError(
            path,
            f"required column missing (found columns: {', '.join(repr(h) for h in headers)}); "
            f"a {extract.name} extract needs {', '.join(c.name for c in extract.columns if c.required)}",
            column=missing[0],
        )
    return HeaderMapping(positions=assigned, field_count=len(headers), unknown_columns=unknown)


def detect_encoding(path: Path, facts: FileFacts, head: bytes, requested: str | None) -> tuple[str, bool]:
    """Return (encoding, damaged): damaged means mostly UTF-8 with some bytes that are not."""
    if requested:
        return requested, False
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", not facts.is_valid_utf8
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", False
    if facts.is_valid_utf8:
        return "utf-8", False
    # Not valid UTF-8: a single-byte legacy file (Excel on Windows writes cp1252), or a UTF-8 file with a
    # few damaged bytes. Valid multi-byte sequences outnumbering invalid bytes mean the latter.
    data = path.read_bytes() if facts.size_bytes <= 64 * SAMPLE_BYTES else head
    valid_multibyte = len(_UTF8_MULTIBYTE.findall(data))
    high_bytes = sum(1 for b in data if b >= 0x80)
    invalid = high_bytes - sum(len(m) for m in _UTF8_MULTIBYTE.findall(data))
    if valid_multibyte > invalid:
        return "utf-8", True
    try:
        data.decode("cp1252")
        return "cp1252", False
    except UnicodeDecodeError:
        return "latin-1", False


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
    if encoding.startswith("utf-8") and text.startswith("\ufeff"):
        text = text[1:]
    candidates = (options.delimiter,) if options.delimiter else CANDIDATE_DELIMITERS
    best: tuple[int, int, str, list[str]] | None = None
    for delimiter in candidates:
        records = first_records(text, delimiter, 1)
        if not records:
            continue
        headers = records[0]
        recognised = _recognised_columns(extract, headers, options.column_mapping)
        score = (recognised, len(headers))
        if best is None or score > best[:2]:
            best = (recognised, len(headers), delimiter, headers)
    if best is None or best[0] == 0:
        raise ExtractFileError(
            path,
            f"header not recognised: none of the columns {', '.join(extract.column_names)} found with "
            f"separator {' or '.join(repr(d) for d in candidates)}",
            line=1,
        )
    _, _, delimiter, headers = best
    mapping = map_header(path, extract, headers, options.column_mapping)
    decimal = options.decimal or _detect_decimal(text, delimiter, extract, mapping)
    return CsvDialect(delimiter, encoding, decimal, options.date_order, damaged), mapping


def _recognised_columns(extract: Extract, headers: list[str], explicit: dict[str, str]) -> int:
    canonical = set(extract.column_names)
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
    positions = [mapping.positions[c.name] for c in extract.columns
                 if c.type in (ColumnType.DECIMAL, ColumnType.INTEGER) and c.name in mapping.positions]
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
