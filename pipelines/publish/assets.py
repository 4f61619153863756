"""Publish: the marts and `retention_metrics` into the BI file, once every blocking check has passed."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from pipelines.ci.state import keep_dbt_state
from pipelines.partitions import IN_ONE_RUN
from pipelines.publish.audiences import export_audiences
from pipelines.publish.bi_file import PUBLISHED_TABLES, publish
from pipelines.shared import WAREHOUSE_POOL, RetentioSettings, applied_state, erasures_in_raw_layer, record_state
from pipelines.transform.assets import dbt_model_key
from pipelines.transform.parse_cache import warehouse_manifest
from pipelines.transform.project import retentio_dbt_project


def as_of_date_used(warehouse_db) -> str:
    """The as-of date the marts were computed as of (the setting, or the latest order date dbt found)."""
    import duckdb

    con = duckdb.connect(str(warehouse_db), read_only=True)
    try:
        rows = con.execute("select as_of_date from intermediate.int_run_settings").fetchall()
    finally:
        con.close()
    return rows[0][0].isoformat() if rows and rows[0][0] is not None else ""


@asset(
    key=AssetKey(["bi", "published_marts"]),
    group_name="publish",
    deps=[dbt_model_key(name) for name in PUBLISHED_TABLES],
    kinds={"duckdb", "parquet"},
    pool=WAREHOUSE_POOL,
    description=(
        "The marts and retention_metrics in RETENTIO_WAREHOUSE_DIR/bi.duckdb (what BI tools read, "
        "swapped in atomically) and as Parquet under RETENTIO_WAREHOUSE_DIR/exports."
    ),
    backfill_policy=IN_ONE_RUN,
)
def published_marts(context: AssetExecutionContext, retentio_settings: RetentioSettings) -> MaterializeResult:
    from pipelines.ingestion.currency import reporting_currency

    settings = retentio_settings.get()
    erasures = erasures_in_raw_layer(settings.raw_dir)
    state = settings.warehouse_dir / "private" / "published_erasure_state.json"
    publication = publish(
        settings.warehouse_db, settings.bi_db, settings.exports_dir,
        keep_previous_exports=applied_state(state) == erasures,
        run_metadata={
            "dagster_run_id": context.run_id,
            "activity_window_days": str(settings.activity_window_days),
            "as_of_date": as_of_date_used(settings.warehouse_db),
            "currency": reporting_currency(settings),
            "as_of_date_setting": settings.as_of_date.isoformat() if settings.as_of_date else "latest order date",
        },
    )
    record_state(state, erasures)
    # What this publication was built from: production's state for `make ci` (state:modified, --defer).
    built_from = warehouse_manifest(settings.warehouse_dir)
    dbt_state = keep_dbt_state(built_from if built_from.exists() else retentio_dbt_project.manifest_path,
                               settings.dbt_state_dir)
    return MaterializeResult(metadata={
        "bi_file": MetadataValue.path(str(publication.bi_path)),
        "dbt_state": MetadataValue.path(str(dbt_state)),
        "exports": MetadataValue.path(str(publication.exports_dir)),
        "row_counts": MetadataValue.json(publication.row_counts),
        "dagster/row_count": publication.row_counts["retention_metrics"],
    })


@asset(
    key=AssetKey(["bi", "audiences"]),
    group_name="publish",
    # After the publication, so that only marts whose blocking checks passed reach marketing tools.
    deps=[dbt_model_key("audience_members"), AssetKey(["bi", "published_marts"])],
    kinds={"csv"},
    pool=WAREHOUSE_POOL,
    description="Consented customers per RFM segment and per health band (pseudonymous key, e-mail, segment, band, "
                "predicted CLV), as CSV under RETENTIO_WAREHOUSE_DIR/audiences for marketing tools.",
    backfill_policy=IN_ONE_RUN,
)
def audiences(context: AssetExecutionContext, retentio_settings: RetentioSettings) -> MaterializeResult:
    settings = retentio_settings.get()
    exported = export_audiences(settings.warehouse_db, settings.warehouse_dir / "audiences")
    return MaterializeResult(metadata={
        "directory": MetadataValue.path(str(exported.directory)),
        "customers_per_audience": MetadataValue.json(exported.counts),
    })
