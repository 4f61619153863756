"""What to change when a file loses most of its rows to one reason: the words of the check that stops the
run (checks.py) and of `make check-extracts` (preview.py)."""

from __future__ import annotations

from pipelines.ingestion.contracts import RejectReason

ADVICE_BY_REASON = {
    RejectReason.UNKNOWN_CUSTOMER.value:
        "their customers are in no customers*.csv; deliver the CRM extract that holds them (or none at all: "
        "customers are then derived from the orders); if it is delivered, check both write the ids the same "
        "way (leading zeros, prefixes, letter case)",
    RejectReason.INVALID_IDENTIFIER.value:
        "its customer ids are in scientific notation (1.23457E+11): a spreadsheet rounded them; export the "
        "file again with the id column formatted as text",
    RejectReason.DUPLICATE_ROW.value:
        "its rows repeat earlier rows (of an earlier file by name, or its own): a full export delivered "
        "again, such as a monthly snapshot? Keep only the latest full export in the landing directory, or "
        "deliver only new rows",
    RejectReason.DUPLICATE_KEY.value:
        "its keys are those of earlier rows (of an earlier file by name, or its own), with other values: a "
        "full export delivered again, such as a monthly snapshot? The first row of a key is kept: keep only "
        "the latest full export in the landing directory, or deliver only new rows",
    RejectReason.INVALID_DATE.value:
        "check the dates' layout; for month-first dates set date_order: mdy in retentio_sources.yml",
    RejectReason.INVALID_NUMBER.value:
        "check the decimal mark; set decimal in retentio_sources.yml if it was guessed wrongly",
    RejectReason.UNKNOWN_STATUS.value:
        "map the shop's statuses in retentio_sources.yml (extracts: orders: statuses: {pending: cancelled})",
    RejectReason.MISSING_VALUE.value:
        "a required column is empty on most rows: is the right column mapped in retentio_sources.yml?",
    RejectReason.UNKNOWN_CURRENCY.value: "the currency column does not hold ISO 4217 codes (EUR, GBP, USD, ...)",
}
