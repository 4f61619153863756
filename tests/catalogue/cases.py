"""The catalogue of bad extracts: each kind of damage a delivery can have, and what Retentio does with it.

Every case is one landing file (sometimes two) and one expected outcome:

- `Loaded(rows)`: every row loaded, maybe with a warning (form Retentio is forgiving about);
- `Rejected(loaded, [(row, reason, column, detail), ...])`: the listed rows quarantined with a named
  reason, the others loaded;
- `FileFails(problem, line=, column=)`: the file cannot be loaded at all; the error names the file and
  the line or column to blame.

`values` optionally pins what was loaded: a query over `data` (the raw table), `quarantine` and `ledger`
(the file ledger), and its expected rows. Whatever the outcome, rows read = loaded + quarantined is
checked for every file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import pyarrow as pa

from pipelines.ingestion.contracts import RejectReason as R

ORDERS_HEADER = "order_id,customer_id,ordered_at,amount,currency,status"
LINES_HEADER = "order_id,customer_id,ordered_at,quantity,unit_price,status"
SURVEY_HEADER = "response_id,customer_id,responded_at,nps_score,comment"
SPEND_HEADER = "spend_date,channel,amount,currency"
GOOD_ORDER = "O1,C1,2024-01-02 10:00:00,10.00,EUR,completed"
ONE_MEGABYTE = 1 << 20


def lines(*rows: str, end: str = "\n", encoding: str = "utf-8") -> bytes:
    return "".join(row + end for row in rows).encode(encoding)


def orders(*rows: str, header: str = ORDERS_HEADER, **kwargs) -> bytes:
    return lines(header, *rows, **kwargs)


def order_lines(*rows: str, header: str = LINES_HEADER, **kwargs) -> bytes:
    return lines(header, *rows, **kwargs)


def month_first_lines(ambiguous: int, decisive: str | None) -> bytes:
    """UCI-like order lines: `ambiguous` lines dated 1-9 December 2010 written month first (each reads as a
    valid day-first date too), then one dated `decisive` (None: none)."""
    rows = [f"{536365 + i},C1,12/{1 + i % 9}/2010 8:{i % 60:02d},1,2.55" for i in range(ambiguous)]
    if decisive:
        rows.append(f"999999,C1,{decisive},1,2.55")
    return lines("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice", *rows)


# SurveyMonkey's CSV export: the question texts on the first row, their sub-headers on the second ('Response',
# 'Open-Ended Response'; nothing under the respondent's own columns), the customer id passed as Custom Data 1.
SURVEYMONKEY_HEADER = ('Respondent ID,Collector ID,Start Date,End Date,IP Address,Email Address,First Name,'
                       'Last Name,Custom Data 1,"How likely is it that you would recommend Acme to a friend '
                       'or colleague?",What is the primary reason for your score?')
SURVEYMONKEY_SUB_HEADER = ",,,,,,,,,Response,Open-Ended Response"
SURVEYMONKEY_MAPPING = (b"extracts:\n  survey_responses:\n    columns:\n      Respondent ID: response_id\n"
                        b"      Custom Data 1: customer_id\n      End Date: responded_at\n"
                        b"      'How likely is it that you would recommend Acme to a friend or colleague?': "
                        b"nps_score\n      What is the primary reason for your score?: comment\n")


def surveymonkey_answer(respondent: int, customer: str, score: str, reason: str = "") -> str:
    return (f"{respondent},431207719,03/14/2024 10:02:11 AM,03/14/2024 10:03:40 AM,203.0.113.7,,,,{customer},"
            f"{score},{reason}")


def parquet_orders(**overrides) -> pa.Table:
    columns = {
        "order_id": ["O1", "O2"], "customer_id": ["C1", "C2"],
        "ordered_at": [dt.datetime(2024, 1, 2, 10), dt.datetime(2024, 1, 3, 11)],
        "amount": [10.5, 20.0], "currency": ["EUR", None], "status": ["completed", "refunded"],
    }
    return pa.table({name: values for name, values in (columns | overrides).items() if values is not None})


@dataclass(frozen=True)
class Loaded:
    rows: int
    warning: str | None = None


@dataclass(frozen=True)
class Rejected:
    loaded: int
    rows: list[tuple]  # (source_row, reason, column or None, fragment of the detail or None)
    warning: str | None = None


@dataclass(frozen=True)
class FileFails:
    problem: str
    line: int | None = None
    column: str | None = None


@dataclass(frozen=True)
class Case:
    kind: str
    extract: str
    files: dict
    expected: Loaded | Rejected | FileFails
    values: tuple[str, list[tuple]] | None = None
    extra_files: dict = field(default_factory=dict)  # retentio_sources.yml, ...


CATALOGUE: list[Case] = [
    # --- The file as a whole -------------------------------------------------------------------
    Case("empty file", "orders", {"orders_case.csv": b""}, FileFails("file is empty")),
    Case("only blank lines", "orders", {"orders_case.csv": b"\n  \n\r\n"}, FileFails("file is empty")),
    Case("header only", "orders", {"orders_case.csv": orders()}, Loaded(0, warning="no data rows")),
    Case("truncated last line", "orders", {"orders_case.csv": orders(GOOD_ORDER) + b"O2,C1,2024-01-0"},
         Rejected(1, [(2, R.MALFORMED_ROW, None, "expected 6 fields, found 3 (line 3)")])),
    Case("truncated inside a quoted field", "orders",
         {"orders_case.csv": orders(GOOD_ORDER) + b'O2,C1,2024-01-02 10:00:00,10.00,EUR,"compl'},
         Rejected(1, [(2, R.MALFORMED_ROW, None,
                       "line 3 cannot be parsed: unexpected end of data (a quote is never closed)")])),
    # The open quote would swallow the rest of the file into one record: only its line is quarantined, and
    # the lines below are read again.
    Case("unterminated quote mid-file", "orders",
         {"orders_case.csv": orders(GOOD_ORDER, 'O2,"C1,2024-01-02 10:00:00,10.00,EUR,completed',
                                    "O3,C1,2024-01-02 10:00:00,10.00,EUR,completed",
                                    "O4,C1,2024-01-03 10:00:00,10.00,EUR,completed")},
         Rejected(3, [(2, R.MALFORMED_ROW, None, "a quote is never closed")]),
         values=("select (select list(order_id order by order_id) from data), raw_record ->> '_raw_text' "
                 "from quarantine", [(["O1", "O3", "O4"], 'O2,"C1,2024-01-02 10:00:00,10.00,EUR,completed\n')])),
    # A stray quote closed by another a line below makes one record of both lines, with a field too many:
    # the first line is quarantined, the second read again (its quote, mid-field, is text).
    Case("two stray quotes a line apart", "orders",
         {"orders_case.csv": orders(GOOD_ORDER, 'O2,"C1,2024-01-02 10:00:00,10.00,EUR,completed',
                                    'O3",C1,2024-01-02 10:00:00,10.00,EUR,completed',
                                    "O4,C1,2024-01-03 10:00:00,10.00,EUR,completed")},
         Rejected(3, [(2, R.MALFORMED_ROW, None, "found 7 in a record running over lines 3-4 (a stray quote?)")]),
         values=("select list(order_id order by order_id) from data", [(["O1", 'O3"', "O4"],)])),
    Case("wrong separator (colon)", "orders",
         {"orders_case.csv": orders(GOOD_ORDER.replace(",", ":"), header=ORDERS_HEADER.replace(",", ":"))},
         FileFails("header not recognised", line=1)),
    Case("separator pinned wrongly in retentio_sources.yml", "orders", {"orders_case.csv": orders(GOOD_ORDER)},
         FileFails("found with separator ';'", line=1),
         extra_files={"retentio_sources.yml": b"files:\n  - match: 'orders_*.csv'\n    delimiter: ';'\n"}),
    Case("mixed separators", "orders",
         {"orders_case.csv": orders(GOOD_ORDER, "O2;C1;2024-01-02 10:00:00;10.00;EUR;completed")},
         Rejected(1, [(2, R.MALFORMED_ROW, None, "expected 6 fields, found 1 (line 3)")])),
    Case("UTF-8 with byte-order mark", "orders", {"orders_case.csv": b"\xef\xbb\xbf" + orders(GOOD_ORDER)},
         Loaded(1), values=("select order_id from data", [("O1",)])),
    Case("UTF-16 with byte-order mark (Excel 'Unicode text')", "orders",
         {"orders_case.csv": lines(ORDERS_HEADER.replace(",", "\t"), GOOD_ORDER.replace(",", "\t"),
                                   encoding="utf-16")},
         Loaded(1), values=("select order_id, amount from data", [("O1", Decimal("10.00"))])),
    Case("UTF-16 without byte-order mark", "orders",
         {"orders_case.csv": orders(GOOD_ORDER, encoding="utf-16-le")}, Loaded(1)),
    Case("UTF-16 cut off in the middle of a character", "orders",
         {"orders_case.csv": orders(GOOD_ORDER, "O2,C1,2024-01-02 10:00:00,5.00,EUR,completed",
                                    encoding="utf-16")[:-1]},
         Rejected(1, [(2, R.UNDECODABLE_BYTES, "status", "line 3")])),
    Case("Latin-1 (Windows-1252) accents", "customers",
         {"customers.csv": lines("customer_id;full_name;signup_date;pays", "C1;Zoé Lefèvre;14/03/2024;FR",
                                 "C2;François Müller;15/03/2024;FR", encoding="cp1252")},
         Loaded(2), values=("select full_name from data order by customer_id",
                            [("Zoé Lefèvre",), ("François Müller",)])),
    Case("Mac Roman, CR line ends (Excel for Mac's 'CSV (Macintosh)')", "customers",
         {"customers.csv": lines("customer_id;full_name;signup_date;acquisition_channel",
                                 "C1;Hélène Côté;14/03/2024;Réseaux sociaux", "C2;François Müller;15/03/2024;Référencement",
                                 end="\r", encoding="mac_roman")},
         Loaded(2), values=("select full_name, acquisition_channel from data order by customer_id",
                            [("Hélène Côté", "Réseaux sociaux"), ("François Müller", "Référencement")])),
    # A UTF-8 file with two Latin-1 bytes pasted in: those rows are quarantined, the rest loaded.
    Case("undecodable bytes in a UTF-8 file", "customers",
         {"customers.csv": b"customer_id,full_name,signup_date\nC1,Zo\xc3\xa9 Lef\xc3\xa8vre,2024-03-14\n"
                           b"C2,Fran\xe7ois,2024-03-14\nC3,Ana,2024-03-14\nC4,Ren\xe9e,2024-03-14\n"},
         Rejected(2, [(2, R.UNDECODABLE_BYTES, "full_name", "line 3"),
                      (4, R.UNDECODABLE_BYTES, "full_name", "line 5")]),
         values=("select full_name from data union all select raw_record from quarantine where source_row = 2",
                 [("Zoé Lefèvre",), ("Ana",), ('{"_raw_text": "C2,Fran\\\\xe7ois,2024-03-14\\n"}',)])),
    Case("CRLF line endings", "orders",
         {"orders_case.csv": orders(GOOD_ORDER, "O2,C2,2024-01-02 10:00:00,5.00,EUR,refunded", end="\r\n")},
         Loaded(2), values=("select status from data order by order_id", [("completed",), ("refunded",)])),
    Case("CR-only line endings (classic Mac)", "orders",
         {"orders_case.csv": orders(GOOD_ORDER, "O2,C2,2024-01-02 10:00:00,5.00,EUR,refunded", end="\r")}, Loaded(2)),
    Case("no newline after the last row", "orders", {"orders_case.csv": orders(GOOD_ORDER)[:-1]}, Loaded(1)),
    Case("blank lines between rows", "orders",
         {"orders_case.csv": orders("", GOOD_ORDER, "", "", "O2,C2,2024-01-02 10:00:00,5.00,EUR,completed", "")},
         Loaded(2), values=("select order_id, _source_row from data order by 2", [("O1", 1), ("O2", 2)])),
    Case("a report's title lines above the header", "orders",
         {"orders_case.csv": b"Rapport des ventes;;;;;\n;;;;;\nExport du 01/04/2024;;;;;\n\n"
                             + orders("O1;C1;2024-01-02 10:00:00;10,00;EUR;completed", "O2;C2;2024-01-03;5,00;EUR;completed",
                                      header=ORDERS_HEADER.replace(",", ";"))},
         Loaded(2), values=("select order_id, amount, _source_row from data order by 1",
                            [("O1", Decimal("10.00"), 1), ("O2", Decimal("5.00"), 2)])),
    Case("blank lines before the header", "orders", {"orders_case.csv": b"\n\r\n" + orders(GOOD_ORDER)}, Loaded(1)),
    Case("Excel 'sep=;' line before the header", "orders",
         {"orders_case.csv": b"sep=;\n" + orders(GOOD_ORDER.replace(",", ";"), header=ORDERS_HEADER.replace(",", ";"))},
         Loaded(1), values=("select amount from data", [(Decimal("10.00"),)])),
    Case("quoted field with an embedded newline and ';'", "survey_responses",
         {"survey_responses.csv": lines(SURVEY_HEADER, 'R1,C1,2024-01-01,9,"Très bien;\nà refaire, ""vraiment"""')},
         Loaded(1), values=("select comment from data", [('Très bien;\nà refaire, "vraiment"',)])),
    Case("header repeated mid-file (two exports concatenated)", "orders",
         {"orders_case.csv": orders(GOOD_ORDER, ORDERS_HEADER, "O2,C1,2024-01-02 10:00:00,10.00,EUR,completed")},
         Rejected(2, [(2, R.INVALID_DATE, "ordered_at", "'ordered_at' is not a valid date")])),
    Case("trailing separator on some rows", "orders",
         {"orders_case.csv": orders(GOOD_ORDER, "O2,C2,2024-01-02 10:00:00,5.00,EUR,completed,")}, Loaded(2)),
    Case("trailing separator on every line, header included", "orders",
         {"orders_case.csv": orders(GOOD_ORDER + ",", header=ORDERS_HEADER + ",")},
         Loaded(1, warning="unknown columns ignored: (unnamed field 7)")),
    Case("one row with an extra value", "orders",
         {"orders_case.csv": orders(GOOD_ORDER, "O2,C2,2024-01-02 10:00:00,5,00,EUR,completed")},
         Rejected(1, [(2, R.MALFORMED_ROW, None, "expected 6 fields, found 7 (line 3)")])),
    # --- Columns ---------------------------------------------------------------------------------
    Case("missing required column", "orders",
         {"orders_case.csv": orders("O1,C1,10,EUR,completed", header="order_id,customer_id,amount,currency,status")},
         FileFails("required column missing", column="ordered_at")),
    Case("duplicated column", "orders",
         {"orders_case.csv": orders("O1,C1,2024-01-02,10,11,completed",
                                    header="order_id,customer_id,ordered_at,amount,amount,status")},
         FileFails("column appears twice", column="amount")),
    Case("a column under its own name and an alias", "orders",
         {"orders_case.csv": orders(GOOD_ORDER + ",C2", header=ORDERS_HEADER + ",client_id")},
         Loaded(1, warning="unknown columns ignored: client_id"),
         values=("select customer_id from data", [("C1",)])),
    Case("extra unknown column", "orders",
         {"orders_case.csv": orders(GOOD_ORDER + ",SPRING", header=ORDERS_HEADER + ",coupon")},
         Loaded(1, warning="unknown columns ignored: coupon")),
    Case("reordered columns", "orders",
         {"orders_case.csv": orders("completed,10.00,O1,2024-01-02 10:00:00,C1,EUR",
                                    header="status,amount,order_id,ordered_at,customer_id,currency")},
         Loaded(1), values=("select order_id, customer_id, amount, status from data",
                            [("O1", "C1", Decimal("10.00"), "completed")])),
    Case("French column names with accents", "survey_responses",
         {"survey_responses.csv": lines("Id réponse;Id client;Date réponse;Note;Commentaire",
                                        "R1;C1;14/03/2024;9;très bien")},
         Loaded(1), values=("select response_id, nps_score, comment from data", [("R1", 9, "très bien")])),
    Case("a French shop's orders: N° commande, N° client, statuses payée and remboursée", "orders",
         {"orders_case.csv": lines("N° commande;N° client;Date de commande;Montant TTC;Statut",
                                   "T1;C1;14/03/2024 10:00;12,50 €;Payée",
                                   "T2;C1;15/03/2024 11:00;-4,00 €;Remboursée",
                                   "T3;C2;16/03/2024 12:00;9,90 €;annulée")},
         Loaded(3), values=("select order_id, customer_id, amount, status from data order by 1",
                            [("T1", "C1", Decimal("12.50"), "completed"),
                             ("T2", "C1", Decimal("-4.00"), "refunded"),
                             ("T3", "C2", Decimal("9.90"), "cancelled")])),
    Case("column names in another case, with spaces", "orders",
         {"orders_case.csv": orders(GOOD_ORDER, header="Order ID, Customer-ID ,ORDERED AT,Amount,Currency,Status")},
         Loaded(1)),
    Case("no column recognised", "orders", {"orders_case.csv": b"foo;bar\n1;2\n"},
         FileFails("header not recognised", line=1)),
    # --- Values ----------------------------------------------------------------------------------
    Case("whitespace around values", "orders",
         {"orders_case.csv": orders('  O1 , C1 ,\t2024-01-02 10:00:00 ,  10.00 , EUR ," completed "')},
         Loaded(1), values=("select order_id, customer_id, status from data", [("O1", "C1", "completed")])),
    Case("wrong types", "orders",
         {"orders_case.csv": orders("O1,C1,yesterday,5,EUR,completed", "O2,C1,2024-01-01,abc,EUR,completed",
                                    "O3,C1,2024-01-01,1e30,EUR,completed")},
         Rejected(0, [(1, R.INVALID_DATE, "ordered_at", "'yesterday' is not a valid date"),
                      (2, R.INVALID_NUMBER, "amount", "'abc' is not a number"),
                      (3, R.INVALID_NUMBER, "amount", "'1e30' is not a number")])),
    Case("required value empty, blank or an empty quoted string", "orders",
         {"orders_case.csv": orders("O1,,2024-01-01,5,EUR,completed", "O2,  ,2024-01-01,5,EUR,completed",
                                    'O3,"",2024-01-01,5,EUR,completed', GOOD_ORDER.replace("O1", "O4"))},
         Rejected(1, [(1, R.MISSING_VALUE, "customer_id", None), (2, R.MISSING_VALUE, "customer_id", None),
                      (3, R.MISSING_VALUE, "customer_id", None)])),
    Case("dates in three formats, with and without a time", "orders",
         {"orders_case.csv": orders("O1,C1,2024-03-14,1,EUR,completed", "O2,C1,14/03/2024,1,EUR,completed",
                                    "O3,C1,14.03.2024,1,EUR,completed", "O4,C1,14.03.2024 10:30,1,EUR,completed",
                                    "O5,C1,14/03/2024 10:30:15,1,EUR,completed")},
         Loaded(5), values=("select distinct cast(ordered_at as date) from data", [(dt.date(2024, 3, 14),)])),
    Case("dates with month names, compact, dashed and with two-digit years (US exports)", "orders",
         {"orders_case.csv": orders("O1,C1,\"Mar 1, 2024\",1,EUR,completed", "O2,C1,01-Mar-2024,1,EUR,completed",
                                    "O3,C1,20240301,1,EUR,completed", "O4,C1,03-13-2024,1,EUR,completed",
                                    "O5,C1,03/14/24,1,EUR,completed", "O6,C1,\"March 15, 2024\",1,EUR,completed")},
         Loaded(6), values=("select order_id, ordered_at from data order by 1",
                            [("O1", dt.datetime(2024, 3, 1)), ("O2", dt.datetime(2024, 3, 1)),
                             ("O3", dt.datetime(2024, 3, 1)), ("O4", dt.datetime(2024, 3, 13)),
                             ("O5", dt.datetime(2024, 3, 14)), ("O6", dt.datetime(2024, 3, 15))])),
    Case("a monthly spend sheet dated by its month (2024-01)", "marketing_spend",
         {"marketing_spend.csv": lines("month,channel,amount", "2024-01,seo,100", "2024-02,seo,120")},
         Loaded(2), values=("select spend_date from data order by 1", [(dt.date(2024, 1, 1),), (dt.date(2024, 2, 1),)])),
    Case("month-first dates, declared in retentio_sources.yml", "orders",
         {"orders_case.csv": orders("O1,C1,03/14/2024,1,EUR,completed")}, Loaded(1),
         values=("select ordered_at from data", [(dt.datetime(2024, 3, 14),)]),
         extra_files={"retentio_sources.yml": b"files:\n  - match: 'orders_*.csv'\n    date_order: mdy\n"}),
    Case("impossible dates", "orders",
         {"orders_case.csv": orders("O1,C1,31/02/2024,1,EUR,completed", "O2,C1,2024-02-30,1,EUR,completed",
                                    "O3,C1,29/02/2023,1,EUR,completed", "O4,C1,29/02/2024,1,EUR,completed",
                                    "O5,C1,2024-13-01,1,EUR,completed")},
         Rejected(1, [(1, R.INVALID_DATE, "ordered_at", "'31/02/2024'"), (2, R.INVALID_DATE, "ordered_at", None),
                      (3, R.INVALID_DATE, "ordered_at", None), (5, R.INVALID_DATE, "ordered_at", None)])),
    Case("date before 1900", "customers",
         {"customers.csv": lines("customer_id,signup_date", "C1,1899-12-31", "C2,1900-01-01")},
         Rejected(1, [(1, R.INVALID_DATE, "signup_date", "is before 1900")])),
    Case("future dates", "orders",
         {"orders_case.csv": orders("O1,C1,2099-01-01,1,EUR,completed", GOOD_ORDER.replace("O1", "O2"))},
         Rejected(1, [(1, R.FUTURE_DATE, "ordered_at", "is after the load date")])),
    Case("timestamps with a time-zone suffix", "orders",
         {"orders_case.csv": orders("O1,C1,2024-03-14T23:30:00+02:00,1,EUR,completed",
                                    "O2,C1,2024-03-14T23:30:00Z,1,EUR,completed",
                                    "O3,C1,2024-03-14 23:30:00.250-0100,1,EUR,completed")},
         Loaded(3), values=("select order_id, ordered_at from data order by 1",
                            [("O1", dt.datetime(2024, 3, 14, 21, 30)), ("O2", dt.datetime(2024, 3, 14, 23, 30)),
                             ("O3", dt.datetime(2024, 3, 15, 0, 30, 0, 250000))])),
    Case("time zones named, known and unknown", "orders",
         {"orders_case.csv": orders("O1,C1,2024-03-14 23:30:00 CET,1,EUR,completed",
                                    "O2,C1,2024-03-14 10:00 America/New_York,1,EUR,completed",
                                    "O3,C1,2024-03-14 10:00:00 UTC,1,EUR,completed",
                                    "O4,C1,2024-07-14 10:00:00 EDT,1,EUR,completed",
                                    "O5,C1,2024-03-14 10:00:00 nowhere,1,EUR,completed")},
         Rejected(3, [(4, R.INVALID_DATE, "ordered_at", "'2024-07-14 10:00:00 EDT' is not a valid date and time"),
                      (5, R.INVALID_DATE, "ordered_at", None)]),
         values=("select order_id, ordered_at from data order by 1",
                 [("O1", dt.datetime(2024, 3, 14, 22, 30)), ("O2", dt.datetime(2024, 3, 14, 14, 0)),
                  ("O3", dt.datetime(2024, 3, 14, 10, 0))])),
    Case("12-hour times with AM/PM, month first", "orders",
         {"orders_case.csv": orders("O1,C1,3/13/2024 2:15:00 PM,1,EUR,completed", "O2,C1,3/1/2024 12:05 AM,1,EUR,completed",
                                    "O3,C1,2024-03-01 02:15 pm,1,EUR,completed", "O4,C1,3/2/2024 13:15 PM,1,EUR,completed")},
         Rejected(3, [(4, R.INVALID_DATE, "ordered_at", "'3/2/2024 13:15 PM' is not a valid date and time")]),
         values=("select order_id, ordered_at from data order by 1",
                 [("O1", dt.datetime(2024, 3, 13, 14, 15)), ("O2", dt.datetime(2024, 3, 1, 0, 5)),
                  ("O3", dt.datetime(2024, 3, 1, 14, 15))])),
    Case("decimal comma with thousands separators", "orders",
         {"orders_case.csv": lines(ORDERS_HEADER.replace(",", ";"), "O1;C1;14/03/2024;1 234,50;EUR;completed",
                                   "O2;C1;14/03/2024;1.234,50;EUR;completed", "O3;C1;14/03/2024;12,5;EUR;completed",
                                   "O4;C1;14/03/2024;1\u00a0234,50 €;EUR;completed")},
         Loaded(4), values=("select amount from data order by order_id",
                            [(Decimal("1234.50"),), (Decimal("1234.50"),), (Decimal("12.50"),),
                             (Decimal("1234.50"),)])),
    Case("decimal point with thousands commas", "orders",
         {"orders_case.csv": orders('O1,C1,2024-01-01,"1,234.50",EUR,completed',
                                    "O2,C1,2024-01-01,12.5,EUR,completed")},
         Loaded(2), values=("select amount from data order by order_id",
                            [(Decimal("1234.50"),), (Decimal("12.50"),)])),
    Case("currency symbols before and after the amount, a sign before the symbol", "orders",
         {"orders_case.csv": orders("O1,C1,2024-01-01,£12.50,GBP,completed", "O2,C1,2024-01-01,-£2.00,GBP,refunded",
                                    "O3,C1,2024-01-01,- $ 3.10,GBP,refunded", "O4,C1,2024-01-01,4.75 €,GBP,completed",
                                    'O5,C1,2024-01-01,"£1,234.50",GBP,completed')},
         Loaded(5), values=("select amount from data order by order_id",
                            [(Decimal("12.50"),), (Decimal("-2.00"),), (Decimal("-3.10"),), (Decimal("4.75"),),
                             (Decimal("1234.50"),)])),
    Case("a till's receipts, one row per item, prices with a pound sign", "orders",
         {"orders_case.csv": lines("Receipt,Date,Customer,Item,Qty,Price",
                                   "R1,14/03/2025 08:10,C1,Flat white,2,£3.20",
                                   "R1,14/03/2025 08:10,C1,Croissant,1,£2.10")},
         Loaded(2, warning="unknown columns ignored: Item"),
         values=("select order_id, amount, currency from data", [("R1", Decimal("8.50"), "GBP")])),
    Case("negative and zero amounts", "orders",
         {"orders_case.csv": orders("O1,C1,2024-01-01,-5,EUR,completed", "O2,C1,2024-01-01,-5,EUR,refunded",
                                    "O3,C1,2024-01-01,0,EUR,completed", "O4,C1,2024-01-01,-5,EUR,cancelled")},
         Rejected(3, [(1, R.NEGATIVE_AMOUNT, "amount", "is negative on a completed order")])),
    Case("an accounting export's negatives: (12.50) and 12.50-", "orders",
         {"orders_case.csv": orders("O1,C1,2024-01-01,(12.50),EUR,refunded", "O2,C1,2024-01-01,12.50-,EUR,refunded",
                                    'O3,C1,2024-01-01,"(1,234.50)",EUR,completed', "O4,C1,2024-01-01,(abc),EUR,refunded")},
         Rejected(2, [(3, R.NEGATIVE_AMOUNT, "amount", "is negative on a completed order"),
                      (4, R.INVALID_NUMBER, "amount", "'(abc)' is not a number")]),
         values=("select order_id, amount from data order by 1", [("O1", Decimal("-12.50")), ("O2", Decimal("-12.50"))])),
    Case("negative and zero marketing spend", "marketing_spend",
         {"marketing_spend.csv": lines(SPEND_HEADER, "2024-01-01,seo,-5,EUR", "2024-01-01,ads,0,EUR")},
         Rejected(1, [(1, R.NEGATIVE_AMOUNT, "amount", "is a negative spend")])),
    Case("unknown and foreign currencies", "orders",
         {"orders_case.csv": orders("O1,C1,2024-01-01,5,XYZ,completed", "O2,C1,2024-01-01,5,USD,completed",
                                    "O3,C1,2024-01-01,5,eur,completed", "O4,C1,2024-01-01,5,,completed")},
         Rejected(2, [(1, R.UNKNOWN_CURRENCY, "currency", "'XYZ' is not an ISO 4217 code"),
                      (2, R.CURRENCY_MISMATCH, "currency", "not the reporting currency EUR")],
                  warning="orders_case.csv: 1 row(s) in USD, not the reporting currency EUR"),
         values=("select currency from data", [("EUR",), ("EUR",)])),
    Case("unknown status", "orders",
         {"orders_case.csv": orders("O1,C1,2024-01-01,5,EUR,pending", "O2,C1,2024-01-01,5,EUR,Completed")},
         Rejected(1, [(1, R.UNKNOWN_STATUS, "status", "'pending' is not one of")]),
         values=("select status from data", [("completed",)])),
    Case("duplicate keys within a file", "orders",
         {"orders_case.csv": orders(GOOD_ORDER, GOOD_ORDER, GOOD_ORDER.replace("10.00", "11.00"))},
         Rejected(1, [(2, R.DUPLICATE_ROW, "order_id", "same key as row 1 of orders_case.csv (identical values)"),
                      (3, R.DUPLICATE_KEY, "order_id", "(different values; the first is kept)")])),
    # Files are read in name order: the earlier file's row wins.
    Case("duplicate keys across files", "orders",
         {"orders_a.csv": orders(GOOD_ORDER),
          "orders_b.csv": orders(GOOD_ORDER.replace("10.00", "12.00"), "O2,C2,2024-01-03,3,EUR,completed")},
         Rejected(2, [(1, R.DUPLICATE_KEY, "order_id", "same key as row 1 of orders_a.csv")]),
         values=("select order_id, amount, _source_file from data order by 1",
                 [("O1", Decimal("10.00"), "orders_a.csv"), ("O2", Decimal("3.00"), "orders_b.csv")])),
    Case("duplicate spend for the same day and channel", "marketing_spend",
         {"marketing_spend.csv": lines(SPEND_HEADER, "2024-01-01,seo,5,EUR", "2024-01-01,seo,5,EUR",
                                       "2024-01-01,ads,5,EUR")},
         Rejected(2, [(2, R.DUPLICATE_ROW, "spend_date + channel + campaign", None)])),
    Case("an ad platform's spend per campaign (Meta): several rows per day, no channel", "marketing_spend",
         {"marketing_spend_meta.csv": lines(
             "Campaign name,Reporting starts,Reporting ends,Amount spent (EUR),Impressions",
             "Prospecting FR,2024-01-01,2024-01-31,60.00,1000", "Retargeting,2024-01-01,2024-01-31,65.00,1000",
             "Retargeting,2024-01-01,2024-01-31,65.00,1000")},
         Rejected(2, [(3, R.DUPLICATE_ROW, "spend_date + channel + campaign", "same key as row 2")],
                  warning="unknown columns ignored: Reporting ends, Impressions"),
         values=("select sum(amount), count(distinct campaign) from data", [(Decimal("125.00"), 2)])),
    Case("Shopify's customer ids, quoted against Excel's rounding ('7000000001)", "orders",
         {"customers_case.csv": lines("Customer ID,Email,signup_date", "'7000000001,a@example.com,2024-01-01",
                                      "'7000000002,b@example.com,2024-01-02"),
          "orders_case.csv": orders("O1,7000000001,2024-01-02,10.00,EUR,completed",
                                    "O2,'7000000002,2024-01-03,5.00,EUR,completed")},
         Loaded(2), values=("select order_id, customer_id from data order by 1",
                            [("O1", "7000000001"), ("O2", "7000000002")])),
    Case("customer ids a spreadsheet wrote in scientific notation", "customers",
         {"customers_case.csv": lines("customer_id,signup_date", "123456789012,2024-01-01", "1.23457E+11,2024-01-02",
                                      "1.23457E+11,2024-01-03", "2E+11,2024-01-04", "1E5,2024-01-05")},
         Rejected(2, [(2, R.INVALID_IDENTIFIER, "customer_id", "'1.23457E+11' is a number in scientific notation"),
                      (3, R.INVALID_IDENTIFIER, "customer_id", None), (4, R.INVALID_IDENTIFIER, "customer_id", None)]),
         values=("select customer_id from data order by 1", [("123456789012",), ("1E5",)])),
    Case("order for an unknown customer", "orders",
         {"orders_case.csv": orders(GOOD_ORDER, "O2,C9,2024-01-02 10:00:00,10.00,EUR,completed")},
         Rejected(1, [(2, R.UNKNOWN_CUSTOMER, "customer_id", "customer C9 is in no customer extract (yet)")])),
    Case("NPS out of range and not a whole number", "survey_responses",
         {"survey_responses.csv": lines(SURVEY_HEADER, "R1,C1,2024-01-01,11,", "R2,C1,2024-01-01,-1,",
                                        "R3,C1,2024-01-01,dix,", "R4,C1,2024-01-01,7.5,", "R5,C1,2024-01-01,7.0,",
                                        "R6,C1,2024-01-01,0,")},
         Rejected(2, [(1, R.OUT_OF_RANGE, "nps_score", "'11' is outside 0..10"), (2, R.OUT_OF_RANGE, "nps_score", None),
                      (3, R.INVALID_NUMBER, "nps_score", "'dix' is not a whole number"),
                      (4, R.INVALID_NUMBER, "nps_score", "'7.5' is not a whole number")]),
         values=("select nps_score from data order by 1", [(0,), (7,)])),
    Case("NPS scores labelled at the ends of the scale (Delighted, SurveyMonkey)", "survey_responses",
         {"survey_responses.csv": lines(SURVEY_HEADER, "R1,C1,2024-01-01,10 - Extremely likely,",
                                        "R2,C1,2024-01-01,0 – Not at all likely,", "R3,C1,2024-01-01,9,",
                                        "R4,C1,2024-01-01,9-10,")},
         Rejected(3, [(4, R.INVALID_NUMBER, "nps_score", "'9-10' is not a whole number")]),
         values=("select response_id, nps_score from data order by 1", [("R1", 10), ("R2", 0), ("R3", 9)])),
    Case("consent that is neither yes nor no", "customers",
         {"customers.csv": lines("customer_id,signup_date,marketing_consent", "C1,2024-01-01,oui",
                                 "C2,2024-01-01,maybe", "C3,2024-01-01,")},
         Rejected(2, [(2, R.INVALID_BOOLEAN, "marketing_consent", "'maybe'")]),
         values=("select customer_id, marketing_consent from data order by 1", [("C1", True), ("C3", None)])),
    Case("1 MB comment", "survey_responses",
         {"survey_responses.csv": lines(SURVEY_HEADER, 'R1,C1,2024-01-01,9,"a ""quoted"" ' + "x" * ONE_MEGABYTE + '"',
                                        "R2,C1,2024-01-01,9,short")},
         Loaded(2), values=("select length(comment), left(comment, 12) from data order by response_id",
                            [(ONE_MEGABYTE + 11, 'a "quoted" x'), (5, "short")])),
    # --- Parquet ---------------------------------------------------------------------------------
    Case("Parquet file missing a required column", "orders",
         {"orders_case.parquet": parquet_orders(amount=None)}, FileFails("required column missing", column="amount")),
    Case("Parquet column of a type that cannot hold the value", "orders",
         {"orders_case.parquet": parquet_orders(amount=[[1.0], [2.0]])},
         FileFails("has Parquet type list<element: double>", column="amount")),
    Case("Parquet amounts stored as text, some unreadable", "orders",
         {"orders_case.parquet": parquet_orders(amount=["10.50", "n/a"])},
         Rejected(1, [(2, R.INVALID_NUMBER, "amount", "'n/a' is not a number")])),
    Case("Parquet dates stored as integers (yyyymmdd), one that is no date", "orders",
         {"orders_case.parquet": parquet_orders(ordered_at=[20240102, 20241302])},
         Rejected(1, [(2, R.INVALID_DATE, "ordered_at", "'20241302'")]),
         values=("select ordered_at from data", [(dt.datetime(2024, 1, 2),)])),
    Case("Parquet timestamps with a time zone", "orders",
         {"orders_case.parquet": parquet_orders(ordered_at=pa.array(
             [dt.datetime(2024, 1, 2, 10, tzinfo=dt.timezone.utc)] * 2, pa.timestamp("us", tz="Europe/Paris")))},
         Loaded(2), values=("select distinct ordered_at from data", [(dt.datetime(2024, 1, 2, 10),)])),
    Case("Parquet customer ids stored as floats with a missing one (pandas), 13 digits", "orders",
         {"customers_case.csv": b"customer_id,signup_date\n5123456789012,2024-01-01\n17850,2024-01-01\n",
          "orders_case.parquet": parquet_orders(order_id=["O1", "O2", "O3"], customer_id=[5123456789012.0, 17850.0, None],
                                                ordered_at=[dt.datetime(2024, 1, 2, 10)] * 3, amount=[1.0, 2.0, 3.0],
                                                currency=["EUR"] * 3, status=["completed"] * 3)},
         Rejected(2, [(3, R.MISSING_VALUE, "customer_id", None)]),
         values=("select customer_id from data order by 1", [("17850",), ("5123456789012",)])),
    Case("Parquet file cut short", "orders", {"orders_case.parquet": b"PAR1\x00\x01truncated"},
         FileFails("not a readable Parquet file")),
    # --- Order lines (one row per line, rolled up into orders) ----------------------------------------
    Case("one row per order line", "orders",
         {"orders_case.csv": order_lines("O1,C1,2024-01-02 10:00:00,2,3.10,", "O1,C1,2024-01-02 10:00:00,1,0.005,",
                                         "O2,C2,2024-01-03 09:00:00,-1,12.50,")},
         Loaded(3, warning=None),
         values=("select order_id, amount, status, _line_count, _source_row from data order by 1",
                 [("O1", Decimal("6.21"), "completed", 2, 1), ("O2", Decimal("-12.50"), "refunded", 1, 3)])),
    Case("order lines naming two customers", "orders",
         {"orders_case.csv": order_lines("O1,C1,2024-01-02 10:00:00,1,5,", "O1,C2,2024-01-02 10:00:00,1,5,",
                                         "O2,C1,2024-01-02 11:00:00,1,5,")},
         Rejected(1, [(1, R.INCONSISTENT_LINES, "customer_id", "lines of order O1 name different customers"),
                      (2, R.INCONSISTENT_LINES, "customer_id", "(C1, C2)")])),
    Case("one bad line keeps its whole order out", "orders",
         {"orders_case.csv": order_lines("O1,C1,2024-01-02 10:00:00,1,5,", "O1,C1,2024-01-02 10:00:00,two,5,",
                                         "O1,C1,2024-01-02 10:00:00,1,7,", "O2,C1,2024-01-02 11:00:00,1,5,")},
         Rejected(1, [(1, R.INCOMPLETE_ORDER, None, "line 2 of order O1 was rejected (invalid_number)"),
                      (2, R.INVALID_NUMBER, "quantity", "'two' is not a quantity"),
                      (3, R.INCOMPLETE_ORDER, None, "would understate the order")])),
    Case("a line with a field too many keeps its order out", "orders",
         {"orders_case.csv": order_lines("O1,C1,2024-01-02 10:00:00,1,5,", "O1,C1,2024-01-02 10:00:00,1,5,,extra",
                                         "O2,C1,2024-01-02 11:00:00,1,5,")},
         Rejected(1, [(1, R.INCOMPLETE_ORDER, None, "line 2 of order O1 was rejected (malformed_row)"),
                      (2, R.MALFORMED_ROW, None, "expected 6 fields, found 7 (line 3)")])),
    Case("no line of an order names its customer", "orders",
         {"orders_case.csv": order_lines("O1,,2024-01-02 10:00:00,1,5,", "O1,,2024-01-02 10:00:00,1,5,",
                                         "O2,C1,2024-01-02 11:00:00,1,5,")},
         Rejected(1, [(1, R.MISSING_VALUE, "customer_id", "no line of order O1 names its customer"),
                      (2, R.MISSING_VALUE, "customer_id", None)])),
    Case("status and currency on an order's first line only (Shopify)", "orders",
         {"orders_case.csv": order_lines("#1001,C1,2024-01-02 10:00:00 +0200,2,10.00,paid,EUR",
                                         "#1001,,2024-01-02 10:00:00 +0200,1,4.50,,",
                                         "#1002,C2,2024-01-03 09:00:00 +0200,1,3.00,refunded,EUR",
                                         header=LINES_HEADER + ",currency")},
         Loaded(3), values=("select order_id, customer_id, ordered_at, amount, status, currency from data order by 1",
                            [("#1001", "C1", dt.datetime(2024, 1, 2, 8), Decimal("24.50"), "completed", "EUR"),
                             ("#1002", "C2", dt.datetime(2024, 1, 3, 7), Decimal("3.00"), "refunded", "EUR")])),
    Case("lines of one order stating two statuses", "orders",
         {"orders_case.csv": order_lines("O1,C1,2024-01-02 10:00:00,1,5,completed",
                                         "O1,C1,2024-01-02 10:00:00,1,5,refunded")},
         Rejected(0, [(1, R.INCONSISTENT_LINES, "status", "state different statuses"),
                      (2, R.INCONSISTENT_LINES, "status", None)])),
    Case("order lines netting below zero on a completed status", "orders",
         {"orders_case.csv": order_lines("O1,C1,2024-01-02 10:00:00,1,5,completed",
                                         "O1,C1,2024-01-02 10:00:00,-2,5,")},
         Rejected(0, [(1, R.NEGATIVE_AMOUNT, "status", "net to -5.00, negative on a completed order"),
                      (2, R.NEGATIVE_AMOUNT, "status", None)])),
    Case("the earliest line dates the order", "orders",
         {"orders_case.csv": order_lines("O1,C1,2024-01-02 10:00:00,1,5,", "O1,C1,2024-01-02 09:15:00,1,5,",
                                         "O1,C1,,1,5,")},
         Loaded(3), values=("select ordered_at, amount from data", [(dt.datetime(2024, 1, 2, 9, 15), Decimal("15.00"))])),
    Case("a repeated line key", "orders",
         {"orders_case.csv": order_lines("O1,C1,2024-01-02 10:00:00,1,5,,1", "O1,C1,2024-01-02 10:00:00,1,6,,2",
                                         "O1,C1,2024-01-02 10:00:00,1,6,,2", "O1,C1,2024-01-02 10:00:00,3,6,,2",
                                         header=LINES_HEADER + ",line_id")},
         Rejected(2, [(3, R.DUPLICATE_ROW, "order_id + line_id", "same order and line as row 2 (identical values)"),
                      (4, R.DUPLICATE_KEY, "order_id + line_id", "(different values; the first is kept)")]),
         values=("select amount, _line_count from data", [(Decimal("11.00"), 2)])),
    Case("two equal lines without a line key are two lines", "orders",
         {"orders_case.csv": order_lines("O1,C1,2024-01-02 10:00:00,1,5,", "O1,C1,2024-01-02 10:00:00,1,5,")},
         Loaded(2), values=("select amount, _line_count from data", [(Decimal("10.00"), 2)])),
    Case("an order's lines in two files", "orders",
         {"orders_a.csv": order_lines("O1,C1,2024-01-02 10:00:00,1,5,"),
          "orders_b.csv": order_lines("O1,C1,2024-01-02 10:00:00,2,5,", "O1,C1,2024-01-02 10:00:00,1,1,",
                                      "O2,C1,2024-01-02 10:00:00,1,1,")},
         Rejected(2, [(1, R.DUPLICATE_KEY, "order_id", "same key as row 1 of orders_a.csv"),
                      (2, R.DUPLICATE_KEY, "order_id", "same key as row 1 of orders_a.csv")]),
         values=("select source_file, source_row, raw_record from quarantine order by 1, 2",
                 [("orders_b.csv", 1, '{"order_id":"O1","customer_id":"C1","ordered_at":"2024-01-02 10:00:00",'
                                      '"currency":"EUR","status":"completed","country":null,"quantity":"2.0000",'
                                      '"unit_price":"5.000000","line_id":null}'),
                  ("orders_b.csv", 2, '{"order_id":"O1","customer_id":"C1","ordered_at":"2024-01-02 10:00:00",'
                                      '"currency":"EUR","status":"completed","country":null,"quantity":"1.0000",'
                                      '"unit_price":"1.000000","line_id":null}')])),
    Case("order lines of a customer no customer extract holds", "orders",
         {"orders_case.csv": order_lines("O1,C9,2024-01-02 10:00:00,1,5,", "O1,C9,2024-01-02 10:00:00,1,5,",
                                         "O2,C1,2024-01-02 10:00:00,1,5,")},
         Rejected(1, [(1, R.UNKNOWN_CUSTOMER, "customer_id", "customer C9"), (2, R.UNKNOWN_CUSTOMER, "customer_id", None)])),
    Case("quantity without a unit price", "orders",
         {"orders_case.csv": orders("O1,C1,2024-01-02,2,completed", header="order_id,customer_id,ordered_at,qty,status")},
         FileFails("required column missing", column="unit_price")),
    Case("a quantity beside an amount: one row per order", "orders",
         {"orders_case.csv": orders(GOOD_ORDER + ",3", header=ORDERS_HEADER + ",Qty")},
         Loaded(1, warning="unknown columns ignored: Qty (quantity without unit_price: read one row per order)")),
    Case("an order total beside the lines (Shopify's Total)", "orders",
         {"orders_case.csv": order_lines("O1,C1,2024-01-02 10:00:00,2,5,,99.00", header=LINES_HEADER + ",Total")},
         Loaded(1, warning="unknown columns ignored: Total (amount is computed from the lines)"),
         values=("select amount from data", [(Decimal("10.00"),)])),
    Case("Parquet order lines", "orders",
         {"orders_case.parquet": pa.table({"order_id": ["O1", "O1"], "customer_id": ["C1", "C1"],
                                           "ordered_at": [dt.datetime(2024, 1, 2, 10)] * 2,
                                           "quantity": [3, 1], "unit_price": [2.55, 0.35]})},
         Loaded(2, warning="no status column"),
         values=("select amount, status, _line_count from data", [(Decimal("8.00"), "completed", 2)])),
    # --- Shapes of real exports ----------------------------------------------------------------------
    Case("no status column: the amount's sign tells a refund", "orders",
         {"orders_case.csv": orders("O1,C1,2024-01-02,10.00", "O2,C1,2024-01-03,-4.00",
                                    header="order_id,customer_id,ordered_at,amount")},
         Loaded(2, warning="no status column: each order is completed, or refunded when"),
         values=("select order_id, status from data order by 1", [("O1", "completed"), ("O2", "refunded")])),
    Case("customer ids written as floats (17850.0)", "orders",
         {"orders_case.csv": orders("O1,17850.0,2024-01-02,10.00,EUR,completed", "O2,C1.0,2024-01-02,1,EUR,completed"),
          "customers.csv": b"customer_id,signup_date\n17850,2024-01-01\nC1.0,2024-01-01\n"},
         Loaded(2), values=("select order_id, customer_id from data order by 1", [("O1", "17850"), ("O2", "C1.0")])),
    Case("a shop's own status words", "orders",
         {"orders_case.csv": orders("O1,C1,2024-01-02,10,EUR,paid", "O2,C1,2024-01-02,10,EUR,Partially refunded",
                                    "O3,C1,2024-01-02,10,EUR,voided", "O4,C1,2024-01-02,10,EUR,wc-processing",
                                    "O5,C1,2024-01-02,10,EUR,pending", "O6,C1,2024-01-02,10,EUR,on-hold")},
         Rejected(5, [(6, R.UNKNOWN_STATUS, "status", "'on-hold' is not one of completed, refunded, cancelled, "
                                                      "nor a status mapped in retentio_sources.yml")]),
         values=("select order_id, status from data order by 1",
                 [("O1", "completed"), ("O2", "completed"), ("O3", "cancelled"), ("O4", "completed"),
                  ("O5", "cancelled")]),
         extra_files={"retentio_sources.yml": b"extracts:\n  orders:\n    statuses: {Pending: cancelled}\n"}),
    Case("an explicit mapping wins over a column of the canonical name", "orders",
         {"orders_case.csv": orders("O1,0,a@example.org,2024-01-02,10,EUR,completed",
                                    header="order_id,customer_id,customer_email,ordered_at,amount,currency,status"),
          "customers.csv": b"customer_id,signup_date\na@example.org,2024-01-01\n"},
         Loaded(1, warning="unknown columns ignored: customer_id"),
         values=("select customer_id from data", [("a@example.org",)]),
         extra_files={"retentio_sources.yml": b"extracts:\n  orders:\n    columns: {customer_email: customer_id}\n"}),
    Case("month-first dates told only after thousands of ambiguous ones (UCI)", "orders",
         {"orders_case.csv": month_first_lines(2500, "12/13/2010 9:00")}, Loaded(2501, warning="no status column"),
         values=("select min(ordered_at), max(ordered_at) from data",
                 [(dt.datetime(2010, 12, 1, 8, 0), dt.datetime(2010, 12, 13, 9, 0))])),
    Case("dates that never tell day from month", "orders",
         {"orders_case.csv": month_first_lines(30, None)},
         Loaded(30, warning="no date tells day from month (e.g. '12/1/2010 8:00'): read day first"),
         values=("select min(ordered_at) from data", [(dt.datetime(2010, 1, 12, 8, 0),)])),
    Case("SurveyMonkey's second header row (Response, Open-Ended Response)", "survey_responses",
         {"survey_responses_nps.csv": lines(
             SURVEYMONKEY_HEADER, SURVEYMONKEY_SUB_HEADER,
             surveymonkey_answer(114227834501, "C1", "9", "Fast delivery"),
             surveymonkey_answer(114227834502, "C2", "3", '"Late, box damaged"'),
             surveymonkey_answer(114227834503, "C1", "dix"))},
         Rejected(2, [(4, R.INVALID_NUMBER, "nps_score", "'dix' is not a whole number")],
                  warning="second header row skipped (line 2"),
         values=("select response_id, nps_score, comment, _source_row, (select json_extract(dialect, "
                 "'$.header_rows') || '/' || rows_read from ledger) from data order by 1",
                 [("114227834501", 9, "Fast delivery", 2, "2/3"),
                  ("114227834502", 3, "Late, box damaged", 3, "2/3")]),
         extra_files={"retentio_sources.yml": SURVEYMONKEY_MAPPING}),
    Case("SurveyMonkey's second header row, and a row with a field too many", "survey_responses",
         {"survey_responses_nps.csv": lines(
             SURVEYMONKEY_HEADER, SURVEYMONKEY_SUB_HEADER, surveymonkey_answer(114227834501, "C1", "9"),
             surveymonkey_answer(114227834502, "C2", "3", "Late, box damaged"))},
         Rejected(1, [(3, R.MALFORMED_ROW, None, "expected 11 fields, found 12 (line 4)")],
                  warning="second header row skipped"),
         values=("select response_id, _source_row from data", [("114227834501", 2)]),
         extra_files={"retentio_sources.yml": SURVEYMONKEY_MAPPING}),
    # The second header row is told narrowly: these first rows are data, quarantined as such.
    Case("a first row with a word under the answer's id is data, not a second header row", "survey_responses",
         {"survey_responses.csv": lines(SURVEY_HEADER, "Anonymous,,,Response,", "R2,C1,2024-01-01,9,")},
         Rejected(1, [(1, R.MISSING_VALUE, "responded_at", None)])),
    Case("a first row holding only a comment is data, not a second header row", "survey_responses",
         {"survey_responses.csv": lines(SURVEY_HEADER, ",,,,Great service", "R2,C1,2024-01-01,9,")},
         Rejected(1, [(1, R.MISSING_VALUE, "response_id", None)])),
    Case("a first row holding a number beside the labels is data, not a second header row",
         "survey_responses",
         {"survey_responses.csv": lines(SURVEY_HEADER, ",,,Response,10 out of 10", "R2,C1,2024-01-01,9,")},
         Rejected(1, [(1, R.MISSING_VALUE, "response_id", None)])),
    Case("orders whose first row lacks its ids and says 'unknown' for its amount, in EUR", "orders",
         {"orders_case.csv": orders(",,,unknown,EUR,", GOOD_ORDER)},
         Rejected(1, [(1, R.MISSING_VALUE, "order_id", None)])),
    Case("orders in another currency with RETENTIO_CURRENCY unset", "orders",
         {"orders_case.csv": orders("O1,C1,2024-01-02,10,GBP,completed", "O2,C1,2024-01-02,10,,completed")},
         Loaded(2), values=("select currency from data", [("GBP",), ("GBP",)])),
    # --- Deliveries ------------------------------------------------------------------------------
    Case("the same file delivered twice", "orders",
         {"orders_2024.csv": orders(GOOD_ORDER), "orders_2024_resent.csv": orders(GOOD_ORDER)},
         Loaded(1, warning="orders_2024_resent.csv has the same content as orders_2024.csv: not loaded twice"),
         values=("select source_file, status, duplicate_of, rows_read from ledger order by 1",
                 [("orders_2024.csv", "loaded", None, 1),
                  ("orders_2024_resent.csv", "duplicate_file", "orders_2024.csv", 0)])),
]
