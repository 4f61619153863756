"""Exports of payment and marketplace tools, read without retentio_sources.yml: Stripe's payments, Square's
transactions, Etsy's sold orders (header shapes as those tools write them; the rows are made up)."""

from __future__ import annotations

from decimal import Decimal

from tests.catalogue.harness import query
from tests.ingestion.test_loader import ingest_all


def loaded_orders(warehouse) -> list[tuple]:
    return query(warehouse / "raw" / "orders", "select order_id, customer_id, ordered_at::varchar, amount, "
                                               "currency, status from data order by 1")


def test_stripe_payments_are_orders_of_their_customers_with_stripe_s_statuses(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "orders_stripe_payments.csv").write_text(
        "id,Created (UTC),Amount,Amount Refunded,Currency,Captured,Converted Amount,Description,Fee,Mode,"
        "Status,Statement Descriptor,Customer ID,Customer Email,Card ID\n"
        "ch_1,2024-01-05 10:12:33,25.00,0.00,eur,true,25.00,Order 1001,0.63,Live,Paid,SHOP,cus_A,a@x.fr,card_1\n"
        "ch_2,2024-01-09 11:00:00,40.00,40.00,eur,true,40.00,Order 1002,0.85,Live,Refunded,SHOP,cus_B,b@x.fr,card_2\n"
        "ch_3,2024-02-01 08:30:00,15.50,0.00,eur,false,0,Order 1003,0,Live,Failed,SHOP,cus_A,a@x.fr,card_1\n"
        "ch_4,2024-02-14 18:45:00,30.00,0.00,eur,true,30.00,Guest,0.72,Live,Paid,SHOP,,,card_9\n")

    results = ingest_all(landing, warehouse)

    assert loaded_orders(warehouse) == [
        ("ch_1", "cus_A", "2024-01-05 10:12:33", Decimal("25.00"), "EUR", "completed"),
        ("ch_2", "cus_B", "2024-01-09 11:00:00", Decimal("40.00"), "EUR", "refunded"),
        ("ch_3", "cus_A", "2024-02-01 08:30:00", Decimal("15.50"), "EUR", "cancelled"),
    ]
    # A guest's charge names no customer: set aside like a till's anonymous sale.
    assert results["orders"].quarantined_by_reason == {"missing_value": 1}


def test_square_transactions_are_read_with_what_the_customer_paid(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "orders_square.csv").write_text(
        "Date,Time,Time Zone,Gross Sales,Discounts,Net Sales,Tax,Tip,Total Collected,Source,Fees,Net Total,"
        "Transaction ID,Payment ID,Description,Event Type,Location,Customer ID,Customer Name,Transaction Status\n"
        "2024-01-05,10:12:33,Europe/Paris,€25.00,€0.00,€25.00,€0.00,€1.00,€26.00,Point of Sale,-€0.44,€25.56,"
        "T1,P1,Coffee,Payment,Café,CUST1,Ada L,Complete\n"
        "2024-01-09,11:00:00,Europe/Paris,€4.00,€0.00,€4.00,€0.00,€0.00,€4.00,Point of Sale,€0.00,€4.00,"
        "T2,P2,Tea,Payment,Café,,,Complete\n")

    results = ingest_all(landing, warehouse)

    assert loaded_orders(warehouse) == [
        ("T1", "CUST1", "2024-01-05 00:00:00", Decimal("26.00"), "EUR", "completed")]
    assert results["orders"].quarantined_by_reason == {"missing_value": 1}


def test_etsy_sold_orders_are_read_month_first_by_buyer(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "orders_EtsySoldOrders2024.csv").write_text(
        "Sale Date,Order ID,Buyer User ID,Full Name,Number of Items,Currency,Order Value,Shipping,Order Total,"
        "Buyer\n"
        "01/05/24,3012345671,ada123,Ada L,1,USD,20.00,5.00,25.00,ada123\n"
        "02/14/24,3012345673,ada123,Ada L,1,USD,25.00,5.00,30.00,ada123\n")

    ingest_all(landing, warehouse)

    assert loaded_orders(warehouse) == [
        ("3012345671", "ada123", "2024-01-05 00:00:00", Decimal("25.00"), "USD", "completed"),
        ("3012345673", "ada123", "2024-02-14 00:00:00", Decimal("30.00"), "USD", "completed"),
    ]
