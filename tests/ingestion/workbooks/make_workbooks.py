"""How orders_caisse.xls and orders_libre.ods were written (kept in git: the project does not depend on an
.xls or .ods writer). Rerun with xlwt and odfpy installed in a throwaway environment:

    python -m venv /tmp/w && /tmp/w/bin/pip install xlwt odfpy && /tmp/w/bin/python make_workbooks.py

A French till's export: typed dates, ids as numbers or text, amounts as numbers, statuses in French.
"""

import datetime
from pathlib import Path

HEADER = ["N° commande", "Code client", "Date", "Montant TTC", "Statut"]
ROWS = [
    ("C1001", 17850, datetime.datetime(2024, 1, 5, 10, 12), 25.0, "payée"),
    ("C1002", "17851", datetime.datetime(2024, 1, 9, 11, 0), 40.5, "remboursée"),
    ("C1003", 17850, datetime.datetime(2024, 2, 14, 18, 45), 30.0, "payée"),
]
HERE = Path(__file__).parent


def write_xls(path: Path) -> None:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Ventes")
    when = xlwt.easyxf(num_format_str="DD/MM/YYYY HH:MM")
    for column, name in enumerate(HEADER):
        sheet.write(0, column, name)
    for row, values in enumerate(ROWS, start=1):
        for column, value in enumerate(values):
            if isinstance(value, datetime.datetime):
                sheet.write(row, column, value, when)
            else:
                sheet.write(row, column, value)
    book.save(str(path))


def write_ods(path: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name="Feuille1")
    for values in [HEADER, *ROWS]:
        row = TableRow()
        for value in values:
            if isinstance(value, datetime.datetime):
                cell = TableCell(valuetype="date", datevalue=value.isoformat())
            elif isinstance(value, (int, float)):
                cell = TableCell(valuetype="float", value=value)
            else:
                cell = TableCell(valuetype="string")
            cell.addElement(P(text=str(value)))
            row.addElement(cell)
        table.addElement(row)
    document.spreadsheet.addElement(table)
    document.save(str(path))


if __name__ == "__main__":
    write_xls(HERE / "orders_caisse.xls")
    write_ods(HERE / "orders_libre.ods")
