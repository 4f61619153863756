"""What a file that stops the run is told to change, for the shapes of delivery that cause it: a full export
delivered again every month, ids a spreadsheet rounded."""

from __future__ import annotations

from pathlib import Path

from pipelines.ingestion.checks import broken_file_message, mostly_rejected_files
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
