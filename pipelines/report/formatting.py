"""How the report writes numbers: thousands separators, percentages with one decimal, money with its currency.

One place for it, so a tile, a chart label and a table cell show the same value the same way. Missing
values (None, NaN) are written as an em dash.
"""

from __future__ import annotations

import math
from datetime import date

MISSING = "—"
MINUS = "−"  # a real minus sign: the same width as "+", and read out as "minus"
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF "}


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _signed(text: str, value: float) -> str:
    return text.replace("-", MINUS) if value < 0 else text


def number(value, decimals: int = 0) -> str:
    """1234567.8 -> '1,234,568' (decimals=0) or '1,234,567.8' (decimals=1)."""
    if is_missing(value):
        return MISSING
    value = float(value)
    if round(value, decimals) == 0:
        value = 0.0  # never "-0"
    return _signed(f"{value:,.{decimals}f}", value)


def percent(value, decimals: int = 1) -> str:
    """A value already in percent: 97.87 -> '97.9%'."""
    return MISSING if is_missing(value) else f"{number(value, decimals)}%"


def money(value, currency: str = "EUR", decimals: int = 2) -> str:
    """12345.678 -> '€12,345.68'; a currency without a symbol is written after the amount: '12.50 SEK'."""
    if is_missing(value):
        return MISSING
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    amount = number(abs(float(value)), decimals)
    sign = MINUS if round(float(value), decimals) < 0 else ""
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency.upper()}"


def compact_money(value, currency: str = "EUR") -> str:
    """Axis labels: 950 -> '€950', 12500 -> '€12.5k', 3200000 -> '€3.2M'."""
    if is_missing(value):
        return MISSING
    magnitude = abs(float(value))
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            scaled = float(value) / limit
            text = f"{scaled:,.1f}".rstrip("0").rstrip(".")
            break
    else:
        text, suffix = (f"{float(value):,.0f}" if magnitude >= 10 or float(value).is_integer()
                        else f"{float(value):,.2f}"), ""
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    text = text.lstrip("-")
    sign = MINUS if float(value) < 0 else ""
    return f"{sign}{symbol}{text}{suffix}" if symbol else f"{sign}{text}{suffix} {currency.upper()}"


def ratio(value, decimals: int = 1) -> str:
    """CLV:CAC 26.59 -> '26.6×'."""
    return MISSING if is_missing(value) else f"{number(value, decimals)}×"


def signed(value, decimals: int = 1, unit: str = "") -> str:
    """A change: +0.4 pp, −1,250, +0.0 (always with its sign; `unit` follows after a space if given)."""
    if is_missing(value):
        return MISSING
    rounded = round(float(value), decimals)
    text = number(abs(rounded), decimals)
    sign = "+" if rounded > 0 else MINUS if rounded < 0 else "±"
    return f"{sign}{text}{' ' + unit if unit else ''}"


def signed_money(value, currency: str = "EUR", decimals: int = 2) -> str:
    if is_missing(value):
        return MISSING
    rounded = round(float(value), decimals)
    sign = "+" if rounded > 0 else MINUS if rounded < 0 else "±"
    return f"{sign}{money(abs(rounded), currency, decimals)}"


def month_label(day: date, long: bool = False) -> str:
    """date(2026, 6, 1) -> 'Jun 2026' (long: 'June 2026'); English whatever the process locale."""
    name = MONTH_NAMES[day.month - 1]
    return f"{name if long else name[:3]} {day.year}"


def short_month_label(day: date) -> str:
    """Axis ticks: 'Jun 26'."""
    return f"{MONTH_NAMES[day.month - 1][:3]} {day.year % 100:02d}"
