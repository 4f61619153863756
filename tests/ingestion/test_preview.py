"""`make check-extracts`: what each landing file would become, read with the real ingestion, and nothing
written to the warehouse."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pipelines.ingestion.preview import main, preview
from tests.conftest import PROJECT_ROOT, Workspace, environment
from tests.ingestion.uci_online_retail import MAPPING, write_uci_file


def landing_with_every_kind_of_file(landing: Path) -> None:
    landing.mkdir(parents=True)
    write_uci_file(landing / "orders_online_retail.csv", invoices=200)
    (landing / "retentio_sources.yml").write_text(MAPPING)
    (landing / "orders_shop_usd.csv").write_text(
        "order_id,customer_id,ordered_at,amount,currency,status\n"
        "X1,12347,2011-01-02,10,USD,pending\nX2,12347,2011-01-03,10,USD,paid\nX3,12347,2011-01-04,10,USD,paid\n")
    (landing / "marketing_spend_2011.csv").write_text("Date;Canal;Total TTC\n01/01/2011;seo;12,50\n")
    (landing / "notes.txt").write_text("remember the export settings")
    (landing / "clients.csv").write_text("N° client;Date d'inscription\n12347;01/01/2011\n")


def test_each_file_its_extract_dialect_columns_rejected_rows_and_what_to_change(tmp_path):
    landing = tmp_path / "landing"
    landing_with_every_kind_of_file(landing)

    report, ok = preview(landing, currency="GBP")

    assert not ok, "a file that cannot be read fails the preview"
    sections = {block.split(":", 1)[0].strip(): block for block in report.split("\n\n")}
    uci = sections["orders_online_retail.csv"]
    for said in ("recognised as: orders (one row per order line, rolled up into orders)",
                 "dialect: separator ',', encoding cp1252, decimal mark '.'",
                 "columns: InvoiceNo -> order_id, Quantity -> quantity, InvoiceDate -> ordered_at, "
                 "UnitPrice -> unit_price, CustomerID -> customer_id, Country -> country",
                 "ignored: StockCode, Description",
                 "worked out: status (completed, or refunded when the order's amount is below zero)",
                 "dates: month first (mm/dd/yyyy); ", "can only be read month first",
                 "quarantined: missing_value ", "missing_value (customer_id): no line of order"):
        assert said in uci, said
    assert "lines: " in uci and " would load, " in uci
    usd = sections["orders_shop_usd.csv"]
    assert "recognised as: orders (one row per order)" in usd
    assert "row 1: currency_mismatch (currency): 'USD' is not the reporting currency GBP" in usd
    assert "to change: more than 50 % of its rows would be quarantined: the run would stop" in usd
    assert "set RETENTIO_CURRENCY=USD" in usd
    spend = sections["marketing_spend_2011.csv"]
    assert "cannot be read (marketing_spend extract): required column missing" in spend
    assert 'to change: map the file\'s column holding amount in retentio_sources.yml: ' \
           'extracts: {marketing_spend: {columns: {"<its header>": amount}}}' in spend
    assert "notes.txt: matches no extract" in report
    assert "to change: name it customers*, orders*, survey_responses* or marketing_spend*" \
        in sections["notes.txt"]
    assert ("clients.csv: matches no extract\n  to change: rename it customers_clients.csv (its columns are "
            "the customers extract's)") in report
    assert "retentio_sources.yml" not in sections
    assert "Reporting currency: GBP, set by RETENTIO_CURRENCY" in report
    assert "note: no customers*.csv: customers are derived from the orders" in report


def test_statuses_and_dates_that_need_a_mapping_are_named(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "orders.csv").write_text("order_id,customer_id,ordered_at,amount,status\n"
                                        "O1,C1,03/04/2024,5,on-hold\nO2,C1,03/05/2024,5,completed\n")

    report, ok = preview(landing)

    assert ok
    assert "to change: map the shop's statuses in retentio_sources.yml: " \
           "extracts: {orders: {statuses: {on-hold: <completed|refunded|cancelled>}}}" in report
    assert "no date tells day from month (e.g. '03/04/2024'): read day first; if that is wrong, " \
           "set date_order in retentio_sources.yml" in report
    assert "Reporting currency: EUR: no extract states a currency and RETENTIO_CURRENCY is not set" in report


def test_every_missing_required_column_is_named_with_a_mapping_for_each(tmp_path):
    """A till export lacking three of the orders' columns: one preview says all three, not one per delivery."""
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "orders_till.csv").write_text("client,total\nC1,1\n")

    report, ok = preview(landing)

    assert not ok
    assert "required columns missing (found columns: 'client', 'total')" in report
    assert "(columns 'order_id', 'customer_id', 'ordered_at')" in report
    assert "to change: map the file's columns holding order_id, customer_id and ordered_at in retentio_sources.yml: " \
           'extracts: {orders: {columns: {"<its header for order_id>": order_id, ' \
           '"<its header for customer_id>": customer_id, "<its header for ordered_at>": ordered_at}}}' in report


def test_nothing_is_written_to_the_warehouse_and_make_check_extracts_runs_it(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing_with_every_kind_of_file(landing)
    before = sorted(p.name for p in landing.iterdir())

    with environment(Workspace(landing, warehouse)):
        assert main([]) == 1
    # -o: the virtual environment counts as installed (this test is not about installing it).
    completed = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "check-extracts"],
                               cwd=PROJECT_ROOT, capture_output=True, text=True,
                               env={**os.environ, **Workspace(landing, warehouse).environment()})

    assert completed.returncode != 0 and "orders_online_retail.csv:" in completed.stdout, completed.stderr
    assert not warehouse.exists()
    assert sorted(p.name for p in landing.iterdir()) == before


def test_a_surveymonkey_export_is_shown_with_its_second_header_row_skipped_and_every_answer_loading(tmp_path):
    from tests.catalogue.cases import (
        SURVEYMONKEY_HEADER,
        SURVEYMONKEY_MAPPING,
        SURVEYMONKEY_SUB_HEADER,
        lines,
        surveymonkey_answer,
    )

    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "customers.csv").write_text("customer_id,signup_date\nC1,2024-01-01\n")
    (landing / "retentio_sources.yml").write_bytes(SURVEYMONKEY_MAPPING)
    (landing / "survey_responses_nps.csv").write_bytes(lines(
        SURVEYMONKEY_HEADER, SURVEYMONKEY_SUB_HEADER, surveymonkey_answer(1, "C1", "9", "Fast"),
        surveymonkey_answer(2, "C1", "10 - Extremely likely")))

    report, _ = preview(landing, currency="EUR")

    survey = next(block for block in report.split("\n\n") if block.startswith("survey_responses_nps.csv:"))
    assert "second header row on line 2 skipped (sub-headers: not data)" in survey
    assert "rows: 2 read, 2 would load, 0 quarantined" in survey
    assert "note:" not in survey, "the dialect's line says it once"
