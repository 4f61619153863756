"""The generic data tests that cost what a run changed (dbt_project/macros/generic_tests.sql) fail when they
should, on a build from scratch (one batch, one rebuild number) and on a later run, and pass otherwise.

A real dbt build of a tiny project: hand-made seeds with the project's own macros, in a DuckDB file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DBT_PROJECT_DIR

# seed -> rows (CSV), the test on it, and the failing rows expected (0: it passes)
CASES = {
    "orders_from_scratch_with_a_repeat": (
        "order_id,ingestion_batch\nO1,1\nO1,1\nO2,1\n", "unique_where_batch_is_latest", 1),
    "orders_repeating_an_older_key": (
        "order_id,ingestion_batch\nO1,1\nO2,1\nO2,2\nO3,2\n", "unique_where_batch_is_latest", 1),
    "orders_repeating_only_among_older_ones": (
        "order_id,ingestion_batch\nO1,1\nO1,1\nO2,2\n", "unique_where_batch_is_latest", 0),
    "orders_naming_unknown_customers": (
        "customer_id,ingestion_batch\nC1,1\nC9,1\nC9,1\nC8,1\n,1\n", "references_a_crm_customer", 3),
    "orders_naming_an_unknown_customer_in_an_older_batch": (
        "customer_id,ingestion_batch\nC7,1\nC1,2\nC2,2\n", "references_a_crm_customer", 0),
    "histories_from_scratch_with_a_repeat": (
        "customer_id,period,rebuild_number\nA,1,1\nA,1,1\nB,1,1\n", "unique_within_rebuilt_customers", 1),
    "histories_with_a_stale_row_of_a_rebuilt_customer": (
        "customer_id,period,rebuild_number\nA,1,2\nA,1,1\nB,1,1\n", "unique_within_rebuilt_customers", 1),
    "histories_repeating_for_an_untouched_customer": (
        "customer_id,period,rebuild_number\nB,1,1\nB,1,1\nA,1,2\n", "unique_within_rebuilt_customers", 0),
}
TEST_ARGUMENTS = {
    "unique_where_batch_is_latest": {"column_name": "order_id", "batch_column": "ingestion_batch"},
    "references_a_crm_customer": {"column_name": "customer_id", "batch_column": "ingestion_batch"},
    "unique_within_rebuilt_customers": {"combination_of_columns": ["customer_id", "period"]},
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, tuple[str, int]]:
    """seed -> (status, failing rows) of the one data test on it, after `dbt build`."""
    project = tmp_path_factory.mktemp("generic_tests")
    (project / "macros").mkdir()
    shutil.copy(DBT_PROJECT_DIR / "macros" / "generic_tests.sql", project / "macros")
    (project / "seeds").mkdir()
    for seed, (rows, _, _) in CASES.items():
        (project / "seeds" / f"{seed}.csv").write_text(rows)
    (project / "seeds" / "crm_customers.csv").write_text("customer_id\nC1\nC2\n")
    (project / "models").mkdir()
    # What references_a_crm_customer reads besides the model it tests.
    (project / "models" / "stg_crm__customers.sql").write_text("select * from {{ ref('crm_customers') }}\n")
    (project / "models" / "int_extracts_delivered.sql").write_text("select true as has_customers_extract\n")
    seeds = [{"name": seed, "data_tests": [{test: {"arguments": TEST_ARGUMENTS[test]}}]}
             for seed, (_, test, _) in CASES.items()]
    (project / "seeds" / "seeds.yml").write_text(json.dumps({"version": 2, "seeds": seeds}))
    (project / "dbt_project.yml").write_text(json.dumps({
        "name": "generic_tests_check", "version": "1.0", "config-version": 2, "profile": "check",
        "flags": {"send_anonymous_usage_stats": False}}))
    (project / "profiles.yml").write_text(json.dumps({"check": {"target": "duckdb", "outputs": {"duckdb": {
        "type": "duckdb", "path": str(project / "check.duckdb"), "threads": 2}}}}))
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--profiles-dir", "."],
        cwd=project, env=os.environ | {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True, text=True, timeout=600,
    )
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    tested_seed = {uid: node["attached_node"].split(".")[-1]
                   for uid, node in manifest["nodes"].items() if node["resource_type"] == "test"}
    found = {tested_seed[r["unique_id"]]: (r["status"], r["failures"] or 0)
             for r in results if r["unique_id"] in tested_seed}
    assert set(found) == set(CASES), completed.stdout[-3000:]
    return found


@pytest.mark.parametrize("seed", list(CASES))
def test_each_generic_test_fails_exactly_when_it_should(outcomes, seed):
    expected_failures = CASES[seed][2]
    status, failures = outcomes[seed]
    assert (status, failures) == ("fail" if expected_failures else "pass", expected_failures)
