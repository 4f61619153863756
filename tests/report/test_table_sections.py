"""Published tables shown as they are: every value written as its column's declared kind, never as its
name suggests."""

from __future__ import annotations

import re

from pipelines.report.queries import TableExtract
from pipelines.report.table_sections import COLUMN_KINDS, TABLE_SECTIONS, generic_table


def cells(html: str) -> list[list[str]]:
    return [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", html)[1:]]


def test_a_drivers_value_takes_the_kind_of_its_rows_metric():
    extract = TableExtract(
        "retention_drivers",
        ("metric", "current_value", "change", "mix_effect", "share_of_total_change_pct"),
        ("VARCHAR", "DOUBLE", "DOUBLE", "DOUBLE", "DOUBLE"),
        (("churned_customers", 14.0, -5.0, 0.637, -250.0),
         ("retention_rate_pct", 91.5, -0.5, 0.125, 50.0),
         ("revenue", 1234.5, 100.0, 20.0, 10.0)),
        3)
    assert cells(generic_table(extract, "EUR")) == [
        ["churned_customers", "14", "−5", "0.6", "−250.0%"],          # customers, not €14.00
        ["retention_rate_pct", "91.5%", "−0.5%", "0.1%", "50.0%"],
        ["revenue", "€1,234.50", "€100.00", "€20.00", "10.0%"],
    ]


def test_an_alerts_values_follow_its_metric_and_the_driver_change_its_own_unit():
    extract = TableExtract(
        "alerts", ("metric", "current_value", "trailing_average", "change_pct", "driver_change"),
        ("VARCHAR", "DOUBLE", "DOUBLE", "DOUBLE", "DOUBLE"),
        (("churn_rate_pct", 7.5, 5.0, 50.0, 12.0),
         ("cac", 31.0, 25.0, 24.0, 8.5),
         ("nps", 12.25, 30.0, -59.2, None)),
        3)
    assert cells(generic_table(extract, "EUR")) == [
        ["churn_rate_pct", "7.5%", "5.0%", "50.0%", "12"],            # the driving segment's churned customers
        ["cac", "€31.00", "€25.00", "24.0%", "€8.50"],
        ["nps", "12.2", "30.0", "−59.2%", "—"],
    ]


def test_an_undeclared_column_is_written_by_its_type_whatever_its_name():
    extract = TableExtract("feedback_themes", ("term", "value", "revenue_like_count", "spend_pct"),
                           ("VARCHAR", "DOUBLE", "BIGINT", "DOUBLE"), (("late", 1.5, 1234, 12.0),), 1)
    assert cells(generic_table(extract, "EUR")) == [["late", "1.500", "1,234", "12.00"]]


def test_every_declared_table_has_a_section():
    assert set(COLUMN_KINDS) <= {spec.table for spec in TABLE_SECTIONS}
