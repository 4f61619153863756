"""Spreadsheet workbooks as extracts: the UCI Online Retail file as a spreadsheet holds it (typed cells)
loads to the same orders as its CSV export, worksheets continue one another, a till's .xls and a
LibreOffice .ods are read alike, and a file that is no workbook is named in the error."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import xlsxwriter

from pipelines.ingestion.errors import ExtractFileError
from pipelines.ingestion.excel import cell_text
from tests.ingestion.test_order_lines import expected_rows, ingest_orders, loaded_orders
from tests.ingestion.uci_online_retail import write_uci_file


def typed(header: str, text: str):
    """A UCI cell as Excel holds it after opening the CSV: numbers and dates typed, the rest text."""
    if text == "":
        return None
    if header in ("Quantity", "UnitPrice", "CustomerID"):
        return float(text)
    if header == "InvoiceDate":
        return datetime.strptime(text, "%m/%d/%Y %H:%M")
    return text


def write_workbook(path: Path, sheets: dict[str, list[list]], hidden: tuple[str, ...] = ()) -> None:
    workbook = xlsxwriter.Workbook(path)
    when = workbook.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, datetime):
                    sheet.write_datetime(r, c, value, when)
                elif value is not None:
                    sheet.write(r, c, value)
        if name in hidden:
            sheet.hide()
    workbook.close()


def uci_rows(csv_path: Path) -> tuple[list, list[list]]:
    with csv_path.open(encoding="cp1252", newline="") as handle:
        header, *records = list(csv.reader(handle))
    return header, [[typed(h, v) for h, v in zip(header, record)] for record in records]


@pytest.fixture(scope="module")
def uci_export(tmp_path_factory) -> Path:
    """The UCI-shaped file as CSV, outside any landing directory: what the workbooks are made from."""
    path = tmp_path_factory.mktemp("uci") / "online_retail.csv"
    write_uci_file(path)
    return path


def test_the_uci_workbook_loads_the_same_orders_as_its_csv_export(uci_export, tmp_path):
    header, rows = uci_rows(uci_export)
    landing = tmp_path / "landing"
    landing.mkdir()
    write_workbook(landing / "orders_online_retail.xlsx", {"Online Retail": [header, *rows]})

    _, result = ingest_orders(landing, tmp_path / "warehouse")

    # Dates typed as dates are read as dates, whatever their display format: nothing to tell day from month.
    assert loaded_orders(tmp_path / "warehouse") == expected_rows(uci_export, "cp1252")
    assert result.rows_read == len(rows) and result.rows_loaded + result.rows_quarantined == len(rows)
    (ledger,) = result.files
    assert ledger["file_format"] == "xlsx"
    assert json.loads(ledger["dialect"])["worksheets"] == ["Online Retail"]


def test_worksheets_with_the_same_header_continue_one_another_and_others_are_named(uci_export, tmp_path):
    header, rows = uci_rows(uci_export)
    half = len(rows) // 2
    landing = tmp_path / "landing"
    landing.mkdir()
    # Online Retail II: one sheet per year. A report's title and blank rows before the header are skipped;
    # blank rows between rows keep their numbers.
    write_workbook(landing / "orders_online_retail.xlsx", {
        "Year 1": [["Online Retail, exported 2011-12-09"], [], header, *rows[:half]],
        "Notes": [["exported by the till"]],
        "Lookup": [header, rows[0]],
        "Empty": [],
        "Year 2": [header, rows[half], [], *rows[half + 1:]],
    }, hidden=("Lookup",))

    _, result = ingest_orders(landing, tmp_path / "warehouse")

    assert result.rows_read == len(rows)
    assert json.loads(result.files[0]["dialect"])["worksheets"] == ["Year 1", "Year 2"]
    assert [w for w in result.warnings if "worksheet" in w] == [
        "orders_online_retail.xlsx: worksheet(s) 'Notes' not read: their first row is not the header of "
        "'Year 1' (save a sheet of other rows as its own file)"]
    # Year 1's rows are 1..half (its header on the sheet's row 3); Year 2's follow, the blank row after its
    # first one keeping its number.
    def number(i: int) -> int:
        return i + 1 if i <= half else i + 2

    without_customer = [number(i) for i, row in enumerate(rows) if row[header.index("CustomerID")] is None]
    quarantined = duckdb.sql(f"""
        select source_row from read_parquet('{tmp_path / "warehouse" / "raw" / "orders" / "quarantine.parquet"}')
        order by 1""").fetchall()
    assert [n for (n,) in quarantined] == without_customer
    assert any(n > half + 2 for n in without_customer)


@pytest.mark.parametrize(("content", "problem"), [
    (b"PK\x03\x04 not really a zip", "is not a readable workbook"),
    (None, "no visible worksheet holding a value"),
])
def test_a_file_that_is_no_usable_workbook_is_named_in_the_error(tmp_path, content, problem):
    landing = tmp_path / "landing"
    landing.mkdir()
    path = landing / "orders_2025.xlsx"
    if content is None:
        write_workbook(path, {"Sheet1": []})
    else:
        path.write_bytes(content)

    with pytest.raises(ExtractFileError, match=problem) as failure:
        ingest_orders(landing, tmp_path / "warehouse")
    assert "orders_2025.xlsx" in str(failure.value)


@pytest.mark.parametrize(("value", "text"), [
    (17850.0, "17850"), (2.55, "2.55"), (0.001, "0.001"), (-11062.06, "-11062.06"), (6, "6"),
    (1e20, "1e+20"), (True, "true"), (False, "false"),
    (datetime(2010, 12, 1, 8, 26), "2010-12-01 08:26:00"), (date(2025, 3, 14), "2025-03-14"),
    (time(9, 5), "09:05:00"), ("", None), (None, None), (" C536379 ", " C536379 "),
])
def test_a_typed_cell_is_read_as_the_text_a_csv_export_of_it_holds(value, text):
    assert cell_text(value) == text


@pytest.mark.parametrize("name", ["orders_caisse.xls", "orders_libre.ods"])
def test_an_excel_97_or_libreoffice_workbook_is_read_as_its_typed_cells(tmp_path, name):
    """A till's .xls and a LibreOffice .ods (tests/ingestion/workbooks: how they were written): French
    headers, dates typed as dates, ids as numbers or text, statuses in French."""
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copyfile(Path(__file__).parent / "workbooks" / name, landing / name)

    _, result = ingest_orders(landing, tmp_path / "warehouse", currency="EUR")

    assert [row[:5] for row in loaded_orders(tmp_path / "warehouse")] == [
        ("C1001", "17850", datetime(2024, 1, 5, 10, 12), Decimal("25.00"), "completed"),
        ("C1002", "17851", datetime(2024, 1, 9, 11, 0), Decimal("40.50"), "refunded"),
        ("C1003", "17850", datetime(2024, 2, 14, 18, 45), Decimal("30.00"), "completed"),
    ]
    assert [(f["source_file"], f["file_format"]) for f in result.files] == [(name, name.rsplit(".", 1)[1])]
