"""A shop with only its orders: no customers extract, no run stopped. Orders and answers load for any
customer, the pseudonym table keys the customers of the orders, and a CRM extract delivered later makes
every order be checked against it again."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from pipelines.ingestion.loader import NO_CUSTOMERS_EXTRACT, ingest_extract
from pipelines.ingestion.raw_layer import VersionState, data_glob
from pipelines.privacy.pseudonyms import customer_key, pseudonym_key
from pipelines.settings import Settings
from tests.catalogue.harness import assert_every_row_accounted_for
from tests.conftest import Workspace, environment
from tests.ingestion.uci_online_retail import MAPPING, write_uci_file

ORDERS = ("order_id,customer_id,ordered_at,amount,status,country\n"
          "O1,C1,2024-01-02,10.00,completed,fr\nO2,C2,2024-01-03,20.00,completed,DE\nO3,C1,2024-02-01,5.00,refunded,fr\n")
ANSWERS = "response_id,customer_id,responded_at,nps_score\nR1,C2,2024-01-10,9\nR2,C7,2024-01-11,3\n"


def ingest_all(landing: Path, warehouse: Path) -> dict:
    raw, cache = warehouse / "raw", warehouse / "cache"
    results = {"customers": ingest_extract("customers", landing, raw, cache)}
    for name in ("orders", "survey_responses"):
        results[name] = ingest_extract(name, landing, raw, cache, customers_dir=raw / "customers")
    return results


def rows(warehouse: Path, extract: str, columns: str) -> list[tuple]:
    return duckdb.sql(f"select {columns} from read_parquet('{data_glob(warehouse / 'raw' / extract)}') "
                      "order by all").fetchall()


def shop_with_orders_and_answers_only(root: Path) -> tuple[Path, Path]:
    landing = root / "landing"
    landing.mkdir()
    (landing / "orders_2024.csv").write_text(ORDERS)
    (landing / "survey_responses.csv").write_text(ANSWERS)
    return landing, root / "warehouse"


def test_without_a_customers_extract_every_order_and_answer_loads_with_one_warning(tmp_path):
    landing, warehouse = shop_with_orders_and_answers_only(tmp_path)

    results = ingest_all(landing, warehouse)

    assert results["customers"].warnings == [NO_CUSTOMERS_EXTRACT]
    assert NO_CUSTOMERS_EXTRACT.startswith("no customers*.csv: customers are derived from the orders")
    assert (results["orders"].rows_loaded, results["orders"].rows_quarantined) == (3, 0)
    assert (results["survey_responses"].rows_loaded, results["survey_responses"].rows_quarantined) == (2, 0)
    assert not any("customers" in w for w in results["orders"].warnings), "said once, by the customers' ingestion"
    assert rows(warehouse, "orders", "order_id, country") == [("O1", "fr"), ("O2", "DE"), ("O3", "fr")]


def test_a_crm_extract_delivered_later_checks_every_order_against_it_again(tmp_path):
    landing, warehouse = shop_with_orders_and_answers_only(tmp_path)
    first = ingest_all(landing, warehouse)

    (landing / "customers.csv").write_text("customer_id,signup_date\nC1,2023-12-01\n")
    second = ingest_all(landing, warehouse)

    orders = second["orders"]
    assert not second["customers"].appended, "the first CRM extract is a new generation of customers"
    assert not orders.appended
    assert VersionState.read(orders.version_dir).generation != VersionState.read(first["orders"].version_dir).generation
    assert (orders.rows_loaded, orders.quarantined_by_reason) == (2, {"unknown_customer": 1})
    assert second["survey_responses"].quarantined_by_reason == {"unknown_customer": 2}
    assert_every_row_accounted_for(warehouse / "raw" / "orders")

    (landing / "customers.csv").unlink()  # the CRM extract withdrawn: back to customers from the orders
    third = ingest_all(landing, warehouse)
    assert (third["orders"].rows_loaded, third["survey_responses"].rows_loaded) == (3, 2)


def test_through_dagster_a_line_level_shop_without_crm_in_gbp_passes_every_ingestion_check(tmp_path):
    """The UCI-shaped invoice lines, the mapping, RETENTIO_CURRENCY=GBP and nothing else: ingestion, the
    blocking row-accounting, rejected-share and Great Expectations checks, and the pseudonyms."""
    from dagster import materialize

    from pipelines.checks.contract_checks import raw_contract_checks
    from pipelines.ingestion.assets import raw_extract_assets
    from pipelines.ingestion.checks import rejection_share_checks, row_accounting_checks
    from pipelines.privacy.assets import customer_pseudonyms
    from pipelines.shared import RetentioSettings

    landing = tmp_path / "landing"
    landing.mkdir()
    write_uci_file(landing / "orders_online_retail.csv", invoices=400)
    (landing / "retentio_sources.yml").write_text(MAPPING)
    (landing / "survey_responses.csv").write_text("response_id,customer_id,responded_at,nps_score\n"
                                                  "R1,99999,2011-01-10,9\n")
    workspace = Workspace(landing, tmp_path / "warehouse")
    with environment(workspace, RETENTIO_CURRENCY="GBP"):
        result = materialize([*raw_extract_assets, customer_pseudonyms, *row_accounting_checks,
                              *rejection_share_checks, *raw_contract_checks], raise_on_error=False,
                             resources={"retentio_settings": RetentioSettings()})

    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 12 and all(e.passed for e in evaluations)
    order_customers = {c for (c,) in rows(workspace.warehouse_dir, "orders", "distinct customer_id")}
    pseudonyms = pq.read_table(workspace.warehouse_dir / "private" / "customer_pseudonyms.parquet").to_pylist()
    key, _ = pseudonym_key(Settings.from_env())
    assert {p["customer_id"] for p in pseudonyms} == order_customers | {"99999"}
    assert all(p["customer_key"] == customer_key(p["customer_id"], key) for p in pseudonyms)
    assert (workspace.warehouse_dir / "raw" / "reporting_currency.json").exists()
