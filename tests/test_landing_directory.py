"""What `make run` makes of the landing directory before anything runs: sample data only into an empty one,
and the files that match no extract named, never silently joined by sample data; and what it says when the
only extract cannot be read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.ingestion.landing import files_matching_no_extract
from pipelines.run import LandingUnrecognised, landing_is_empty, unread_landing_files
from tests.pipeline_runs import PipelineRun

ORDER_LINES = ("InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
               "536365,85123A,6,12/01/2010 08:26,2.55,17850,United Kingdom\n")


def test_an_export_named_like_no_extract_stops_the_run_with_one_clear_line_and_no_sample_data(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "order_lines.csv").write_text(ORDER_LINES)

    run = PipelineRun(landing, tmp_path / "warehouse", tmp_path / "logs", "run").wait()

    assert run.returncode == 2, run.output
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in run.output, run.output
    assert errors[0].startswith(
        f"error: no extract in {landing}: order_lines.csv matches no extract (rename order_lines.csv to "
        "orders_order_lines.csv: its columns are the orders extract's). ")
    assert ("customers*, orders*, survey_responses* or marketing_spend* (or their folders', e.g. "
            "orders/2024-01.csv), and types, .csv") in errors[0]
    assert "make check-extracts" in errors[0] and "Nothing was published" in errors[0]
    assert "generating sample data" not in run.output
    assert sorted(p.name for p in landing.iterdir()) == ["order_lines.csv"], "nothing was added beside it"
    assert not (tmp_path / "warehouse" / "bi.duckdb").exists()


def test_only_an_empty_landing_directory_gets_sample_data(tmp_path):
    assert landing_is_empty(tmp_path / "not yet created")
    assert landing_is_empty(tmp_path)
    (tmp_path / ".DS_Store").write_text("")
    assert landing_is_empty(tmp_path), "hidden files are not someone's extracts"
    (tmp_path / "retentio_sources.yml").write_text("extracts: {}\n")
    assert not landing_is_empty(tmp_path)
    with pytest.raises(LandingUnrecognised, match="it holds no extract"):
        unread_landing_files(tmp_path)


def test_a_landing_directory_of_folders_gets_no_sample_data_and_its_extracts_are_read(tmp_path):
    """A sync that lays files out by extract (orders/2024-01.csv): sample data published beside them would
    pass for the shop's own numbers. An empty folder counts too: the sync has not run yet."""
    (tmp_path / "orders").mkdir()
    assert not landing_is_empty(tmp_path)
    with pytest.raises(LandingUnrecognised, match="it holds no extract"):
        unread_landing_files(tmp_path)

    (tmp_path / "orders" / "2024-01.csv").write_text(ORDER_LINES)
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "sales.csv").write_text(ORDER_LINES)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "orders.csv").write_text(ORDER_LINES)
    assert unread_landing_files(tmp_path) == ["exports/sales.csv"]

    (tmp_path / "orders" / "2024-01.csv").unlink()
    with pytest.raises(LandingUnrecognised, match=r"no extract in .*: exports/sales.csv matches no extract "
                                                  r"\(rename exports/sales.csv to exports/orders_sales.csv: its "
                                                  r"columns are the orders extract's\)"):
        unread_landing_files(tmp_path)


def test_files_beside_the_extracts_that_match_none_are_named_and_control_files_are_not(tmp_path):
    for name in ("orders_2026.csv", "Customers.parquet", "retentio_sources.yml", "erasure_requests_june.csv",
                 ".hidden.csv", "order_lines.csv", "orders_2027.numbers"):
        (tmp_path / name).write_text("")

    assert [p.name for p in files_matching_no_extract(tmp_path)] == ["order_lines.csv", "orders_2027.numbers"]
    assert unread_landing_files(tmp_path) == ["order_lines.csv", "orders_2027.numbers"]


def test_an_orders_file_that_cannot_be_read_is_named_on_the_terminal_and_in_the_log(tmp_path):
    """No customers file and an orders file without an order id: the run fails at ingesting the orders, and
    says so, with the file and the column, instead of a stack trace from the summary that follows."""
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "orders_till.csv").write_text("Bon,Date,Customer,Qty,Price\n17,14/03/2025,C1,1,£3.20\n")

    run = PipelineRun(landing, tmp_path / "warehouse", tmp_path / "logs", "run").wait()

    assert run.returncode == 1, run.output
    assert "Traceback" not in run.output
    problem = "ingest_orders: file orders_till.csv, column 'order_id': required column missing"
    assert problem in run.stderr and "Nothing was published" in run.stderr
    log = Path(re.search(r"this run's full log\s+(\S+)", run.stdout).group(1)).read_text()
    assert "STEP_FAILURE" in log and "column 'order_id': required column missing" in log


def test_a_file_that_stops_the_run_is_named_once_with_what_to_change_and_no_dagster_error(tmp_path):
    """CRM ids with leading zeros, orders without: every order waits for its customer and the run stops on
    the blocking check; its message says what to check, and the failed step does not repeat Dagster's error."""
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "customers.csv").write_text("customer_id,signup_date\n00001,2024-01-01\n00002,2024-01-01\n")
    (landing / "orders.csv").write_text("order_id,customer_id,ordered_at,amount\nA1,1,2024-02-01,10\n"
                                        "A2,2,2024-02-02,12\n")

    run = PipelineRun(landing, tmp_path / "warehouse", tmp_path / "logs", "run").wait()

    assert run.returncode == 1, run.output
    assert ("orders.csv: 2 of 2 rows rejected (100.0 % > 50 %), mostly unknown_customer (2 rows)" in run.stdout
            and "check both write the ids the same way (leading zeros, prefixes, letter case)" in run.stdout)
    assert ("raw__orders_no_file_mostly_rejected: a blocking check failed (its message is under \"Failed "
            "checks\" above)") in run.stderr
    assert "DagsterAssetCheckFailedError" not in run.output and "Nothing was published" in run.stderr


def test_a_folder_of_many_other_files_is_summed_up_not_listed(tmp_path):
    """A landing directory pointed at a backup or a project folder: ten files named, the rest counted."""
    for i in range(13):
        (tmp_path / "backup").mkdir(exist_ok=True)
        (tmp_path / "backup" / f"notes_{i:02}.txt").write_text("title,body\nx,y\n")
    with pytest.raises(LandingUnrecognised, match=r": backup/notes_00.txt, .*, backup/notes_09.txt and 3 other "
                                                  r"files match no extract\. "):
        unread_landing_files(tmp_path)
