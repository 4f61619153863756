"""Marketing spend as ad platforms export it, read without retentio_sources.yml: Google Ads' report (title
lines, thousands separators, a totals row), TikTok's and LinkedIn's campaign reports (header shapes as those
tools write them; the rows are made up). Meta's, whose header names the currency: test_currency.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.catalogue.harness import query
from tests.ingestion.test_loader import ingest_all


def loaded_spend(warehouse) -> list[tuple]:
    return query(warehouse / "raw" / "marketing_spend",
                 "select spend_date, campaign, amount from data order by all")


def test_a_google_ads_report_loads_its_days_and_sets_its_totals_row_aside(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "marketing_spend_google.csv").write_text(
        "Campaign report\nMarch 1, 2024 - March 31, 2024\n"
        "Day,Campaign,Campaign type,Currency code,Cost,Impr.,Clicks,Conversions\n"
        '2024-03-01,Brand,Search,EUR,5.20,100,10,1.00\n2024-03-02,Brand,Search,EUR,"1,234.50",100,10,1.00\n'
        'Total: Account,,,EUR,"1,239.70",200,20,2.00\n')

    result = ingest_all(landing, warehouse)["marketing_spend"]

    assert loaded_spend(warehouse) == [(date(2024, 3, 1), "Brand", Decimal("5.20")),
                                       (date(2024, 3, 2), "Brand", Decimal("1234.50"))]
    assert result.quarantined_by_reason == {"invalid_date": 1}, "the totals row is no day's spend"


def test_tiktok_and_linkedin_campaign_reports_load_as_downloaded(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "marketing_spend_tiktok.csv").write_text(
        "By Day,Campaign name,Cost,Currency,Impression,Clicks\n2024-03-01,TT spring,7.10,EUR,500,20\n")
    (landing / "marketing_spend_linkedin.csv").write_text(
        "Start Date (in UTC),Campaign Name,Total Spent,Currency,Impressions\n3/1/2024,LI brand,20.00,EUR,50\n"
        "3/15/2024,LI brand,30.00,EUR,50\n")

    ingest_all(landing, warehouse)

    assert loaded_spend(warehouse) == [(date(2024, 3, 1), "LI brand", Decimal("20.00")),
                                       (date(2024, 3, 1), "TT spring", Decimal("7.10")),
                                       (date(2024, 3, 15), "LI brand", Decimal("30.00"))]
