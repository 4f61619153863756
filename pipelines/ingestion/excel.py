"""Spreadsheet workbooks read as an extract file: the same text batches as a CSV file, cell by cell. Excel's
.xlsx (and .xlsm), the Excel 97-2003 .xls an older till or accounting tool still writes, Excel's binary
.xlsb and LibreOffice's .ods: python-calamine reads each with its cells typed, so all are read alike.

A workbook is what a small shop's till or a spreadsheet kept by hand gives, and what the UCI Online Retail
data comes as. Its first visible worksheet with content holds the header on its first row with two values
or more (a report's title rows above it are skipped); every later visible worksheet whose header is the
same continues it (Online Retail II: one sheet per year); other worksheets (notes, a pivot table) are not
read, and a note names them.

Cells are typed in a workbook, so they are written as text the way the contract reads it: dates as ISO
(2010-12-01 08:26:00, whatever the cell's display format), whole numbers without '.0' (a customer id
17850, not 17850.0), other numbers with a decimal point, booleans as true/false. A date typed as text
("01/12/2010") stays text and goes through the same date detection as in a CSV file, and so does a date
column formatted as a number: its serials (45352.75) are read as dates (row_checks.excel_serial_sql).

Rows are numbered as in a CSV file opened in a spreadsheet: record N is the N-th row below the header
(the header on the sheet's row 1: row N + 1 on screen); empty rows are skipped but keep their numbers. A
second sheet's rows continue the numbering after the first sheet's last row; the ledger's dialect names
the worksheets read.

python-calamine (Rust, no dependencies) is imported only when a workbook is read. A UCI-sized workbook
(532,000 lines, 17 MB) ingests in about 11 s: 4.7 s for calamine to load the sheet, 3 s to turn its
cells into text, the rest as for a CSV file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from pipelines.ingestion.errors import ExtractFileError

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
WORKBOOK_FORMATS = tuple(suffix[1:] for suffix in EXCEL_SUFFIXES)  # readers.file_format_of


@dataclass
class Workbook:
    """The worksheets that hold the extract's rows, in order, and the ones left unread."""

    path: Path
    header: list[str]
    sheets: list[str]                                  # read, the first one's header row first
    header_rows: dict[str, int]                        # sheet -> 0-based index of its header row
    not_read: list[str] = field(default_factory=list)  # visible worksheets with content and another header
    # The sheets as loaded to find the header (calamine loads a whole sheet, 5 s for 500,000 rows), kept for
    # the read that usually follows and handed over to it.
    loaded: dict = field(default_factory=dict, repr=False)
    # Sheets whose row right under the header is a second header row (SurveyMonkey's sub-headers): skipped,
    # the rows below keeping their numbers
    sub_header_sheets: set[str] = field(default_factory=set)

    def notes(self, file_name: str) -> list[str]:
        if not self.not_read:
            return []
        names = ", ".join(f"'{name}'" for name in self.not_read)
        return [f"{file_name}: worksheet(s) {names} not read: their first row is not the header of "
                f"'{self.sheets[0]}' (save a sheet of other rows as its own file)"]


def cell_text(value: object) -> str | None:
    """A cell as the text a CSV export of it would hold; None for an empty cell."""
    if type(value) is str:  # the most common cell first: a workbook can hold a million rows
        return value or None
    if value is None:
        return None
    if isinstance(value, bool):  # before int: a bool is an int
        return "true" if value else "false"
    if isinstance(value, float):
        # Excel stores every number as a double: 17850.0 is the customer id 17850.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _open(path: Path):
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        return CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        raise ExtractFileError(path, f"is not a readable workbook ({exc}); save it again from the "
                                     "spreadsheet as .xlsx, or as CSV") from None


def _visible_worksheets(workbook) -> list[str]:
    from python_calamine import SheetTypeEnum, SheetVisibleEnum

    return [sheet.name for sheet in workbook.sheets_metadata
            if sheet.typ == SheetTypeEnum.WorkSheet and sheet.visible == SheetVisibleEnum.Visible]


MAX_TITLE_ROWS = 10


def _header_row(rows: Iterator[list]) -> tuple[int, list[str]] | None:
    """The index and text of the header: the first row with values in two cells or more, below up to
    MAX_TITLE_ROWS rows of one value each (a report's title, its date: no extract has a single column);
    else the first row with a value. None for an empty sheet."""
    first = None
    titles = 0
    for index, row in enumerate(rows):
        valued = sum(1 for value in row if _has_value(value))
        if not valued:
            continue
        if first is None:
            first = (index, row)
        if valued >= 2:
            return index, _header_texts(row)
        titles += 1
        if titles > MAX_TITLE_ROWS:
            break
    return (first[0], _header_texts(first[1])) if first is not None else None


def _header_texts(row: list) -> list[str]:
    texts = [cell_text(value) for value in row]
    while texts and (texts[-1] is None or not texts[-1].strip()):
        texts.pop()  # a formatted but empty cell widens the sheet: not a column
    return [(text or "").strip() for text in texts]


def open_workbook(path: Path) -> Workbook:
    """The workbook's header and the worksheets holding its rows. calamine loads each visible sheet whole:
    the ones holding rows are kept in `loaded` for the read that follows."""
    workbook = _open(path)
    try:
        header, sheets, header_rows, not_read, loaded = None, [], {}, [], {}
        for name in _visible_worksheets(workbook):
            sheet = workbook.get_sheet_by_name(name)
            found = _header_row(sheet.iter_rows())
            if found is None:
                continue
            index, row = found
            if header is None or row == header:
                header = header if header is not None else row
                sheets.append(name)
                header_rows[name] = index
                loaded[name] = sheet
            else:
                not_read.append(name)
    finally:
        workbook.close()
    if header is None:
        raise ExtractFileError(path, "is an Excel workbook with no visible worksheet holding a value; the rows "
                                     "go on the first worksheet, below a header row")
    return Workbook(path, header, sheets, header_rows, not_read=not_read, loaded=loaded)


def row_below_header(book: Workbook, name: str) -> list[str]:
    """The texts of the row right under a read sheet's header, as wide as the header (empty cells: '')."""
    sheet = book.loaded.get(name)
    if sheet is None:
        return []
    below = book.header_rows[name] + 1
    for index, row in enumerate(sheet.iter_rows()):
        if index == below:
            texts = [cell_text(value) or "" for value in row]
            width = len(book.header)
            if any(text.strip() for text in texts[width:]):
                return texts  # values beyond the header's columns: not a row of sub-headers
            return texts[:width] + [""] * (width - len(texts))
    return []


def workbook_batches(book: Workbook, positions: dict[str, int], columns: list[str], schema: pa.Schema,
                     batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Batches of `columns` as text (cells at `positions`; absent columns null) plus `_source_row`. Rows
    with no value at all are skipped."""
    workbook = None  # opened again only for sheets no longer loaded (a second read of the file)
    try:
        row_base = 0  # rows of the sheets before: the next sheet's numbers continue after them
        for name in book.sheets:
            sheet = book.loaded.pop(name, None)
            if sheet is None:
                workbook = workbook or _open(book.path)
                sheet = workbook.get_sheet_by_name(name)
            header_row = book.header_rows[name]
            cells: dict[str, list[str | None]] = {column: [] for column in positions}
            numbers: list[int] = []
            number = row_base
            last_header_row = header_row + (1 if name in book.sub_header_sheets else 0)
            for index, row in enumerate(sheet.iter_rows()):
                if index <= last_header_row:
                    continue
                number = row_base + index - header_row
                if not any(_has_value(value) for value in row):
                    continue
                for column, position in positions.items():
                    cells[column].append(cell_text(row[position]) if position < len(row) else None)
                numbers.append(number)
                if len(numbers) == batch_rows:
                    yield _batch(cells, numbers, columns, schema)
                    cells, numbers = {column: [] for column in positions}, []
            if numbers:
                yield _batch(cells, numbers, columns, schema)
            row_base = number
            del sheet  # its cells are in the batches: free the sheet before the next one loads
    finally:
        if workbook is not None:
            workbook.close()


def _has_value(value: object) -> bool:
    text = cell_text(value)
    return text is not None and bool(text.strip())


def _batch(cells: dict[str, list[str | None]], numbers: list[int], columns: list[str],
           schema: pa.Schema) -> pa.RecordBatch:
    arrays = [pa.array(cells[column], pa.string()) if column in cells else pa.nulls(len(numbers), pa.string())
              for column in columns]
    return pa.RecordBatch.from_arrays([*arrays, pa.array(numbers, pa.int64())], schema=schema)
