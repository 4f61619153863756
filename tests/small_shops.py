"""Hand-made shops of every size and shape, from one order up, written as a business would deliver them.

Each shop is plain rows (customers, orders, survey answers, marketing spend), written to a landing
directory as CSV, or as Excel workbooks with typed cells (dates, numbers); the same rows feed the reference computation (tests/reference_metrics.py), so what the
pipeline publishes can be compared with numbers derived here and nowhere else. A shop without customers
has no customer extract at all (customers are then derived from the orders); a shop without answers or
spend has no such extract (NPS, CAC are then unknown).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from tests.reference_metrics import Order


@dataclass(frozen=True)
class ShopOrder:
    order_id: str
    customer_id: str
    day: date
    amount: Decimal
    status: str = "completed"
    country: str | None = None


@dataclass(frozen=True)
class Shop:
    name: str
    activity_window_days: int
    orders: tuple[ShopOrder, ...]
    customers: tuple[str, ...] | None = None            # None: no customer extract is delivered
    answers: tuple[tuple[str, date, int], ...] | None = None  # (customer, day, score); None: no survey extract
    spend: tuple[tuple[date, str, Decimal], ...] | None = None  # (day, channel, amount); None: no spend extract
    notes: str = ""
    purchase_model_status: str = "not_fitted"   # what clv_model_fits should say of BG/NBD on the full history
    channels: dict[str, str] = field(default_factory=dict)
    workbooks: bool = False                      # delivered as .xlsx files instead of CSV

    def reference_orders(self) -> list[Order]:
        return [(o.customer_id, o.day, o.status, o.amount) for o in self.orders]

    def write_landing(self, landing: Path) -> Path:
        landing.mkdir(parents=True, exist_ok=True)
        write = _write_workbook if self.workbooks else _write_csv
        if self.customers is not None:
            first_day = min(o.day for o in self.orders)
            write(landing / "customers",
                  ["customer_id", "email", "full_name", "signup_date", "country", "acquisition_channel",
                   "marketing_consent"],
                  [[c, f"{c.lower()}@example.org", f"Customer {c}", first_day, "FR",
                    self.channels.get(c, "organic"), "yes"] for c in self.customers])
        with_country = any(o.country for o in self.orders)
        header = ["order_id", "customer_id", "ordered_at", "amount", "currency", "status"]
        write(landing / "orders", header + (["country"] if with_country else []),
              [[o.order_id, o.customer_id, datetime.combine(o.day, time(10)), o.amount, "EUR", o.status]
               + ([o.country or ""] if with_country else []) for o in self.orders])
        if self.answers is not None:
            write(landing / "survey_responses",
                  ["response_id", "customer_id", "responded_at", "nps_score", "comment"],
                  [[f"R{i:04d}", c, datetime.combine(d, time(12)), s, ""] for i, (c, d, s) in enumerate(self.answers)])
        if self.spend is not None:
            write(landing / "marketing_spend", ["spend_date", "channel", "amount", "currency"],
                  [[d, ch, a, "EUR"] for d, ch, a in self.spend])
        return landing


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    def text(value) -> str:
        if isinstance(value, datetime):
            return value.isoformat(sep=" ")
        return f"{value:.2f}" if isinstance(value, Decimal) else str(value)

    with path.with_suffix(".csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([text(value) for value in row] for row in rows)


def _write_workbook(path: Path, header: list[str], rows: list[list]) -> None:
    """As a spreadsheet holds them: dates and amounts as typed cells, shown in a French format."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(path.with_suffix(".xlsx"))
    sheet = workbook.add_worksheet("Export")
    formats = {datetime: workbook.add_format({"num_format": "dd/mm/yyyy hh:mm"}),
               date: workbook.add_format({"num_format": "dd/mm/yyyy"}),
               Decimal: workbook.add_format({"num_format": "# ##0,00 €"})}
    sheet.write_row(0, 0, header)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if isinstance(value, date):  # a datetime too
                sheet.write_datetime(r, c, value, formats[type(value)])
            elif isinstance(value, Decimal):
                sheet.write_number(r, c, float(value), formats[Decimal])
            elif value != "":
                sheet.write(r, c, value)
    workbook.close()


def _days(start: date, count: int, step: int) -> list[date]:
    return [start + timedelta(days=step * i) for i in range(count)]


def one_order() -> Shop:
    return Shop("one_order", 365, (ShopOrder("O1", "A", date(2025, 3, 14), Decimal("20.00")),), customers=("A",),
                notes="one customer, one order: nothing to fit")


def never_came_back() -> Shop:
    days = [date(2025, 1, 5), date(2025, 1, 20), date(2025, 2, 3), date(2025, 2, 17), date(2025, 3, 1),
            date(2025, 3, 30)]
    customers = tuple(f"N{i}" for i in range(6))
    orders = tuple(ShopOrder(f"O{i}", c, d, Decimal("35.50") + i) for i, (c, d) in enumerate(zip(customers, days)))
    answers = ((customers[0], date(2025, 1, 10), 9), (customers[1], date(2025, 2, 1), 3),
               (customers[4], date(2025, 3, 5), 7))
    spend = tuple((date(2025, m, 1), "paid_search", Decimal("120.00")) for m in (1, 2, 3))
    return Shop("never_came_back", 30, orders, customers=customers, answers=answers, spend=spend,
                channels={c: "paid_search" for c in customers[:4]}, workbooks=True,
                notes="six customers, one order each: no repeat purchase; churn with a 30-day window; "
                      "every extract an Excel workbook")


def same_day_twice() -> Shop:
    day = date(2025, 5, 2)
    orders = []
    for i in range(25):
        orders.append(ShopOrder(f"O{i}a", f"S{i:02d}", day, Decimal("10.00") + i))
        orders.append(ShopOrder(f"O{i}b", f"S{i:02d}", day, Decimal("4.25")))
    return Shop("same_day_twice", 365, tuple(orders),
                notes="25 customers who all bought twice on the same day, no customer extract: one purchase day each")


def short_history() -> Shop:
    start = date(2025, 9, 1)
    orders, answers = [], []
    for i in range(40):
        customer = f"H{i:02d}"
        first = start + timedelta(days=i)
        orders.append(ShopOrder(f"O{i}a", customer, first, Decimal("18.90") + i))
        if i % 3 == 0 and first + timedelta(days=9) <= start + timedelta(days=49):
            orders.append(ShopOrder(f"O{i}b", customer, first + timedelta(days=9), Decimal("22.00")))
        answers.append((customer, first + timedelta(days=2), (i * 7) % 11))
    return Shop("short_history", 365, tuple(orders), customers=tuple(f"H{i:02d}" for i in range(40)),
                answers=tuple(answers),
                notes="40 customers over 50 days with surveys and no spend extract: history shorter than the window")


def refunded_but_one() -> Shop:
    orders = [ShopOrder(f"O{i}", f"R{i}", date(2025, 4, 1) + timedelta(days=3 * i), Decimal("49.00"), "refunded")
              for i in range(10)]
    orders[6] = ShopOrder("O6", "R6", orders[6].day, Decimal("49.00"), "completed")
    return Shop("refunded_but_one", 90, tuple(orders), customers=tuple(f"R{i}" for i in range(10)),
                notes="ten customers whose orders are all refunded but one")


def steady_buyers() -> Shop:
    """400 customers who buy every 14 days for a year, the same basket: no heterogeneity between them."""
    orders = []
    for i in range(400):
        first = date(2025, 1, 1) + timedelta(days=i % 14)
        for k, day in enumerate(_days(first, 26, 14)):
            orders.append(ShopOrder(f"O{i}-{k}", f"B{i:03d}", day, Decimal("25.00")))
    return Shop("steady_buyers", 30, tuple(orders), customers=tuple(f"B{i:03d}" for i in range(400)),
                spend=tuple((date(2025, m, 1), "organic", Decimal("500.00")) for m in range(1, 13)),
                notes="400 steady buyers, same interval and basket: the purchase models' limiting case",
                purchase_model_status="limiting_case")


def two_loyal() -> Shop:
    orders = []
    for customer, offset, basket in (("L1", 0, Decimal("60.00")), ("L2", 11, Decimal("41.30"))):
        for k in range(24):
            month_start = date(2024 + (k // 12), k % 12 + 1, 1)
            # Countries written as names, as the UCI data does, and two ways for the same country
            country = ("United Kingdom" if k % 2 else "UK") if customer == "L1" else "EIRE"
            orders.append(ShopOrder(f"{customer}-{k}", customer, month_start + timedelta(days=offset), basket,
                                    country=country))
    return Shop("two_loyal", 365, tuple(orders),
                notes="two loyal customers buying monthly over two years, no customer extract, countries on orders "
                      "as names")


# The ISO 3166-1 codes of the country names the shops write: what customers.country_code holds.
COUNTRY_CODES = {"United Kingdom": "GB", "UK": "GB", "EIRE": "IE"}


ALL_SHOPS = (one_order, never_came_back, same_day_twice, short_history, refunded_but_one, steady_buyers, two_loyal)
