"""Extract files that stay open across chunks: text (CSV dialects) or Parquet, and orders split by year.

Each `write` appends one chunk's valid rows, with that chunk's bad rows (dirty mode) slotted in after
the valid row each one names.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.sample_data.dirty import BadRow
from pipelines.sample_data.formats import TextDialect


class ExtractFile(Protocol):
    def write(self, table: pa.Table, bad_rows: list[BadRow]) -> None: ...

    def close(self) -> dict[str, int]:
        """Closes the file(s); returns rows written per file name."""
        ...


class TextExtractFile:
    def __init__(self, path: Path, schema: pa.Schema, dialect: TextDialect):
        self._path = path
        self._dialect = dialect
        self._rows = 0
        self._file = open(path, "wb")
        self._file.write(dialect.header(schema.names))

    def write(self, table: pa.Table, bad_rows: list[BadRow]) -> None:
        lines = self._dialect.lines(table)
        if bad_rows:
            bad_lines = self._dialect.lines(
                _bad_rows_table(bad_rows, table.schema),
                text_overrides=[row.text_overrides for row in bad_rows],
                extra_field=[row.extra_field for row in bad_rows],
            )
            lines = pa.concat_arrays([lines, bad_lines]).take(
                _interleaving(table.num_rows, [row.after for row in bad_rows])
            )
        self._file.write(self._dialect.encode(lines))
        self._rows += table.num_rows + len(bad_rows)

    def close(self) -> dict[str, int]:
        self._file.close()
        return {self._path.name: self._rows}


class ParquetExtractFile:
    def __init__(self, path: Path, schema: pa.Schema):
        self._path = path
        self._rows = 0
        self._writer = pq.ParquetWriter(path, schema)

    def write(self, table: pa.Table, bad_rows: list[BadRow]) -> None:
        if any(row.text_overrides or row.extra_field for row in bad_rows):
            raise ValueError("Parquet columns are typed: a bad row needing raw text cannot be written")
        if bad_rows:
            combined = pa.concat_tables([table, _bad_rows_table(bad_rows, table.schema)])
            table = combined.take(_interleaving(table.num_rows, [row.after for row in bad_rows]))
        self._writer.write_table(table)
        self._rows += table.num_rows

    def close(self) -> dict[str, int]:
        self._writer.close()
        return {self._path.name: self._rows}


class FilesByYear:
    """One file per calendar year of a timestamp column (`orders_2025.csv`).

    A bad row goes into the file of the valid row it follows, just after it.
    """

    def __init__(self, timestamp_column: str, open_year: Callable[[int], ExtractFile]):
        self._column = timestamp_column
        self._open_year = open_year
        self._files: dict[int, ExtractFile] = {}

    def write(self, table: pa.Table, bad_rows: list[BadRow]) -> None:
        microseconds = table.column(self._column).combine_chunks().cast(pa.int64()).to_numpy()
        years = microseconds.astype("datetime64[us]").astype("datetime64[Y]").astype(np.int64) + 1970
        for year in np.unique(years):
            rows = np.flatnonzero(years == year)
            own = [row for row in bad_rows if years[max(row.after, 0)] == year]
            placed = [row.placed_after(int(np.searchsorted(rows, row.after))) if row.after >= 0 else row
                      for row in own]
            if int(year) not in self._files:
                self._files[int(year)] = self._open_year(int(year))
            self._files[int(year)].write(table.take(rows), placed)

    def close(self) -> dict[str, int]:
        rows: dict[str, int] = {}
        for year in sorted(self._files):
            rows |= self._files[year].close()
        return rows


def _bad_rows_table(bad_rows: list[BadRow], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist([row.values for row in bad_rows], schema=schema)


def _interleaving(valid_rows: int, afters: list[int]) -> np.ndarray:
    """Take-order of valid rows followed by bad rows, each bad row placed after valid row `after`."""
    keys = np.concatenate([np.arange(valid_rows, dtype=float), np.asarray(afters, dtype=float) + 0.5])
    return np.argsort(keys, kind="stable")
