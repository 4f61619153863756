"""On Spark, the dbt models are Spark tables; the Python steps after dbt (predictions, feedback, the
metrics checks, publish) read the warehouse DuckDB file. After each dbt invocation on Spark, every table
in Spark's warehouse directory is copied into that file from its Parquet files, so the rest of the asset
graph runs unchanged on either engine.

The copy reads files, not Spark: with the local session method they are under
RETENTIO_WAREHOUSE_DIR/spark/warehouse; for a cluster, RETENTIO_SPARK_TABLES_DIR names the directory its
managed tables are written to (a path DuckDB can read: a mounted file system, or s3://… with DuckDB's
httpfs extension). Staging models are tables on Spark (dbt_project.yml) so that they have files too.
"""

from __future__ import annotations

from pipelines.settings import Settings


def runs_on_spark(settings: Settings) -> bool:
    return settings.dbt_target.startswith("spark")


def mirror_spark_tables(settings: Settings, names: set[str]) -> list[str]:
    """Replaces each `<schema>.<table>` of the warehouse DuckDB file whose table is in `names` (the models
    and seeds one dbt step built) with Spark's table of that name, in one transaction; returns the tables
    copied."""
    copied = []
    import duckdb  # only on Spark: loads when a dbt step on Spark has run

    con = duckdb.connect(str(settings.warehouse_db))
    try:
        con.execute(f"set memory_limit = '{settings.duckdb_memory_limit}'")
        con.execute("begin transaction")
        for schema_dir in sorted(settings.spark_tables_dir.glob("*.db")):
            schema = schema_dir.name.removesuffix(".db")
            con.execute(f'create schema if not exists "{schema}"')
            for table_dir in sorted(path for path in schema_dir.iterdir() if path.is_dir() and path.name in names):
                # Spark writes at least one file per table, an empty one with the schema for no rows.
                files = [str(path) for path in sorted(table_dir.glob("*.parquet"))]
                if files:
                    con.execute(f'create or replace table "{schema}"."{table_dir.name}" as '
                                f"select * from read_parquet({files})")
                    copied.append(f"{schema}.{table_dir.name}")
        con.execute("commit")
    finally:
        con.close()
    return copied
