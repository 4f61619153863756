"""Numbers as the report writes them."""

from datetime import date

import pytest

from pipelines.report.formatting import (
    compact_money,
    money,
    month_label,
    number,
    percent,
    ratio,
    short_month_label,
    signed,
    signed_money,
)


@pytest.mark.parametrize(("value", "decimals", "expected"), [
    (1234567.8, 0, "1,234,568"),
    (1234567.8, 1, "1,234,567.8"),
    (-1234.0, 0, "−1,234"),
    (-0.04, 1, "0.0"),
    (None, 0, "—"),
    (float("nan"), 0, "—"),
])
def test_number_has_thousands_separators_and_a_real_minus(value, decimals, expected):
    assert number(value, decimals) == expected


def test_percent_has_one_decimal():
    assert percent(97.8789) == "97.9%"
    assert percent(100) == "100.0%"
    assert percent(None) == "—"


def test_money_in_the_reporting_currency():
    assert money(12345.678) == "€12,345.68"
    assert money(7540.43, decimals=0) == "€7,540"
    assert money(-5) == "−€5.00"
    assert money(12.5, "USD") == "$12.50"
    assert money(12.5, "SEK") == "12.50 SEK"
    assert compact_money(950) == "€950"
    assert compact_money(12500) == "€12.5k"
    assert compact_money(2000) == "€2k"
    assert compact_money(3_200_000) == "€3.2M"


def test_changes_always_carry_their_sign():
    assert signed(0.348, 1, "pp") == "+0.3 pp"
    assert signed(-1.26, 1, "pp") == "−1.3 pp"
    assert signed(0.01, 1, "pts") == "±0.0 pts"
    assert signed_money(2.389) == "+€2.39"
    assert signed_money(-5) == "−€5.00"
    assert ratio(26.595) == "26.6×"


def test_month_labels_are_english_whatever_the_locale():
    assert month_label(date(2026, 6, 1)) == "Jun 2026"
    assert month_label(date(2026, 6, 1), long=True) == "June 2026"
    assert short_month_label(date(2026, 1, 1)) == "Jan 26"
