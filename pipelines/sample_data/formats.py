"""How typed rows become text: the plain CSV dialect and the French Excel one.

Rendering is vectorised: dates and timestamps are spelled digit by digit into fixed-width byte
matrices with numpy, numbers and strings go through Arrow kernels, and a chunk's lines are one Arrow
string array whose data buffer is written to the file as is. `pyarrow.compute.strftime` would be
simpler, but at about 1.6 microseconds a value it alone would take longer than a whole run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.sample_data.tables import cents_from_decimals

_MICROSECONDS_PER_DAY = 86_400 * 1_000_000

# Characters a Latin-1 file cannot hold, and what Excel users would have typed instead.
_LATIN1_REPLACEMENTS = {
    "\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2026": "...", "\u0153": "oe",
    "\u0152": "OE", "\u2013": "-", "\u2014": "-", "\u20ac": "EUR",
}
_NOT_LATIN1 = r"\s*[^\x{0000}-\x{00FF}]+"  # emoji and the like are dropped, with the space before them


@dataclass(frozen=True)
class TextDialect:
    name: str
    delimiter: str
    encoding: str
    line_terminator: str
    decimal_mark: str
    thousands_separator: str        # "" for none
    true_text: str
    false_text: str
    day_first: bool                 # 14/03/2025 rather than 2025-03-14
    timestamp_has_seconds: bool
    # Values the dirty mode writes where a number or a yes/no is expected.
    number_words: tuple[str, ...]
    undecided_booleans: tuple[str, ...]

    def date_text(self, year: int, month: int, day: int) -> str:
        """Spelled without checking, so that dirty rows can write 31/02."""
        return f"{day:02d}/{month:02d}/{year:04d}" if self.day_first else f"{year:04d}-{month:02d}-{day:02d}"

    def timestamp_text(self, year: int, month: int, day: int, hour: int, minute: int, second: int) -> str:
        time = f"{hour:02d}:{minute:02d}" + (f":{second:02d}" if self.timestamp_has_seconds else "")
        return f"{self.date_text(year, month, day)} {time}"

    def header(self, column_names: list[str]) -> bytes:
        return (self.delimiter.join(column_names) + self.line_terminator).encode(self.encoding)

    def lines(self, table: pa.Table, text_overrides: list[dict[str, str]] | None = None,
              extra_field: list[bool] | None = None) -> pa.Array:
        """One string per row, line terminator included. Overrides and extra fields are for dirty rows."""
        cells = [self._cells(table.column(name).combine_chunks()) for name in table.column_names]
        if text_overrides:
            for i, name in enumerate(table.column_names):
                if any(name in row for row in text_overrides):
                    values = cells[i].to_pylist()
                    cells[i] = pa.array([row.get(name, value) for row, value in zip(text_overrides, values)],
                                        pa.string())
        lines = pc.binary_join_element_wise(*[pc.fill_null(c, "") for c in cells], self.delimiter)
        if extra_field and any(extra_field):
            with_extra = pc.binary_join_element_wise(lines, "extra", self.delimiter)
            lines = pc.if_else(pa.array(extra_field), with_extra, lines)
        return pc.binary_join_element_wise(lines, pa.scalar(""), self.line_terminator)

    def _cells(self, values: pa.Array) -> pa.Array:
        kind = values.type
        if pa.types.is_string(kind):
            return self._quoted(self._encodable(values))
        if pa.types.is_date32(kind):
            return _with_nulls_of(values, self._dates(values.fill_null(0).cast(pa.int32()).to_numpy()))
        if pa.types.is_timestamp(kind):
            return _with_nulls_of(values, self._timestamps(values.fill_null(0).cast(pa.int64()).to_numpy()))
        if pa.types.is_decimal(kind):
            unscaled, valid = cents_from_decimals(values)
            unscaled = np.where(valid, unscaled, 0)
            if kind.scale == 2:
                return _with_nulls_of(values, self._amounts(unscaled))
            # Quantities and unit prices: as few decimals as the values need (3, 2.55), never fewer than exact.
            return _with_nulls_of(values, self._scaled(unscaled, kind.scale))
        if pa.types.is_integer(kind):
            return pc.cast(values, pa.string())
        if pa.types.is_boolean(kind):
            return pc.if_else(values, self.true_text, self.false_text)
        raise TypeError(f"no text rendering for {kind}")

    def _dates(self, days: np.ndarray) -> pa.Array:
        year, month, day = _civil(days)
        if self.day_first:
            parts = [_digits(day, 2), _literal("/", len(days)), _digits(month, 2), _literal("/", len(days)),
                     _digits(year, 4)]
        else:
            parts = [_digits(year, 4), _literal("-", len(days)), _digits(month, 2), _literal("-", len(days)),
                     _digits(day, 2)]
        return _fixed_width_strings(parts)

    def _timestamps(self, microseconds: np.ndarray) -> pa.Array:
        days, in_day = np.divmod(microseconds, _MICROSECONDS_PER_DAY)
        seconds = in_day // 1_000_000
        date_text = self._dates(days)
        n = len(days)
        parts = [_literal(" ", n), _digits(seconds // 3600, 2), _literal(":", n),
                 _digits(seconds // 60 % 60, 2)]
        if self.timestamp_has_seconds:
            parts += [_literal(":", n), _digits(seconds % 60, 2)]
        return pc.binary_join_element_wise(date_text, _fixed_width_strings(parts), "")

    def _amounts(self, cents: np.ndarray) -> pa.Array:
        units, hundredths = np.divmod(np.abs(cents), 100)
        text = pc.binary_join_element_wise(
            self._grouped(units), _fixed_width_strings([_digits(hundredths, 2)]), self.decimal_mark
        )
        if (cents < 0).any():
            text = pc.if_else(pa.array(cents < 0), pc.binary_join_element_wise("-", text, ""), text)
        return text

    def _scaled(self, unscaled: np.ndarray, scale: int) -> pa.Array:
        """Numbers of `scale` decimals written with 0 or 2 of them when every value allows, else all."""
        for decimals in (0, 2, scale):
            if not (unscaled % 10 ** (scale - decimals)).any():
                break
        kept = unscaled // 10 ** (scale - decimals)
        if decimals == 0:
            return pc.cast(pa.array(kept), pa.string())
        units, fraction = np.divmod(np.abs(kept), 10 ** decimals)
        text = pc.binary_join_element_wise(pc.cast(pa.array(units), pa.string()),
                                           _fixed_width_strings([_digits(fraction, decimals)]), self.decimal_mark)
        if (kept < 0).any():
            text = pc.if_else(pa.array(kept < 0), pc.binary_join_element_wise("-", text, ""), text)
        return text

    def _grouped(self, units: np.ndarray) -> pa.Array:
        """1234567 -> '1 234 567' when the dialect groups thousands."""
        plain = pc.cast(pa.array(units), pa.string())
        large = units >= 1000
        if not self.thousands_separator or not large.any():
            return plain
        grouped = pc.binary_join_element_wise(
            self._grouped(units // 1000), _fixed_width_strings([_digits(units % 1000, 3)]),
            self.thousands_separator,
        )
        return pc.if_else(pa.array(large), grouped, plain)

    def _encodable(self, values: pa.Array) -> pa.Array:
        if self.encoding == "utf-8" or pc.all(pc.string_is_ascii(values)).as_py() is not False:
            return values
        for character, replacement in _LATIN1_REPLACEMENTS.items():
            values = pc.replace_substring(values, character, replacement)
        return pc.replace_substring_regex(values, _NOT_LATIN1, "")

    def _quoted(self, values: pa.Array) -> pa.Array:
        """RFC 4180: a value holding the delimiter, a quote or a line break is quoted, its quotes doubled."""
        if not _may_contain(values, (self.delimiter, '"', "\n", "\r")):
            return values
        needs_quotes = pc.match_substring_regex(values, f'[{self.delimiter}"\r\n]')
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
        return pc.if_else(needs_quotes, quoted, values)

    def encode(self, lines: pa.Array) -> bytes:
        """The lines as the file's bytes: the Arrow data buffer itself, re-encoded if not UTF-8."""
        if len(lines) == 0:
            return b""
        all_offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
        offsets = all_offsets[lines.offset: lines.offset + len(lines) + 1]
        data = memoryview(lines.buffers()[2])[offsets[0]: offsets[-1]]
        if self.encoding == "utf-8":
            return bytes(data)
        # Strict: a character Latin-1 cannot hold is a bug here, not something to write as '?'.
        return str(data, "utf-8").encode(self.encoding)


CSV = TextDialect(
    name="csv", delimiter=",", encoding="utf-8", line_terminator="\n", decimal_mark=".",
    thousands_separator="", true_text="true", false_text="false", day_first=False,
    timestamp_has_seconds=True, number_words=("twelve", "abc", "x12"),
    undecided_booleans=("maybe", "perhaps", "2"),
)

# What Excel on a French Windows exports: Latin-1, ';', decimal comma, CRLF between records (line
# breaks inside a quoted comment stay LF), dd/mm/yyyy, timestamps to the minute.
FRENCH = TextDialect(
    name="french", delimiter=";", encoding="latin-1", line_terminator="\r\n", decimal_mark=",",
    thousands_separator=" ", true_text="oui", false_text="non", day_first=True,
    timestamp_has_seconds=False, number_words=("douze", "abc", "x12"),
    undecided_booleans=("peut-être", "sans avis", "2"),
)

TEXT_DIALECTS = {d.name: d for d in (CSV, FRENCH)}


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    as_days = days.astype("datetime64[D]")
    months = as_days.astype("datetime64[M]")
    year = as_days.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (as_days - months).astype(np.int64) + 1
    return year, month, day


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded ASCII digits, one row per value."""
    out = np.empty((len(values), width), dtype=np.uint8)
    remaining = np.asarray(values, dtype=np.int64).copy()
    for position in range(width - 1, -1, -1):
        remaining, digit = np.divmod(remaining, 10)
        out[:, position] = digit + ord("0")
    return out


def _literal(text: str, rows: int) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text.encode(), dtype=np.uint8), (rows, len(text)))


def _fixed_width_strings(parts: list[np.ndarray]) -> pa.Array:
    matrix = np.ascontiguousarray(np.concatenate(parts, axis=1))
    rows, width = matrix.shape
    offsets = np.arange(rows + 1, dtype=np.int32) * width
    return pa.Array.from_buffers(pa.string(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(matrix)])


def _with_nulls_of(source: pa.Array, rendered: pa.Array) -> pa.Array:
    if source.null_count == 0:
        return rendered
    return pc.if_else(source.is_valid(), rendered, pa.scalar(None, pa.string()))


def _may_contain(values: pa.Array, characters: tuple[str, ...]) -> bool:
    """A cheap scan of the whole data buffer, to skip the per-value regex on id and code columns."""
    if len(values) == 0 or values.buffers()[2] is None:
        return False
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
    return any((data == ord(c)).any() for c in characters)
