"""The reporting currency: RETENTIO_CURRENCY, else the one the extracts state, else EUR; resolved once,
recorded in the raw layer, and named with the setting to change when rows disagree with it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.ingestion.checks import broken_file_message, mostly_rejected_files
from pipelines.ingestion.currency import decide, recorded, reporting_currency
from pipelines.ingestion.loader import ingest_extract
from pipelines.ingestion.raw_layer import data_glob
from pipelines.settings import Settings, SettingsError
from tests.conftest import Workspace, environment
from tests.ingestion.test_appending import deliver

CUSTOMERS = "customer_id,signup_date\nC1,2024-01-01\n"


def orders_in(*currencies: str) -> str:
    return "order_id,customer_id,ordered_at,amount,currency,status\n" + "".join(
        f"O{i},C1,2024-01-02,10.00,{code},completed\n" for i, code in enumerate(currencies, 1))


def spend_in(*currencies: str) -> str:
    return "spend_date,channel,amount,currency\n" + "".join(
        f"2024-01-01,ch{i},5.00,{code}\n" for i, code in enumerate(currencies, 1))


def ingest(landing: Path, warehouse: Path, currency: str | None = None) -> dict:
    raw, cache = warehouse / "raw", warehouse / "cache"
    results = {"customers": ingest_extract("customers", landing, raw, cache)}
    results["orders"] = ingest_extract("orders", landing, raw, cache, currency=currency, customers_dir=raw / "customers")
    results["marketing_spend"] = ingest_extract("marketing_spend", landing, raw, cache, currency=currency)
    return results


@pytest.mark.parametrize(("stated", "expected", "source"), [
    ({}, "EUR", "default"),
    ({"GBP": {"orders.csv": 3}}, "GBP", "extracts"),
    ({"GBP": {"orders.csv": 3}, "USD": {"orders.csv": 1, "spend.csv": 1}}, "GBP", "extracts"),
    ({"USD": {"a.csv": 2}, "GBP": {"b.csv": 2}}, "GBP", "extracts"),   # a tie: the same answer every time
])
def test_the_currency_the_extracts_state_and_eur_when_none(stated, expected, source):
    assert (decide(None, stated).code, decide(None, stated).source) == (expected, source)
    assert decide("CHF", stated).code == "CHF"


def test_gbp_orders_and_spend_load_in_gbp_without_any_setting_and_later_steps_read_it(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    deliver(landing, {"customers.csv": CUSTOMERS, "orders_2024.csv": orders_in("GBP", "", "gbp"),
                      "marketing_spend.csv": spend_in("GBP", "")})

    results = ingest(landing, warehouse)

    assert results["orders"].rows_quarantined == results["marketing_spend"].rows_quarantined == 0
    currencies = duckdb.sql(f"select distinct currency from read_parquet('{data_glob(warehouse / 'raw' / 'orders')}')")
    assert currencies.fetchall() == [("GBP",)]
    assert recorded(warehouse / "raw").code == "GBP" and recorded(warehouse / "raw").source == "extracts"
    assert results["orders"].reporting_currency.explanation().startswith("GBP: the only currency the extracts state")
    assert not any("no extract states a currency" in w for w in results["orders"].warnings)
    with environment(Workspace(landing, warehouse)):
        settings = Settings.from_env()
        assert settings.currency is None
        assert reporting_currency(settings) == "GBP"
    with environment(Workspace(landing, warehouse), RETENTIO_CURRENCY="usd"):
        assert reporting_currency(Settings.from_env()) == "USD"


def test_no_currency_stated_means_eur_with_a_warning_naming_the_setting_and_the_setting_wins(tmp_path):
    landing = tmp_path / "landing"
    deliver(landing, {"customers.csv": CUSTOMERS, "orders_2024.csv": orders_in("", ""),
                      "marketing_spend.csv": spend_in("")})
    assumed = ingest(landing, tmp_path / "w1")
    assert assumed["orders"].reporting_currency.code == "EUR"
    assert [w for w in assumed["orders"].warnings if "currency" in w] == [
        "no extract states a currency and RETENTIO_CURRENCY is not set: amounts are reported in EUR; if they are "
        "in another currency, set RETENTIO_CURRENCY to its ISO 4217 code (e.g. RETENTIO_CURRENCY=GBP), and if "
        "EUR is right, set RETENTIO_CURRENCY=EUR to say so"]
    assert not any("currency" in w for w in assumed["marketing_spend"].warnings), "said once, by the orders'"
    chosen = ingest(landing, tmp_path / "w2", currency="JPY")
    assert chosen["orders"].reporting_currency.code == "JPY"
    assert not any("currency" in w for w in chosen["orders"].warnings)
    with environment(Workspace(landing, tmp_path / "w3"), RETENTIO_CURRENCY="EURO"), \
            pytest.raises(SettingsError, match="RETENTIO_CURRENCY='EURO' is not an ISO 4217 code"):
        Settings.from_env()


def test_a_reporting_currency_changed_by_new_files_reparses_the_old_ones(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    deliver(landing, {"customers.csv": CUSTOMERS, "orders_2024.csv": orders_in("", "")})
    assert ingest(landing, warehouse)["orders"].reporting_currency.code == "EUR"

    deliver(landing, {"marketing_spend.csv": spend_in("USD")})  # spend states USD: the blank orders are USD
    again = ingest(landing, warehouse)

    assert again["orders"].reporting_currency.code == "USD" and again["orders"].rows_quarantined == 0
    assert duckdb.sql(f"select distinct currency from read_parquet('{data_glob(warehouse / 'raw' / 'orders')}')"
                      ).fetchall() == [("USD",)]


def test_several_currencies_the_most_stated_wins_with_a_warning_naming_the_others(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    deliver(landing, {"customers.csv": CUSTOMERS, "orders_2024.csv": orders_in("EUR", "EUR", "USD")})
    result = ingest(landing, warehouse)["orders"]
    assert result.reporting_currency.code == "EUR"
    assert any("several currencies" in w and "USD on 1 rows" in w for w in result.warnings)
    assert any(w.startswith("orders_2024.csv: 1 row(s) in USD, not the reporting currency EUR")
               and "set RETENTIO_CURRENCY=USD" in w for w in result.warnings)


def test_amounts_written_with_a_pound_or_euro_sign_state_their_currency(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    # No currency column: a UK till export. '$' names a dozen currencies: it states none.
    deliver(landing, {"customers.csv": CUSTOMERS, "orders_2024.csv": (
        "order_id,customer_id,ordered_at,amount\n"
        "O1,C1,2024-01-02,£10.00\nO2,C1,2024-01-03,-£2.50\nO3,C1,2024-01-04,$4.00\nO4,C1,2024-01-05,3.00 €\n")})
    result = ingest(landing, warehouse)["orders"]

    assert result.reporting_currency.code == "GBP" and result.reporting_currency.source == "extracts"
    assert result.reporting_currency.stated == {"EUR": {"orders_2024.csv": 1}, "GBP": {"orders_2024.csv": 2}}
    loaded = duckdb.sql(f"select order_id, amount, currency from read_parquet('{data_glob(warehouse / 'raw' / 'orders')}') "
                        "order by 1").fetchall()
    assert loaded == [("O1", Decimal("10.00"), "GBP"), ("O2", Decimal("-2.50"), "GBP"), ("O3", Decimal("4.00"), "GBP")]
    assert any(w.startswith("orders_2024.csv: 1 row(s) in EUR, not the reporting currency GBP") for w in result.warnings)
    assert not any("no extract states a currency" in w for w in result.warnings)


@pytest.mark.parametrize("header, named", [
    ("Amount spent (USD)", "USD"), ("Cost (GBP)", "GBP"), ("Montant (€)", "EUR"), ("amount_spent_eur", None),
    ("Cost", None), ("Total all", None), ("Amount (EUR/USD)", None), ("Total TTC", None)])
def test_the_currency_a_money_column_s_header_names(header, named):
    from pipelines.ingestion.dialects import _currency_named_in

    assert _currency_named_in(header) == named


def test_a_spend_export_naming_its_currency_in_a_header_states_it_on_every_row(tmp_path):
    """Meta's export has no currency column but 'Amount spent (USD)': without a setting the shop reports in
    USD; in a euro shop the spend is another currency, named as such, never summed as euros."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    deliver(landing, {"customers.csv": CUSTOMERS, "orders_2024.csv": orders_in("", ""),
                      "marketing_spend_meta.csv": "Campaign name,Day,Amount spent (USD),Impressions\n"
                                                  "Spring,2024-01-01,12.34,1000\nSpring,2024-01-02,10.00,900\n"})

    results = ingest(landing, warehouse)

    assert results["orders"].reporting_currency.code == "USD"
    assert results["orders"].reporting_currency.stated == {"USD": {"marketing_spend_meta.csv": 2}}
    assert duckdb.sql(f"select amount, currency from read_parquet('{data_glob(warehouse / 'raw' / 'marketing_spend')}')"
                      " order by 1").fetchall() == [(Decimal("10.00"), "USD"), (Decimal("12.34"), "USD")]

    ingest(landing, tmp_path / "euro", currency="EUR")
    (broken,) = mostly_rejected_files(tmp_path / "euro" / "raw" / "marketing_spend", 50)
    assert "mostly currency_mismatch (2 rows): its amounts are in USD" in broken_file_message(
        broken, "marketing_spend", 50, "EUR")


def test_a_symbol_in_the_spend_file_not_yet_ingested_decides_the_orders_currency(tmp_path):
    """The orders are ingested first: what the spend file states is read from it (currency.py's census)."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    deliver(landing, {"customers.csv": CUSTOMERS, "orders_2024.csv": orders_in("", ""),
                      "marketing_spend.csv": "spend_date,channel,amount\n2024-01-01,ads,£120.00\n"})
    results = ingest(landing, warehouse)
    assert results["orders"].reporting_currency.code == results["marketing_spend"].reporting_currency.code == "GBP"


def test_a_file_in_another_currency_stops_the_run_with_the_file_the_currency_and_the_setting(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    deliver(landing, {"customers.csv": CUSTOMERS, "orders_2024.csv": orders_in("USD", "USD", "")})
    ingest(landing, warehouse, currency="EUR")

    (broken,) = mostly_rejected_files(warehouse / "raw" / "orders", 50)
    message = broken_file_message(broken, "orders", 50, "EUR")

    assert message == ("orders_2024.csv: 2 of 3 rows rejected (66.7 % > 50 %), mostly currency_mismatch (2 rows): "
                       "its amounts are in USD, the reporting currency is EUR; if USD is your reporting currency, "
                       "set RETENTIO_CURRENCY=USD (else convert the file upstream)")


def test_a_file_of_pound_amounts_in_a_euro_shop_is_named_with_its_currency(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    deliver(landing, {"customers.csv": CUSTOMERS, "orders_2024.csv": (
        "order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-02,£10.00\nO2,C1,2024-01-03,£4.00\n")})
    ingest(landing, warehouse, currency="EUR")

    (broken,) = mostly_rejected_files(warehouse / "raw" / "orders", 50)
    assert "its amounts are in GBP, the reporting currency is EUR" in broken_file_message(broken, "orders", 50, "EUR")


def test_the_blocking_check_says_it_through_dagster(tmp_path):
    from dagster import materialize

    from pipelines.ingestion.assets import raw_extract_assets
    from pipelines.ingestion.checks import rejection_share_checks
    from pipelines.shared import RetentioSettings

    landing = tmp_path / "landing"
    deliver(landing, {"customers.csv": CUSTOMERS, "orders_2024.csv": orders_in("USD", "USD", "USD")})
    wanted = [a for a in raw_extract_assets if a.node_def.name in ("ingest_customers", "ingest_orders")]
    checks = [c for c in rejection_share_checks if "orders" in str(list(c.check_keys)[0].asset_key)]
    with environment(Workspace(landing, tmp_path / "warehouse"), RETENTIO_CURRENCY="EUR"):
        result = materialize([*wanted, *checks], raise_on_error=False, resources={"retentio_settings": RetentioSettings()})
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "no_file_mostly_rejected"]
    assert not evaluation.passed
    assert "its amounts are in USD, the reporting currency is EUR" in evaluation.description
    assert "set RETENTIO_CURRENCY=USD" in evaluation.description
