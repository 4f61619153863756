"""A file shaped like the UCI Online Retail data set, built here (the real one is not shipped), and the
orders an independent pandas computation expects from it.

The real file (Chen et al., UCI ML repository 352): 541,909 invoice lines of a UK gift shop, 2010-12-01
to 2011-12-09, columns InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID,
Country, prices in GBP. What this copy keeps of it, because each one has broken a loader:

- InvoiceDate month-first without zero padding (`12/1/2010 8:26`); the first thousands of lines are
  1-9 December 2010, so every one of them reads as a valid day-first date too (a 1 December read as 12
  January); some copies write `2010-12-01 08:26:00` instead (`iso_dates=True`);
- CustomerID written as a float (`17850.0`, how pandas writes an integer column with blanks), and blank
  on a quarter of the lines, whole invoices at a time;
- credit notes: invoice numbers starting with C, negative quantities (returns, discounts `D`);
- zero prices, prices below a penny (`PADS` at 0.001), postage (`POST`);
- A563185-A563187, 'Adjust bad debt': one line each, quantity 1, price +/-11062.06, no customer;
- the same item twice on an invoice (two identical lines, both real);
- Latin-1 descriptions (`CAFÉ`, `£`, `°`) in a Windows-1252 file, or UTF-8 (`encoding=`).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
MAPPING = ("extracts:\n  orders:\n    columns: {InvoiceNo: order_id, Quantity: quantity, UnitPrice: unit_price,"
           " InvoiceDate: ordered_at, CustomerID: customer_id, Country: country}\n")
ITEMS = [
    ("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "2.55"), ("71053", "WHITE METAL LANTERN", "3.39"),
    ("84406B", "CREAM CUPID HEARTS COAT HANGER", "2.75"), ("22752", "SET 7 BABUSHKA NESTING BOXES", "7.65"),
    ("21730", "GLASS STAR FROSTED T-LIGHT HOLDER", "4.25"), ("22633", "HAND WARMER UNION JACK", "1.85"),
    ("84879", "ASSORTED COLOUR BIRD ORNAMENT", "1.69"), ("22960", "JAM MAKING SET WITH JARS", "4.25"),
    ("21212", "PACK OF 72 RETROSPOT CAKE CASES", "0.42"), ("23084", "RABBIT NIGHT LIGHT", "1.79"),
    ("35004C", "SET OF 3 COLOURED  FLYING DUCKS", "4.65"), ("22423", "REGENCY CAKESTAND 3 TIER", "12.75"),
    ("47566", "PARTY BUNTING", "4.95"), ("85099B", "JUMBO BAG RED RETROSPOT", "1.95"),
    ("20725", "LUNCH BAG RED RETROSPOT", "1.65"), ("22197", "SMALL POPCORN HOLDER", "0.85"),
    ("90200A", "CAFÉ DE PARIS MUG", "2.10"), ("22910", "PAPER CHAIN KIT 50'S CHRISTMAS ", "2.95"),
    ("21175", "GIN + TONIC DIET METAL SIGN", "2.10"), ("90214Y", "THERMOMETER 12° GARDEN", "0.29"),
    ("84997D", "£5 GIFT VOUCHER PINK", "5.00"), ("PADS", "PADS TO MATCH ALL CUSHIONS", "0.001"),
    ("POST", "POSTAGE", "18.00"), ("M", "Manual", "0.65"),
]
COUNTRIES = ["United Kingdom"] * 8 + ["France", "Germany", "EIRE", "Spain", "Netherlands", "Norway", "Australia"]


def write_uci_file(path: Path, invoices: int = 1500, seed: int = 2011, iso_dates: bool = False,
                   encoding: str = "cp1252") -> int:
    """Write the file; returns its number of lines (records after the header)."""
    rng = random.Random(seed)
    customers = {12346 + rng.randrange(6000): rng.choice(COUNTRIES) for _ in range(300)}
    customer_ids = sorted(customers)
    rows: list[list[str]] = []
    moment = datetime(2010, 12, 1, 8, 26)
    number = 536365
    issued: list[tuple[str, int | None, list]] = []
    for i in range(invoices):
        # The first third of the invoices fall on 1-9 December 2010: dates that read both ways.
        step = timedelta(minutes=rng.randrange(3, 40)) if i < invoices // 3 else timedelta(hours=rng.randrange(2, 9))
        moment += step
        if i < invoices // 3 and moment >= datetime(2010, 12, 10):
            moment = datetime(2010, 12, 9, 17, 0)
        number += 1
        customer = None if rng.random() < 0.25 else rng.choice(customer_ids)
        credit = customer is not None and rng.random() < 0.06 and bool(issued)
        lines = []
        if credit:  # a credit note returns some of an earlier invoice's items
            _, _, earlier = rng.choice([inv for inv in issued if inv[1] is not None] or issued)
            for code, description, price, quantity in rng.sample(earlier, k=min(len(earlier), rng.randrange(1, 3))):
                lines.append((code, description, price, -quantity))
            if rng.random() < 0.3:
                lines.append(("D", "Discount", "5.76", -1))
            invoice = f"C{number}"
        else:
            for _ in range(rng.randrange(1, 12)):
                code, description, price = rng.choice(ITEMS)
                quantity = rng.choice([1, 2, 3, 4, 6, 12, 24, 25, 48])
                if rng.random() < 0.01:
                    price = "0"                              # free samples
                lines.append((code, description, price, quantity))
            if rng.random() < 0.1:
                lines.append(lines[0])                       # the same item scanned twice
            if customer is None and rng.random() < 0.1:
                lines.append(("21275", "?", "0", -rng.randrange(1, 50)))  # stock written off, no customer
            invoice = str(number)
            issued.append((invoice, customer, lines))
        country = customers.get(customer, "United Kingdom")
        for code, description, price, quantity in lines:
            rows.append([invoice, code, description, str(quantity), _date_text(moment, iso_dates), price,
                         "" if customer is None else f"{customer}.0", country])
        if i == invoices // 2:
            for suffix, sign in ((185, ""), (186, "-"), (187, "-")):
                rows.append([f"A563{suffix}", "B", "Adjust bad debt", "1", _date_text(moment, iso_dates),
                             f"{sign}11062.06", "", "United Kingdom"])
    text = ",".join(HEADER) + "\r\n" + "".join(",".join(_quoted(v) for v in row) + "\r\n" for row in rows)
    path.write_bytes(text.encode(encoding))
    return len(rows)


def _date_text(moment: datetime, iso: bool) -> str:
    if iso:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return f"{moment.month}/{moment.day}/{moment.year} {moment.hour}:{moment.minute:02d}"


def _quoted(value: str) -> str:
    return f'"{value}"' if "," in value or '"' in value else value


def expected_orders(path: Path, encoding: str = "cp1252") -> pd.DataFrame:
    """The orders the file holds, computed with pandas and Python's Decimal, independently of the loader:
    invoices with a customer, amount = sum of quantity x unit price rounded half away from zero to the
    penny, earliest line's time, the first line's country, refunded when the invoice nets below zero."""
    lines = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
    lines["row"] = range(1, len(lines) + 1)
    lines = lines[lines["CustomerID"].str.strip() != ""]
    lines["at"] = pd.to_datetime(lines["InvoiceDate"], format="mixed", dayfirst=False)
    lines["value"] = [Decimal(q) * Decimal(p) for q, p in zip(lines["Quantity"], lines["UnitPrice"])]
    orders = lines.groupby("InvoiceNo").agg(
        customer_id=("CustomerID", "first"), ordered_at=("at", "min"), exact=("value", "sum"),
        country=("Country", "first"), line_count=("row", "count"), first_row=("row", "min"))
    orders["customer_id"] = orders["customer_id"].str.replace(r"\.0$", "", regex=True)
    orders["amount"] = [Decimal(v).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) for v in orders["exact"]]
    orders["status"] = ["refunded" if v < 0 else "completed" for v in orders["exact"]]
    return orders.drop(columns="exact").reset_index().rename(columns={"InvoiceNo": "order_id"})
