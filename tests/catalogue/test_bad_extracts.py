"""Every kind of bad extract in the catalogue (cases.py) through the real loader, then the kinds that take
more than one run, then two through Dagster to show what the person running it reads."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipelines.ingestion import parsing
from pipelines.ingestion.currency import no_currency_stated_warning
from pipelines.ingestion.errors import ExtractFileError
from tests.catalogue.cases import (
    CATALOGUE,
    GOOD_ORDER,
    Case,
    FileFails,
    Loaded,
    Rejected,
    orders,
    parquet_orders,
)
from tests.catalogue.harness import (
    KNOWN_CUSTOMERS,
    assert_every_row_accounted_for,
    ingest,
    query,
    write_landing,
)
from tests.conftest import Workspace, environment


def test_the_catalogue_covers_at_least_thirty_kinds_of_damage():
    kinds = [case.kind for case in CATALOGUE]
    assert len(kinds) == len(set(kinds)) >= 30


def landing_for(case: Case, root: Path) -> Path:
    files = dict(case.files)
    if not any(name.startswith("customers") for name in files):
        files["customers.csv"] = KNOWN_CUSTOMERS
    write_landing(root / "landing", files | case.extra_files)
    return root / "landing"


@pytest.mark.parametrize("case", CATALOGUE, ids=[case.kind for case in CATALOGUE])
def test_bad_extract(case: Case, tmp_path):
    landing, warehouse = landing_for(case, tmp_path), tmp_path / "warehouse"
    expected = case.expected

    if isinstance(expected, FileFails):
        with pytest.raises(ExtractFileError) as failure:
            ingest(landing, warehouse, case.extract)
        message = str(failure.value)
        assert failure.value.path.name in case.files and f"file {failure.value.path.name}" in message, message
        assert expected.problem in message
        assert (failure.value.line, failure.value.column) == (expected.line, expected.column), message
        if expected.line is not None:
            assert f"line {expected.line}" in message
        if expected.column is not None:
            assert f"column {expected.column!r}" in message
        assert not (warehouse / "raw" / case.extract).exists(), "nothing is published for a file that fails"
        assert not list(warehouse.rglob("*.tmp")), "a failed parse leaves nothing half-built"
        return

    result = ingest(landing, warehouse, case.extract)
    extract_dir = warehouse / "raw" / case.extract
    counts = assert_every_row_accounted_for(extract_dir)
    quarantined = query(extract_dir, "select source_row, reason, column_name, detail from quarantine order by 1")
    if isinstance(expected, Loaded):
        assert quarantined == [] and result.rows_loaded == expected.rows, quarantined
    else:
        assert isinstance(expected, Rejected)
        assert result.rows_loaded == expected.loaded
        assert [row[:2] for row in quarantined] == [row[:2] for row in expected.rows]
        for (_, _, column, detail), (_, _, expected_column, expected_detail) in zip(quarantined, expected.rows):
            assert column == expected_column, (column, detail)
            assert expected_detail is None or expected_detail in detail, detail
    assert sum(counts.loaded.values()) == result.rows_loaded
    # An orders file without a currency column also gets the warning that EUR is assumed (test_currency.py).
    warnings = [w for w in result.warnings if w != no_currency_stated_warning("EUR")]
    if expected.warning:
        assert any(expected.warning in warning for warning in warnings), warnings
    else:
        assert warnings == []
    if case.values:
        sql, rows = case.values
        assert query(extract_dir, sql) == rows


# --- Kinds that need more than one run -------------------------------------------------------------


def test_orders_of_an_unknown_customer_wait_in_quarantine_and_load_once_the_customer_arrives(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    write_landing(landing, {"customers.csv": KNOWN_CUSTOMERS,
                            "orders_case.csv": orders(GOOD_ORDER, "O2,C9,2024-01-02 10:00:00,10.00,EUR,completed")})
    first = ingest(landing, warehouse, "orders")
    assert (first.rows_loaded, first.quarantined_by_reason) == (1, {"unknown_customer": 1})

    write_landing(landing, {"customers_2.csv": b"customer_id,signup_date\nC9,2024-01-02\n"})
    second = ingest(landing, warehouse, "orders")

    assert (second.rows_loaded, second.rows_quarantined) == (2, 0)
    assert_every_row_accounted_for(warehouse / "raw" / "orders")


def test_a_file_delivered_again_in_a_later_run_is_not_loaded_twice(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    write_landing(landing, {"customers.csv": KNOWN_CUSTOMERS, "orders_2024_01.csv": orders(GOOD_ORDER)})
    ingest(landing, warehouse, "orders")
    shutil.copy(landing / "orders_2024_01.csv", landing / "orders_2024_01_resent.csv")

    again = ingest(landing, warehouse, "orders")

    assert {f["source_file"]: f["status"] for f in again.files} == {
        "orders_2024_01.csv": "loaded", "orders_2024_01_resent.csv": "duplicate_file"}
    assert again.rows_loaded == 1
    assert_every_row_accounted_for(warehouse / "raw" / "orders")


def test_a_file_that_grows_while_it_is_read_is_skipped_then_loaded_by_the_next_run(tmp_path, monkeypatch):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    write_landing(landing, {"customers.csv": KNOWN_CUSTOMERS,
                            "orders_done.csv": orders(GOOD_ORDER),
                            "orders_growing.csv": orders("O2,C1,2024-01-02 10:00:00,5.00,EUR,completed")})
    parse_file = parsing._parse_file

    def parse_while_the_export_goes_on(opened, *args, **kwargs):
        # The exporter appends a row while the loader reads: deterministic, unlike racing a thread.
        if opened.path.name == "orders_growing.csv":
            with opened.path.open("ab") as growing:
                growing.write(b"O3,C2,2024-01-02 11:00:00,7.00,EUR,completed\n")
        return parse_file(opened, *args, **kwargs)

    monkeypatch.setattr(parsing, "_parse_file", parse_while_the_export_goes_on)
    first = ingest(landing, warehouse, "orders")
    monkeypatch.setattr(parsing, "_parse_file", parse_file)

    ledger = {f["source_file"]: f for f in first.files}
    assert ledger["orders_growing.csv"]["status"] == "incomplete_delivery"
    assert ledger["orders_growing.csv"]["rows_read"] == ledger["orders_growing.csv"]["rows_loaded"] == 0
    assert first.rows_loaded == 1
    assert any("orders_growing.csv changed while it was being read" in w for w in first.warnings)
    assert_every_row_accounted_for(warehouse / "raw" / "orders")
    assert all((p / "meta.json").exists() for p in (warehouse / "cache" / "orders").iterdir()), "a partial parse"

    second = ingest(landing, warehouse, "orders")

    assert {f["source_file"]: f["status"] for f in second.files} == {
        "orders_done.csv": "loaded", "orders_growing.csv": "loaded"}
    assert second.rows_loaded == 3 and second.warnings == []
    assert_every_row_accounted_for(warehouse / "raw" / "orders")


def test_a_parquet_file_still_being_written_is_skipped_not_failed(tmp_path, monkeypatch):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    write_landing(landing, {"customers.csv": KNOWN_CUSTOMERS, "orders_case.parquet": parquet_orders()})
    complete = (landing / "orders_case.parquet").read_bytes()
    (landing / "orders_case.parquet").write_bytes(complete[: len(complete) // 2])  # no footer yet
    open_extract_file = parsing.open_extract_file

    def open_while_the_writer_finishes(path, *args, **kwargs):
        try:
            return open_extract_file(path, *args, **kwargs)
        finally:
            if path.name == "orders_case.parquet":
                path.write_bytes(complete)

    monkeypatch.setattr(parsing, "open_extract_file", open_while_the_writer_finishes)
    first = ingest(landing, warehouse, "orders")
    monkeypatch.setattr(parsing, "open_extract_file", open_extract_file)

    assert [f["status"] for f in first.files] == ["incomplete_delivery"]
    assert ingest(landing, warehouse, "orders").rows_loaded == 2


def test_what_a_killed_ingestion_left_behind_is_removed_and_never_read(tmp_path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    write_landing(landing, {"customers.csv": KNOWN_CUSTOMERS, "orders_case.csv": orders(GOOD_ORDER)})
    clean = ingest(landing, warehouse, "orders")
    # What SIGKILL leaves at each point of an ingestion: a parse, a version and a symlink, all half-made.
    leftovers = [warehouse / "cache" / "orders" / ".0123abcd-ffff.5678.tmp",
                 warehouse / "raw" / ".versions" / ".orders-0123456789abcdef.89abcdef.tmp"]
    for leftover in leftovers:
        leftover.mkdir(parents=True)
        (leftover / "accepted.parquet").write_bytes(b"PAR1 half written")
    stale_link = warehouse / "raw" / ".orders.0123456789abcdef.link"
    os.symlink(".versions/.orders-0123456789abcdef.89abcdef.tmp", stale_link)
    half_written = [warehouse / "raw" / ".reporting_currency.json.89abcdef.tmp",
                    warehouse / "cache" / "stated_currencies" / ".orders.json.89abcdef.tmp"]
    for leftover in half_written:
        leftover.write_text('{"code": "EU')

    again = ingest(landing, warehouse, "orders")

    assert not any(p.exists() for p in leftovers + half_written) and not stale_link.is_symlink()
    assert again.rows_loaded == clean.rows_loaded == 1
    assert query(warehouse / "raw" / "orders", "select order_id from data") == [("O1",)]


# --- Through Dagster ---------------------------------------------------------------------------------


def test_a_bad_file_fails_the_ingestion_asset_with_a_message_naming_file_and_column(tmp_path):
    from dagster import materialize

    from pipelines.ingestion.assets import raw_extract_assets
    from pipelines.shared import RetentioSettings

    landing = tmp_path / "landing"
    write_landing(landing, {"customers.csv": KNOWN_CUSTOMERS,
                            "orders_2024_07.csv": orders("O1,C1,2024-01-02,10,11,completed",
                                                         header="order_id,customer_id,ordered_at,Amount,amount,status")})
    wanted = ("ingest_customers", "ingest_orders")
    customers_asset, orders_asset = (a for a in raw_extract_assets if a.node_def.name in wanted)
    with environment(Workspace(landing, tmp_path / "warehouse")):
        result = materialize([customers_asset, orders_asset], raise_on_error=False, resources={"retentio_settings": RetentioSettings()})

    assert not result.success
    [failure] = result.get_step_failure_events()
    assert failure.step_key == "ingest_orders"
    description = failure.step_failure_data.user_failure_data.description
    assert description.startswith("file orders_2024_07.csv, column 'amount': column appears twice: "
                                  "as 'Amount' (field 4) and 'amount' (field 5)")
    assert "Traceback" not in description


@pytest.mark.slow
def test_the_whole_job_stops_at_a_bad_file_and_says_which(tmp_path, sample_landing):
    from tests.conftest import run_pipeline

    landing = tmp_path / "landing"
    shutil.copytree(sample_landing, landing)
    (landing / "survey_responses_2026_07.csv").write_bytes(
        b"response_id,customer_id,nps_score,comment\nR1,C-0000001,9,ok\n")

    result = run_pipeline(Workspace(landing, tmp_path / "warehouse"))

    assert not result.success
    failures = {event.step_key: event.step_failure_data.user_failure_data.description
                for event in result.get_step_failure_events()}
    assert list(failures) == ["ingest_survey_responses"]
    assert failures["ingest_survey_responses"].startswith(
        "file survey_responses_2026_07.csv, column 'responded_at': required column missing")
    assert not (tmp_path / "warehouse" / "bi.duckdb").exists()
