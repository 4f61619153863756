"""The same dbt models on Spark (dbt-spark, local session) give every mart the DuckDB run gave, row for row.

The DuckDB side is the session's pipeline run (`published_workspace`); the Spark side is the same
pipeline (`python -m pipelines.run`, the Dagster asset graph) on the same landing files with
RETENTIO_DBT_TARGET=spark, Spark's warehouse and metastore in a temporary directory, started in the
background when the session begins (tests/spark_pipeline.py). Spark's tables are
read back from their Parquet files with DuckDB, so no second JVM is started just to read them.

Needs Java and the spark dependency group (`pip install -r requirements-spark.lock`); skips, saying
which is missing, without them.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.conftest import DBT_PROJECT_DIR

pytestmark = pytest.mark.spark

MARTS = sorted(path.stem for path in (DBT_PROJECT_DIR / "models" / "marts").glob("*.sql"))
RELATIVE_TOLERANCE = 1e-9
# Values that should be zero can come out as 1e-15 on one engine and 0 on the other (summing in another order).
ABSOLUTE_TOLERANCE = 1e-9


def spark_table_files(warehouse_dir: Path, schema: str, table: str) -> Path:
    """Where dbt-spark's managed table lives: <spark.sql.warehouse.dir>/<schema>.db/<table>."""
    return warehouse_dir / "spark" / "warehouse" / f"{schema}.db" / table


def read_spark_table(warehouse_dir: Path, schema: str, table: str) -> tuple[list[str], list[tuple]]:
    location = spark_table_files(warehouse_dir, schema, table)
    files = sorted(location.glob("*.parquet"))
    assert files, f"Spark wrote no data file for {schema}.{table} in {location}"
    relation = duckdb.sql(f"select * from read_parquet({[str(f) for f in files]})")
    return relation.columns, relation.fetchall()


def read_duckdb_table(database: Path, schema: str, table: str) -> tuple[list[str], list[tuple]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        relation = connection.sql(f"select * from {schema}.{table}")
        return relation.columns, relation.fetchall()


def _is_number(value) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _sort_key(row: tuple) -> tuple:
    """Rows in a stable order whatever the engine: nulls first, numbers to 9 significant digits (so that
    float noise in the last bits does not reorder rows), everything else by its text."""
    key = []
    for value in row:
        if value is None:
            key.append((0, 0.0, ""))
        elif _is_number(value):
            key.append((1, float(f"{float(value):.9g}"), ""))
        else:
            key.append((2, 0.0, value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)))
    return tuple(key)


def values_equal(left, right) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if _is_number(left) and _is_number(right):
        if isinstance(left, int) and isinstance(right, int):
            return left == right
        return math.isclose(float(left), float(right), rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)
    if type(left) is not type(right):
        return False
    return left == right


def table_differences(expected: tuple[list[str], list[tuple]], actual: tuple[list[str], list[tuple]],
                      limit: int = 5) -> list[str]:
    """What differs between two tables (columns, row count, then the first few differing rows); [] if none."""
    expected_columns, expected_rows = expected
    actual_columns, actual_rows = actual
    if expected_columns != actual_columns:
        return [f"columns differ: duckdb {expected_columns} vs spark {actual_columns}"]
    if len(expected_rows) != len(actual_rows):
        return [f"{len(expected_rows)} rows on duckdb, {len(actual_rows)} on spark"]
    differences = []
    for expected_row, actual_row in zip(sorted(expected_rows, key=_sort_key), sorted(actual_rows, key=_sort_key)):
        unequal = [(name, e, a) for name, e, a in zip(expected_columns, expected_row, actual_row)
                   if not values_equal(e, a)]
        if unequal:
            differences.append("; ".join(f"{name}: duckdb {e!r} vs spark {a!r}" for name, e, a in unequal))
            if len(differences) >= limit:
                break
    return differences


@dataclass
class BuiltOnBothEngines:
    duckdb_warehouse_dir: Path  # the session's pipeline run, dbt on DuckDB
    spark_warehouse_dir: Path  # the same pipeline on the same landing files, dbt on Spark


@pytest.fixture(scope="module")
def built_on_both(spark_pipeline, request) -> BuiltOnBothEngines:
    """The session's pipeline run (DuckDB) and the same pipeline with dbt on a local Spark, which the
    session started in the background before the first test (conftest's `spark_pipeline`)."""
    if spark_pipeline.run is None:
        pytest.skip(f"Spark test skipped: {spark_pipeline.skipped_because}")
    workspace, _ = request.getfixturevalue("published_workspace")
    started = time.monotonic()
    run = spark_pipeline.run.wait(timeout=900)
    print(f"\nwaited {time.monotonic() - started:.0f} s for the pipeline with dbt on local Spark")
    assert run.returncode == 0, run.output[-6000:]
    return BuiltOnBothEngines(workspace.warehouse_dir, spark_pipeline.warehouse_dir)


def test_every_mart_is_compared():
    assert "retention_metrics" in MARTS and len(MARTS) >= 10, MARTS


@pytest.mark.parametrize("mart", MARTS)
def test_mart_equals_duckdb(mart, built_on_both):
    expected = read_duckdb_table(built_on_both.duckdb_warehouse_dir / "retentio.duckdb", "marts", mart)
    actual = read_spark_table(built_on_both.spark_warehouse_dir, "marts", mart)
    differences = table_differences(expected, actual)
    assert not differences, f"marts.{mart} on Spark differs from DuckDB:\n" + "\n".join(differences)


def test_the_run_on_spark_publishes_what_the_run_on_duckdb_publishes(built_on_both):
    """Predictions, checks and publish read Spark's tables (copied into the warehouse file after each
    dbt step) and give the same BI file."""
    for table in ("retention_metrics", "customers", "rfm_scores"):
        expected = read_duckdb_table(built_on_both.duckdb_warehouse_dir / "bi.duckdb", "main", table)
        actual = read_duckdb_table(built_on_both.spark_warehouse_dir / "bi.duckdb", "main", table)
        differences = table_differences(expected, actual)
        assert not differences, f"published {table} differs:\n" + "\n".join(differences)
