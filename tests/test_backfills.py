"""A backfill of order days, from Dagster's CLI or as the UI launches it, re-derives the customers who ordered
on them and changes nothing else: the data did not change, so neither does anything published."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey

from tests.conftest import PROJECT_ROOT, Workspace, copy_workspace

pytestmark = pytest.mark.slow

FIRST_DAY, LAST_DAY = "2026-06-01", "2026-06-03"
PUBLISHED = ("retention_metrics", "customers", "rfm_scores", "customer_cohorts", "acquisition_costs")


def rows(database: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def copy_with_dagster_home(source: Workspace, root: Path) -> tuple[Workspace, dict[str, str]]:
    """A copy of the published workspace, and the environment of a Dagster instance of its own (the
    project's dagster.yaml in a new DAGSTER_HOME, as `make` sets it up)."""
    workspace = copy_workspace(source, root)
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "dagster.yaml").read_text())
    return workspace, os.environ | workspace.environment() | {"DAGSTER_HOME": str(home)}


@pytest.fixture(scope="module")
def backfilled(published_workspace, tmp_path_factory):
    source, _ = published_workspace
    workspace, env = copy_with_dagster_home(source, tmp_path_factory.mktemp("backfill"))
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "pipelines.definitions",
         "--select", "rebuilds/order_days*", "--partition-range", f"{FIRST_DAY}...{LAST_DAY}"],
        check=False, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    return source, workspace, completed


def test_a_range_of_order_days_backfills_in_one_run_from_the_cli(backfilled):
    _, workspace, completed = backfilled
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "RUN_SUCCESS" in completed.stdout + completed.stderr
    log = workspace.warehouse_dir / "rebuilds" / "order_days.parquet"
    assert duckdb.sql(f"select request_number, first_day::varchar, last_day::varchar from '{log}'").fetchall() == [
        (1, FIRST_DAY, LAST_DAY)]


def test_the_backfill_rebuilt_the_customers_who_ordered_on_those_days_and_only_them(backfilled):
    _, workspace, _ = backfilled
    rebuilt = {row[0] for row in rows(workspace.warehouse_db, """
        select distinct customer_id from intermediate.int_purchases_summed_by_customer_day
        where rebuild_number = (
            select max(rebuild_number) from intermediate.int_purchases_summed_by_customer_day)""")}
    ordered = {row[0] for row in rows(workspace.warehouse_db, f"""
        select distinct customer_id from staging.stg_shop__orders
        where order_date between '{FIRST_DAY}' and '{LAST_DAY}'
          and customer_id in (select customer_id from intermediate.int_purchases_summed_by_customer_day)""")}
    assert rebuilt == ordered and len(rebuilt) > 10


def test_what_a_backfill_of_unchanged_data_publishes_is_what_was_published(backfilled):
    source, workspace, _ = backfilled
    for table in PUBLISHED:
        query = f"select * from {table} order by all"
        assert rows(workspace.bi_db, query) == rows(source.bi_db, query), table


# --- The UI: `dagster dev`, and the GraphQL mutation its "Materialize" dialog sends for a range of partitions
# of rebuilds/order_days. What a request leads to downstream is the CLI test's; here, that the UI's backfill
# runs through Dagster's daemon and records the range (with downstream assets selected too, the daemon then
# runs them as a second run: seen by hand, left out here for the time it takes).

LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
  }
}"""
BACKFILL_STATUS = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status runs(limit: 10) { runId status } }
  }
}"""
LOCATION_STATUS = """
query { workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename } } } } }"""
UI_FIRST_DAY, UI_LAST_DAY = "2026-06-10", "2026-06-11"


def graphql(port: int, query: str, variables: dict) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql",
                                     data=json.dumps({"query": query, "variables": variables}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        return json.loads(urllib.request.urlopen(request, timeout=60).read())["data"]
    except urllib.error.HTTPError as error:
        raise AssertionError(f"GraphQL {error.code}: {error.read().decode()[:2000]}") from None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def backfilled_from_the_ui(published_workspace, tmp_path_factory):
    source, _ = published_workspace
    workspace, env = copy_with_dagster_home(source, tmp_path_factory.mktemp("ui-backfill"))
    port = free_port()
    log = (workspace.warehouse_dir.parent / "dagster_dev.log").open("w")
    dev = subprocess.Popen([str(Path(sys.executable).parent / "dagster"), "dev", "-w", "workspace.yaml", "-p", str(port)],
                           cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:  # the webserver answers, then the code location loads
            try:
                entries = graphql(port, LOCATION_STATUS, {})["workspaceOrError"]["locationEntries"]
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    assert all(e["locationOrLoadError"]["__typename"] == "RepositoryLocation" for e in entries), entries
                    break
            except (OSError, AssertionError, KeyError, TypeError):
                pass
            assert time.monotonic() < deadline and dev.poll() is None, "dagster dev did not start"
            time.sleep(1)
        root = AssetKey(["rebuilds", "order_days"])
        params = {"title": "order days from the UI", "partitionsByAssets": [
            {"assetKey": {"path": root.path}, "partitions": {"range": {"start": UI_FIRST_DAY, "end": UI_LAST_DAY}}}]}
        launched = graphql(port, LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        deadline = time.monotonic() + 480
        while True:
            backfill = graphql(port, BACKFILL_STATUS, {"id": launched["backfillId"]})["partitionBackfillOrError"]
            if backfill["status"] not in ("REQUESTED", "CANCELING"):
                break
            assert time.monotonic() < deadline, f"the backfill did not finish: {backfill}"
            time.sleep(3)
    finally:
        os.killpg(dev.pid, signal.SIGTERM)
        try:
            dev.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)
        log.close()
    return source, workspace, backfill


# About 80 s (dagster dev, the daemon, a run per day); the same days backfilled from the command line are in
# `make test` (above), this one runs with `make test-slow`.
@pytest.mark.long
def test_a_backfill_launched_as_the_ui_does_runs_through_the_daemon_and_records_the_days(backfilled_from_the_ui):
    _, workspace, backfill = backfilled_from_the_ui
    assert backfill["status"] == "COMPLETED_SUCCESS", backfill
    assert len(backfill["runs"]) == 1 and backfill["runs"][0]["status"] == "SUCCESS", "both days in one run"
    log = workspace.warehouse_dir / "rebuilds" / "order_days.parquet"
    assert duckdb.sql(f"select first_day::varchar, last_day::varchar from '{log}'").fetchall() == [
        (UI_FIRST_DAY, UI_LAST_DAY)]
