"""The published tables' sections: every value written as the kind its column declares in the marts' yml
(never as its name suggests), the drivers' sentence, why a customer is at risk, the model card, and no
customer key quoted with a comment. Hand-made rows, no BI file."""

from __future__ import annotations

import re
from datetime import date

import pytest

from pipelines.report.column_kinds import COUNT, MONEY, PERCENT, KindOfMetric, declared_kinds, kinds_from_manifest
from pipelines.report.drivers import CHURNED, CRR, DriverRow, drivers_sentence
from pipelines.report.queries import TABLE_EXTRACTS, TableExtract
from pipelines.report.table_sections import (
    TABLE_SECTIONS,
    example_comment,
    generic_table,
    model_card,
    why_at_risk,
)

MAY, JUNE = date(2026, 5, 1), date(2026, 6, 1)


def cells(html: str) -> list[list[str]]:
    return [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", html)[1:]]


def test_the_marts_declare_their_kinds_once_in_their_yml():
    kinds = declared_kinds()
    assert kinds["retention_metrics"]["churned_customers"] == COUNT
    assert kinds["retention_metrics"]["revenue"] == MONEY
    assert kinds["customers_at_risk"]["predicted_clv_12m"] == MONEY
    assert kinds["retention_metrics_by_segment"]["churn_rate_pct"] == PERCENT
    change = kinds["retention_drivers"]["change"]
    assert isinstance(change, KindOfMetric)
    assert change.of({"metric": "churned_customers"}) == COUNT and change.of({"metric": "revenue"}) == MONEY
    assert kinds["alerts"]["driver_change"].of({"metric": "churn_rate_pct"}) == COUNT


def test_a_count_is_never_shown_as_money():
    """The issue's bug: churned-customer counts of retention_drivers written "€14.00"."""
    extract = TableExtract(
        "retention_drivers",
        ("metric", "current_value", "change", "mix_effect", "share_of_total_change_pct"),
        ("VARCHAR", "DOUBLE", "DOUBLE", "DOUBLE", "DOUBLE"),
        (("churned_customers", 14.0, -5.0, 0.637, -250.0),
         ("retention_rate_pct", 91.5, -0.5, 0.125, 50.0),
         ("revenue", 1234.5, 100.0, 20.0, 10.0)),
        3, kinds=declared_kinds()["retention_drivers"])
    assert cells(generic_table(extract, "EUR")) == [
        ["churned_customers", "14", "−5", "0.6", "−250.0%"],          # customers, not €14.00
        ["retention_rate_pct", "91.5%", "−0.5%", "0.1%", "50.0%"],
        ["revenue", "€1,234.50", "€100.00", "€20.00", "10.0%"],
    ]


def test_an_undeclared_column_is_written_by_its_type_whatever_its_name():
    extract = TableExtract("feedback_themes", ("term", "value", "revenue_like_count", "spend_pct"),
                           ("VARCHAR", "DOUBLE", "BIGINT", "DOUBLE"), (("late", 1.5, 1234, 12.0),), 1)
    assert cells(generic_table(extract, "EUR")) == [["late", "1.500", "1,234", "12.00"]]


def test_kinds_are_read_from_the_manifest_and_checked():
    def manifest(columns):
        return {"nodes": {"model.p.retention_metrics": {"resource_type": "model", "name": "retention_metrics",
                                                        "columns": {"cac": {"config": {"meta": {"kind": "money"}}}}},
                          "model.p.t": {"resource_type": "model", "name": "t", "columns": columns}}}

    kinds = kinds_from_manifest(manifest({"v": {"config": {"meta": {"kind": {"by": "metric"}}}},
                                          "w": {"meta": {"kind": {"by": "metric", "kinds": {"cac": "count"}}}},
                                          "x": {"config": {"meta": {}}}}))
    assert kinds["t"]["v"].of({"metric": "cac"}) == MONEY and kinds["t"]["w"].of({"metric": "cac"}) == COUNT
    assert "x" not in kinds["t"]
    with pytest.raises(ValueError, match="t.v: kind 'euros'"):
        kinds_from_manifest(manifest({"v": {"config": {"meta": {"kind": "euros"}}}}))


def test_every_table_read_has_a_section():
    assert set(TABLE_EXTRACTS) == {spec.table for spec in TABLE_SECTIONS}


def driver(metric, dimension, segment, previous, current, mix=None, rate=None):
    change = current - previous
    return DriverRow(metric, dimension, segment, previous, current, change, mix, rate, "month", MAY, JUNE)


def test_the_drivers_sentence_names_the_largest_parts_and_why():
    rows = [
        driver(CHURNED, "total", "all", 170, 172),
        driver(CHURNED, "acquisition_channel", "paid_search", 28, 41, 1.15, 11.85),
        driver(CHURNED, "acquisition_channel", "email", 18, 13, 0.65, -5.65),
        driver(CHURNED, "country", "FR", 110, 103, 2.8, -9.8),
        driver(CHURNED, "rfm_segment", "Hibernating", 91, 77, -8.6, -5.4),
        driver(CHURNED, "country", "DE", 7, 7, 0.3, -0.3),               # no change: never named
    ]
    assert drivers_sentence(rows) == (
        "Churn rose from 170 to 172 customers in June 2026; “Hibernating” customers churned 14 fewer because "
        "there were fewer of them at the start, paid search customers added 13 because their own churn rate "
        "rose, customers in FR churned 7 fewer because their own churn rate fell.")


def test_the_crr_sentence_and_the_strange_cases():
    rows = [driver(CRR, "total", "all", 97.5678, 97.6801),
            driver(CRR, "cohort_year", "2026", 22.29, 26.79, 4.5, 0.0),
            driver(CRR, "country", "FR", 50.0, 49.6, -0.1, -0.3)]
    assert drivers_sentence(rows, CRR) == (
        "CRR rose from 97.6% to 97.7% in June 2026; customers who first bought in 2026 added 4.5 points because "
        "they were a larger share of the customers, customers in FR took off 0.40 points because their own "
        "retention fell.")
    assert drivers_sentence([driver(CHURNED, "total", "all", 5, 5)]) == "Churn was unchanged at 5 customers in June 2026."
    assert drivers_sentence([]) == ""                                   # nothing to compare yet
    quarter = DriverRow(CHURNED, "total", "all", 3.0, 1.0, -2.0, None, None, "quarter", None, date(2026, 4, 1))
    assert drivers_sentence([quarter]) == "Churn fell from 3 to 1 customers in Q2 2026."


def test_why_a_customer_is_at_risk_in_words():
    assert why_at_risk({"probability_alive": 0.42, "latest_nps_score": 3}) == (
        "only 42% likely to still be buying; detractor in the survey (3/10)")
    assert why_at_risk({"probability_alive": 0.9, "latest_nps_score": None}) == (
        "silent for longer than their usual rhythm, or a smaller last basket")
    assert why_at_risk({"probability_alive": 0.5, "latest_nps_score": 10}) == "only 50% likely to still be buying"


def test_example_comments_are_quoted_without_the_customers_key():
    assert example_comment("c_d25daaa0c4b01c2cf7cb: Livraison en retard") == "Livraison en retard"
    assert example_comment("late: again") == "late: again"
    assert example_comment(None) == ""


def test_the_model_card_says_what_was_fitted_and_what_the_back_test_says():
    fits = [
        {"model": "bg_nbd", "fitted_on": "full history", "status": "fitted", "variant": "bg_nbd", "customers": 9109,
         "converged": True, "reason": None},
        {"model": "bg_nbd", "fitted_on": "history to as-of - 91 days (back-test)", "status": "fitted",
         "variant": "bg_nbd", "customers": 8086, "converged": True, "reason": None},
        {"model": "gamma_gamma", "fitted_on": "full history", "status": "limiting_case", "variant": "constant_spend",
         "customers": 12, "converged": True, "reason": "every repeat buyer spends the same"},
    ]
    backtest = [{"forecast": "model", "scope": "all customers", "holdout_days": 91, "actual_purchases": 200.0,
                 "predicted_purchases": 210.0},
                {"forecast": "naive", "scope": "all customers", "holdout_days": 91, "actual_purchases": 200.0,
                 "predicted_purchases": 150.0}]
    assert model_card(fits, backtest) == [
        "Purchase model (BG/NBD): how often customers buy and when they stop — fitted on 9,109 customers: converged.",
        "Spend model (Gamma-Gamma): how much a customer spends per order — fitted on 12 customers as its limiting "
        "case “constant_spend”: every repeat buyer spends the same.",
        "Back-test: fitted without the last 91 days, then scored on them: 200 actual purchases; the model predicted "
        "210 (+5.0 %); the naive forecast (each customer keeps their past rate) 150 (−25.0 %).",
    ]
    unfitted = [{"model": "bg_nbd", "fitted_on": "full history", "status": "not_fitted", "variant": None,
                 "customers": 6, "converged": False, "reason": "Too few repeat purchases"}]
    assert model_card(unfitted, [dict(backtest[0], predicted_purchases=None)]) == [
        "Purchase model (BG/NBD): how often customers buy and when they stop — not fitted (6 customers): Too few "
        "repeat purchases; its predictions are empty.",
        "Back-test: fitted without the last 91 days, then scored on them: 200 actual purchases; the model could "
        "not be fitted on the shorter history.",
    ]
