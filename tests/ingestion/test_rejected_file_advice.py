"""What a file that stops the run is told to change, for the shapes of delivery that cause it: a full export
delivered again every month, ids a spreadsheet rounded; and a till's anonymous sales, which do not stop it."""

from __future__ import annotations

from pathlib import Path

from pipelines.ingestion.checks import broken_file_message, mostly_anonymous_files, mostly_rejected_files
from pipelines.ingestion.preview import preview
from tests.ingestion.test_loader import ingest_all


def customers_snapshot(count: int) -> str:
    return "customer_id,signup_date\n" + "".join(f"C{i},2024-01-{1 + i % 28:02d}\n" for i in range(count))


def message_for(landing: Path, warehouse: Path, extract: str) -> str:
    ingest_all(landing, warehouse)
    (broken,) = mostly_rejected_files(warehouse / "raw" / extract, 50)
    return broken_file_message(broken, extract, 50, "EUR")


def test_a_monthly_full_export_is_told_to_keep_only_the_latest(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "customers_2024_01.csv").write_text(customers_snapshot(10))
    (landing / "customers_2024_02.csv").write_text(customers_snapshot(12))   # January's 10 again, 2 new

    message = message_for(landing, tmp_path / "warehouse", "customers")

    assert message.startswith("customers_2024_02.csv: 10 of 12 rows rejected (83.3 % > 50 %), mostly "
                              "duplicate_row (10 rows): its rows repeat earlier rows")
    assert "Keep only the latest full export in the landing directory, or deliver only new rows" in message


def test_ids_a_spreadsheet_rounded_are_told_to_be_exported_as_text(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "customers.csv").write_text(
        "customer_id,signup_date\n1.23457E+11,2024-01-01\n1.23457E+11,2024-01-02\n123456789012,2024-01-03\n")

    report, _ = preview(landing, currency="EUR")
    message = message_for(landing, tmp_path / "warehouse", "customers")

    assert "mostly invalid_identifier (2 rows): its customer ids are in scientific notation" in message
    assert "export the file again with the id column formatted as text" in message
    assert "to change: its customer ids are in scientific notation" in report, "make check-extracts says it too"


def test_the_decimal_mark_advice_names_the_other_mark(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "orders.csv").write_text("order_id;customer_id;ordered_at;amount\nA1;C1;14/03/2025;12,50\n"
                                        "A2;C1;15/03/2025;8,00\nA3;C1;16/03/2025;7.5x\n")

    report, _ = preview(landing, currency="EUR")

    assert 'if amounts use the other decimal mark than \',\', pin it in retentio_sources.yml: files: ' \
           '[{match: "orders.csv", decimal: "."}]' in report


def till_export(anonymous: int, identified: int, bad_amounts: int = 0) -> str:
    """A till's orders: most sales anonymous, a loyalty card shown now and then, some amounts unreadable."""
    rows = [f"T{i},,2024-03-01 09:{i % 60:02d},3.20" for i in range(anonymous)]
    rows += [f"L{i},card-{i % 3},2024-03-02 10:{i % 60:02d},4.50" for i in range(identified)]
    rows += [f"B{i},card-1,2024-03-03 11:{i % 60:02d},4.5x" for i in range(bad_amounts)]
    return "order_id,customer_id,ordered_at,amount\n" + "\n".join(rows) + "\n"


def test_a_till_s_anonymous_sales_are_set_aside_not_counted_as_rejected(tmp_path):
    """7 of 10 orders without a customer: no rejection to stop the run for, but a file mostly anonymous."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "orders_till.csv").write_text(till_export(anonymous=7, identified=2, bad_amounts=1))
    ingest_all(landing, warehouse)
    orders = warehouse / "raw" / "orders"

    assert mostly_rejected_files(orders, 50, set_aside_anonymous=True) == []
    (broken,) = mostly_rejected_files(orders, 50)  # customers, whose id is their key, set nothing aside
    assert broken["rows_rejected"] == broken["rows_quarantined"] == 8
    assert mostly_anonymous_files(orders, 50) == [
        {"source_file": "orders_till.csv", "rows_read": 10, "anonymous_rows": 7, "anonymous_pct": 70.0}]
    assert mostly_anonymous_files(orders, 75) == []


def test_rejections_beside_anonymous_sales_still_stop_the_run_and_say_so(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "orders_till.csv").write_text(till_export(anonymous=3, identified=1, bad_amounts=6))
    ingest_all(landing, warehouse)

    (broken,) = mostly_rejected_files(warehouse / "raw" / "orders", 50, set_aside_anonymous=True)

    assert broken_file_message(broken, "orders", 50, "EUR").startswith(
        "orders_till.csv: 6 of 10 rows rejected (60.0 % > 50 %) besides 3 orders without a customer, mostly "
        "invalid_number (6 rows): check the decimal mark")


def test_a_file_of_orders_none_of_which_names_a_customer_stops_the_run(tmp_path):
    """Nothing of it loads: a customer column emptied by the export, or the wrong one mapped."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    landing.mkdir()
    (landing / "orders_till.csv").write_text(till_export(anonymous=4, identified=0))
    ingest_all(landing, warehouse)

    (broken,) = mostly_rejected_files(warehouse / "raw" / "orders", 50, set_aside_anonymous=True)

    assert broken_file_message(broken, "orders", 50, "EUR").startswith(
        "orders_till.csv: 4 of 4 rows rejected (100.0 % > 50 %), mostly missing_value (4 rows): a required "
        "column is empty on most rows")
    assert mostly_anonymous_files(warehouse / "raw" / "orders", 50) == [], "said once, by the blocking check"
