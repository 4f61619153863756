"""The retention report as a Dagster asset: rebuilt from the BI file after every publication."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from pipelines.partitions import IN_ONE_RUN
from pipelines.shared import RetentioSettings

PUBLISHED_MARTS_KEY = AssetKey(["bi", "published_marts"])


@asset(
    key=AssetKey(["report", "retention_report"]),
    group_name="report",
    deps=[PUBLISHED_MARTS_KEY],
    kinds={"duckdb", "html"},
    description=(
        "A self-contained HTML report of the published marts (headline metrics, trends, cohorts, RFM, CLV, "
        "NPS, CAC by channel, why retention moved, segments, customers at risk, feedback themes, the CLV model "
        "card and back-test, quarantine, definitions) in RETENTIO_WAREHOUSE_DIR/report/retention_report.html. "
        "Opens offline: styles and SVG charts are inline."
    ),
    backfill_policy=IN_ONE_RUN,
)
def retention_report(context: AssetExecutionContext, retentio_settings: RetentioSettings) -> MaterializeResult:
    # The report's modules (queries, charts, page) load when it is built, not with the code location.
    from pipelines.report.build import build_report, report_path
    from pipelines.report.formatting import month_label
    from pipelines.report.summary import monthly_preview_markdown, trend_markdown

    from pipelines.ingestion.currency import reporting_currency

    settings = retentio_settings.get()
    currency = reporting_currency(settings)
    built = build_report(settings.bi_db, report_path(settings.warehouse_dir), currency)
    data = built.data
    context.log.info(f"Retention report written to {built.path} ({built.size_bytes:,} bytes)")
    return MaterializeResult(metadata={
        "report": MetadataValue.path(str(built.path)),
        "size_bytes": MetadataValue.int(built.size_bytes),
        "last_complete_month": MetadataValue.text(month_label(data.last_month.month, long=True)
                                                  if data.last_month else "none"),
        "row_counts": MetadataValue.json(data.row_counts),
        "last_12_months": MetadataValue.md(monthly_preview_markdown(data.months, currency)),
        "crr_and_churn_trend": MetadataValue.md(trend_markdown(data.months)),
    })


report_assets = [retention_report]
