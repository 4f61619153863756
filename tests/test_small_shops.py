"""Small and strange shops end to end: every one publishes exact metrics, the right nulls and a reason.

Seven hand-made shops (tests/small_shops.py), from one customer with one order to 400 steady buyers, each
materialized in full as `make run` does. Their retention metrics are compared, for every month, quarter
and year, with the reference computed from the same rows (tests/reference_metrics.py); what cannot be known
(NPS without answers, CAC without spend, predictions the purchase models could not make) must be null.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

import pytest

from tests.conftest import Workspace, failed_checks, run_pipeline
from tests.pipeline_runs import query
from tests.reference_metrics import reference_metrics
from tests.small_shops import ALL_SHOPS, COUNTRY_CODES, Shop


@dataclass
class PublishedShop:
    shop: Shop
    workspace: Workspace
    result: object

    def rows(self, sql: str) -> list[dict]:
        return query(self.workspace.bi_db, sql)


@pytest.fixture(scope="module", params=ALL_SHOPS, ids=[make.__name__ for make in ALL_SHOPS])
def published_shop(request, tmp_path_factory) -> PublishedShop:
    shop = request.param()
    root = tmp_path_factory.mktemp(shop.name)
    workspace = Workspace(shop.write_landing(root / "landing"), root / "warehouse", shop.activity_window_days)
    return PublishedShop(shop, workspace, run_pipeline(workspace))


def test_every_shop_publishes(published_shop):
    assert published_shop.result.success, failed_checks(published_shop.result)
    assert published_shop.workspace.bi_db.exists()
    assert failed_checks(published_shop.result) == []


def test_retention_metrics_are_exact_for_every_period(published_shop):
    shop = published_shop.shop
    expected = reference_metrics(shop.reference_orders(), shop.activity_window_days)
    published = {(r["period_grain"], r["period_start"]): r
                 for r in published_shop.rows("select * from retention_metrics")}
    assert set(published) == set(expected)
    for key, reference in expected.items():
        for column, value in reference.items():
            actual = published[key][column]
            if isinstance(value, float):
                assert actual == pytest.approx(value, rel=1e-12), (key, column)
            elif isinstance(value, Decimal):
                assert Decimal(actual) == value, (key, column)
            else:
                assert actual == value, (key, column)


def test_what_is_unknown_is_null_and_what_is_known_is_not(published_shop):
    shop = published_shop.shop
    months = published_shop.rows("select * from retention_metrics where period_grain = 'month' order by period_start")
    if shop.spend is None:
        assert all(m["marketing_spend"] is None and m["cac"] is None and m["clv_to_cac"] is None for m in months)
        costs = published_shop.rows("select * from acquisition_costs")
        assert all(c["spend"] is None and c["cac"] is None and c["cost_per_first_purchase"] is None
                   and c["cost_per_repeat_purchase"] is None for c in costs)
    else:
        spend_by_month = Counter()
        for day, _, amount in shop.spend:
            spend_by_month[day.replace(day=1)] += amount
        for m in months:
            assert Decimal(m["marketing_spend"]) == spend_by_month.get(m["period_start"], 0), m["period_start"]
            if m["new_customers"]:
                assert m["cac"] == pytest.approx(float(m["marketing_spend"]) / m["new_customers"])
    if shop.answers is None:
        assert all(m["nps"] is None and m["nps_responses"] is None for m in months)
    else:
        for m in months:
            scores = [s for _, d, s in shop.answers if d.replace(day=1) == m["period_start"]]
            assert m["nps_responses"] == len(scores)
            if scores:
                expected = 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)
                assert m["nps"] == pytest.approx(expected)
            else:
                assert m["nps"] is None


def test_every_customer_is_listed_with_or_without_a_customer_extract(published_shop):
    shop = published_shop.shop
    expected = set(shop.customers) if shop.customers is not None else {o.customer_id for o in shop.orders}
    customers = published_shop.rows("select * from customers")
    assert len(customers) == len(expected)
    purchasing = {o.customer_id for o in shop.orders if o.status == "completed"}
    assert sum(c["has_purchased"] for c in customers) == len(purchasing)
    if shop.customers is None:
        first_order = {}
        for o in shop.orders:
            first_order[o.customer_id] = min(first_order.get(o.customer_id, o.day), o.day)
        assert sorted(c["signup_date"] for c in customers) == sorted(first_order.values())
        assert {c["acquisition_channel"] for c in customers} == {"unknown"}
        assert not any(c["has_marketing_consent"] for c in customers)
        countries = {COUNTRY_CODES.get(o.country, o.country) for o in shop.orders if o.country}
        if countries:
            assert {c["country_code"] for c in customers} == countries


def test_the_report_says_what_is_unknown_instead_of_showing_zero(published_shop):
    from pipelines.report.sections import NO_SPEND_DATA, NO_SURVEY_DATA

    shop = published_shop.shop
    html = (published_shop.workspace.warehouse_dir / "report" / "retention_report.html").read_text()
    complete_months = published_shop.rows(
        "select * from retention_metrics where period_grain = 'month' and is_complete order by period_start")
    if not complete_months:
        assert "No complete month has been published yet." in html
        return
    assert (NO_SPEND_DATA in html) == (shop.spend is None)
    assert (NO_SURVEY_DATA in html) == (shop.answers is None)
    if complete_months[-1]["is_history_shorter_than_window"]:
        assert "Set a shorter RETENTIO_ACTIVITY_WINDOW_DAYS" in html


def test_the_purchase_models_say_what_they_could_fit_and_predictions_follow(published_shop):
    shop = published_shop.shop
    fits = published_shop.rows("select * from clv_model_fits where fitted_on = 'full history'")
    bgnbd = {f["status"] for f in fits if f["model"] == "bg_nbd"}
    assert bgnbd == {shop.purchase_model_status}, fits
    customers = published_shop.rows("select * from customers where has_purchased")
    if shop.purchase_model_status == "not_fitted":
        assert all(f["reason"] for f in fits if f["model"] == "bg_nbd")
        assert all(c["predicted_clv_12m"] is None and c["probability_alive"] is None for c in customers)
        months = published_shop.rows("select avg_predicted_clv from retention_metrics")
        assert all(m["avg_predicted_clv"] is None for m in months)
    else:
        assert all(c["predicted_clv_12m"] is not None and c["predicted_clv_12m"] >= 0 for c in customers)
    assert all(c["health_score"] is not None for c in customers)
