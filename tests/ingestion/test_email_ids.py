"""Customers identified by their e-mail address (a shop without customer numbers, the README's Shopify and
WooCommerce recipes): the address is compared in lower case, in every extract and in erasure requests."""

from __future__ import annotations

import duckdb

from pipelines.ingestion.raw_layer import data_glob
from tests.catalogue.harness import query
from tests.ingestion.test_loader import ingest_all


def test_one_address_written_in_two_cases_is_one_customer_and_an_erasure_request_finds_it(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "customers.csv").write_text(
        "customer_id,signup_date,email\nJean.Dupont@Gmail.com,2024-01-01,Jean.Dupont@Gmail.com\n"
        "marie@example.fr,2024-01-02,marie@example.fr\nMARIE@example.fr,2024-01-02,marie@example.fr\n")
    (landing / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,amount\nA1,jean.dupont@gmail.com,2024-02-01,10\n"
        "A2,JEAN.DUPONT@GMAIL.COM,2024-03-01,12\nA3,Marie@Example.fr,2024-03-02,8\nA4,Marie@Example.fr,2024-03-03,x\n")

    results = ingest_all(landing, warehouse)

    assert (results["customers"].rows_loaded, results["customers"].quarantined_by_reason) == (2, {"duplicate_row": 1})
    assert (results["orders"].rows_loaded, results["orders"].quarantined_by_reason) == (3, {"invalid_number": 1})
    assert duckdb.sql(f"select customer_id, count(*) from read_parquet('{data_glob(warehouse / 'raw' / 'orders')}') "
                      "group by all order by all").fetchall() == [("jean.dupont@gmail.com", 2), ("marie@example.fr", 1)]

    # Erased under the address as the shop's support desk typed it: every row of hers goes, the quarantined
    # one's raw text too.
    (landing / "erasure_requests.csv").write_text("customer_id,requested_at\nMarie@EXAMPLE.fr,2024-06-01\n")
    ingest_all(landing, warehouse)

    raw = warehouse / "raw"
    everything = duckdb.sql(f"""
        select customer_id::varchar from read_parquet('{data_glob(raw / 'customers')}')
        union all select customer_id from read_parquet('{data_glob(raw / 'orders')}')
        union all select raw_record from read_parquet('{raw / 'orders' / 'quarantine.parquet'}')
        union all select raw_record from read_parquet('{raw / 'customers' / 'quarantine.parquet'}')""").fetchall()
    assert not [value for (value,) in everything if value and "marie" in value.lower()], everything


def test_a_mailing_list_export_without_ids_keys_its_customers_by_e_mail(tmp_path):
    """Mailchimp's audience export: no id column, so the address is the customer id, in lower case, and
    orders keyed by e-mail find their customer; an entry without an address cannot be keyed."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "customers_mailchimp.csv").write_text(
        "Email Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME,CONFIRM_TIME,CC,LEID\n"
        "Ada@Example.com,Ada,L,2,2024-01-01 10:00:00,2024-01-01 10:05:00,FR,1\n"
        "bob@example.com,Bob,M,2,2024-01-03 09:00:00,,GB,2\n"
        ",Cy,N,1,2024-01-04 09:00:00,,DE,3\n")
    (landing / "orders.csv").write_text("order_id,customer_id,ordered_at,amount\n"
                                        "A1,ada@example.com,2024-02-01,10\nA2,BOB@example.com,2024-02-02,12\n")

    results = ingest_all(landing, warehouse)

    assert (results["customers"].rows_loaded, results["customers"].quarantined_by_reason) == (2, {"missing_value": 1})
    assert (results["orders"].rows_loaded, results["orders"].rows_quarantined) == (2, 0)
    customers = warehouse / "raw" / "customers"
    assert query(customers, "select customer_id, email, signup_date::varchar from data order by 1") == [
        ("ada@example.com", "Ada@Example.com", "2024-01-01"), ("bob@example.com", "bob@example.com", "2024-01-03")]
    assert query(customers, "select column_name, detail from quarantine") == [
        ("customer_id", "required value is empty (it is worked out from email)")]


def test_payment_tools_customer_exports_are_keyed_by_the_id_their_payments_name(tmp_path):
    """Stripe's customers (id, Created (UTC)) and Square's (Square Customer ID beside an e-mail address):
    the id their payments and transactions name, not the address."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "customers_stripe.csv").write_text(
        "id,Description,Email,Name,Created (UTC),Balance,Currency,Delinquent\n"
        "cus_A,,ada@example.com,Ada L,2024-01-01 10:00:00,0,eur,false\n")
    (landing / "customers_square.csv").write_text(
        "Reference ID,First Name,Surname,Email Address,Square Customer ID,Creation Source,Transaction Count\n"
        ",Bob,M,bob@example.com,CUST1,Directory,2\n")

    ingest_all(landing, warehouse)

    assert query(warehouse / "raw" / "customers",
                 "select customer_id, email, signup_date::varchar from data order by 1") == [
        ("CUST1", "bob@example.com", None), ("cus_A", "ada@example.com", "2024-01-01")]
