"""Dirty mode: a known number of bad rows of each kind, each with exactly one problem.

Every bad row starts as a copy of a valid row (its template) and is written just after it. Rows whose
problem is row-level get a fresh key nobody else uses (`O-DIRTY-0003`), so they cannot collide with a
valid row; duplicates reuse their template's key on purpose and so always follow their original. Orders
and answers only ever reference valid customers, except the unknown-customer rows, which reference
`C-MISSING-nnnn`, an id no customer row holds.

Text-only problems (impossible dates, words for numbers, malformed records) cannot be stored in typed
Parquet columns, so Parquet output gets only the others.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa

from pipelines.ingestion.contracts import CUSTOMERS, EXTRACTS, MARKETING_SPEND, ORDERS, SURVEY_RESPONSES
from pipelines.ingestion.contracts import RejectReason as Reason

MIN_PER_KIND, MAX_PER_KIND = 2, 5
FUTURE_YEAR = 2099

TEXT_ONLY_REASONS = frozenset({
    Reason.INVALID_DATE, Reason.INVALID_NUMBER, Reason.INVALID_BOOLEAN, Reason.MALFORMED_ROW,
})

REASONS = {
    CUSTOMERS.name: (
        Reason.MISSING_VALUE, Reason.INVALID_DATE, Reason.FUTURE_DATE, Reason.INVALID_BOOLEAN,
        Reason.DUPLICATE_ROW, Reason.DUPLICATE_KEY, Reason.MALFORMED_ROW,
    ),
    ORDERS.name: (
        Reason.MISSING_VALUE, Reason.INVALID_DATE, Reason.FUTURE_DATE, Reason.INVALID_NUMBER,
        Reason.NEGATIVE_AMOUNT, Reason.UNKNOWN_STATUS, Reason.UNKNOWN_CURRENCY, Reason.CURRENCY_MISMATCH,
        Reason.DUPLICATE_ROW, Reason.DUPLICATE_KEY, Reason.UNKNOWN_CUSTOMER, Reason.MALFORMED_ROW,
    ),
    SURVEY_RESPONSES.name: (
        Reason.MISSING_VALUE, Reason.INVALID_DATE, Reason.FUTURE_DATE, Reason.INVALID_NUMBER,
        Reason.OUT_OF_RANGE, Reason.DUPLICATE_ROW, Reason.DUPLICATE_KEY, Reason.UNKNOWN_CUSTOMER,
        Reason.MALFORMED_ROW,
    ),
    MARKETING_SPEND.name: (
        Reason.MISSING_VALUE, Reason.INVALID_DATE, Reason.FUTURE_DATE, Reason.INVALID_NUMBER,
        Reason.NEGATIVE_AMOUNT, Reason.UNKNOWN_CURRENCY, Reason.CURRENCY_MISMATCH,
        Reason.DUPLICATE_ROW, Reason.DUPLICATE_KEY, Reason.MALFORMED_ROW,
    ),
}

# Per extract: the column holding its date, its number, and the required columns left empty in turn.
_DATE_COLUMN = {"customers": "signup_date", "orders": "ordered_at", "survey_responses": "responded_at",
                "marketing_spend": "spend_date"}
_NUMBER_COLUMN = {"orders": "amount", "survey_responses": "nps_score", "marketing_spend": "amount"}
_EMPTIED_COLUMNS = {
    "customers": ("customer_id",),
    "orders": ("ordered_at", "amount", "status", "customer_id"),
    "survey_responses": ("responded_at", "nps_score"),
    "marketing_spend": ("amount", "spend_date"),
}
_FRESH_KEY_PREFIX = {"customers": "C-DIRTY-", "orders": "O-DIRTY-", "survey_responses": "R-DIRTY-"}
# Spend is keyed by (spend_date, channel, campaign): fresh keys use channels no valid row has.
_UNUSED_CHANNELS = ("display", "tv", "podcast", "radio", "print", "influencer")

_IMPOSSIBLE_DAYS = ((2, 31), (2, 30), (4, 31), (6, 31), (9, 31))
_OUT_OF_RANGE_SCORES = (11, -1, 12, 15, 100)
_UNKNOWN_STATUSES = ("on hold", "pending", "en attente", "draft", "lost")  # none a built-in synonym
_UNKNOWN_CURRENCIES = ("ZZZ", "EURO", "XYZ", "EUROS", "QQQ")
_OTHER_CURRENCIES = ("USD", "GBP", "CHF", "SEK", "JPY")


@dataclass(frozen=True)
class BadRow:
    reason: Reason
    after: int                       # index of the valid row it follows in its chunk's table; -1: first
    values: dict                     # typed values, as the valid rows have them
    text_overrides: dict[str, str] = field(default_factory=dict)  # raw text replacing a rendered value
    extra_field: bool = False

    def placed_after(self, after: int) -> BadRow:
        return replace(self, after=after)


@dataclass(frozen=True)
class PlannedBadRow:
    extract: str
    reason: Reason
    chunk: int
    position: float                  # where among the chunk's rows, as a fraction
    serial: int                      # numbers the fresh key, per extract


def plan_bad_rows(rng: np.random.Generator, chunks: int, text_format: bool) -> list[PlannedBadRow]:
    """How many bad rows of each kind, and where. Marketing spend is a single table (chunk 0)."""
    planned = []
    for extract, reasons in REASONS.items():
        serial = 0
        for reason in reasons:
            if reason in TEXT_ONLY_REASONS and not text_format:
                continue
            for _ in range(int(rng.integers(MIN_PER_KIND, MAX_PER_KIND + 1))):
                serial += 1
                chunk = 0 if extract == MARKETING_SPEND.name else int(rng.integers(chunks))
                planned.append(PlannedBadRow(extract, reason, chunk, float(rng.random()), serial))
    return planned


def make_bad_rows(planned: list[PlannedBadRow], table: pa.Table, dialect, end_date: date) -> list[BadRow]:
    """The bad rows planned for this table; `dialect` is the text dialect, None for Parquet."""
    if table.num_rows == 0:
        return []
    rows = []
    for plan in planned:
        after = min(int(plan.position * table.num_rows), table.num_rows - 1)
        template = table.slice(after, 1).to_pylist()[0]
        rows.append(_spoiled(plan, template, after, dialect, end_date))
    return rows


def tally(bad_rows: list[BadRow], extract: str, counts: dict[str, Counter]) -> None:
    counts.setdefault(extract, Counter()).update(str(row.reason) for row in bad_rows)


def _spoiled(plan: PlannedBadRow, template: dict, after: int, dialect, end_date: date) -> BadRow:
    extract, reason, serial = plan.extract, plan.reason, plan.serial
    values = dict(template)
    overrides: dict[str, str] = {}
    if reason not in (Reason.DUPLICATE_ROW, Reason.DUPLICATE_KEY):
        values |= _fresh_key(extract, serial, end_date)
    date_column = _DATE_COLUMN[extract]

    def pick(options: tuple):  # varied from one bad row to the next, but deterministic
        return options[serial % len(options)]

    if reason == Reason.MISSING_VALUE:
        values[pick(_EMPTIED_COLUMNS[extract])] = None
    elif reason == Reason.INVALID_DATE:
        overrides[date_column] = _impossible_date_text(values[date_column], pick(_IMPOSSIBLE_DAYS), dialect,
                                                       end_date.year - 1)
    elif reason == Reason.FUTURE_DATE:
        valid = values[date_column]
        values[date_column] = valid.replace(year=FUTURE_YEAR, day=min(valid.day, 28))
    elif reason == Reason.INVALID_NUMBER:
        overrides[_NUMBER_COLUMN[extract]] = pick(dialect.number_words)
    elif reason == Reason.INVALID_BOOLEAN:
        overrides["marketing_consent"] = pick(dialect.undecided_booleans)
    elif reason == Reason.NEGATIVE_AMOUNT:
        values["amount"] = -(abs(values["amount"]) or Decimal("100.00"))
        if extract == ORDERS.name:
            values["status"] = "completed"  # only a completed order may not be negative
    elif reason == Reason.OUT_OF_RANGE:
        values["nps_score"] = pick(_OUT_OF_RANGE_SCORES)
    elif reason == Reason.UNKNOWN_STATUS:
        values["status"] = pick(_UNKNOWN_STATUSES)
    elif reason == Reason.UNKNOWN_CURRENCY:
        values["currency"] = pick(_UNKNOWN_CURRENCIES)
    elif reason == Reason.CURRENCY_MISMATCH:
        values["currency"] = pick(_OTHER_CURRENCIES)
    elif reason == Reason.DUPLICATE_KEY:
        values |= _another_value(extract, values, serial)
    elif reason == Reason.UNKNOWN_CUSTOMER:
        values["customer_id"] = f"C-MISSING-{serial:04d}"
    elif reason not in (Reason.DUPLICATE_ROW, Reason.MALFORMED_ROW):
        raise ValueError(f"no recipe for {reason}")
    return BadRow(reason, after, values, overrides, extra_field=reason == Reason.MALFORMED_ROW)


def _fresh_key(extract: str, serial: int, end_date: date) -> dict:
    if extract == MARKETING_SPEND.name:
        channel_index, month_index = serial % len(_UNUSED_CHANNELS), serial // len(_UNUSED_CHANNELS)
        return {"channel": _UNUSED_CHANNELS[channel_index],
                "spend_date": date(end_date.year - 1 - month_index // 12, month_index % 12 + 1, 1)}
    (key,) = EXTRACTS[extract].key
    return {key: f"{_FRESH_KEY_PREFIX[extract]}{serial:04d}"}


def _another_value(extract: str, values: dict, serial: int) -> dict:
    """The same key with one different, still valid, value."""
    if extract == CUSTOMERS.name:
        return {"email": f"nouvelle.adresse.{serial}@example.org"}
    if extract == SURVEY_RESPONSES.name:
        return {"nps_score": (values["nps_score"] + 5) % 11}
    return {"amount": values["amount"] + (Decimal("10.00") if extract == ORDERS.name else Decimal("100.00"))}


def _impossible_date_text(valid: date | datetime, month_day: tuple[int, int], dialect, year: int) -> str:
    month, day = month_day
    if isinstance(valid, datetime):
        return dialect.timestamp_text(year, month, day, valid.hour, valid.minute, valid.second)
    return dialect.date_text(year, month, day)
