"""Feedback themes as a Dagster asset: survey comments in, the terms that set detractors apart out."""

import os
import uuid

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from pipelines.partitions import IN_ONE_RUN
from pipelines.shared import WAREHOUSE_POOL, RetentioSettings
from pipelines.transform.assets import dbt_model_key

FEEDBACK_THEMES_KEY = AssetKey(["feedback", "feedback_themes"])
# dbt_project/models/marts/private: the as-of date and erasures are applied there.
COMMENTS_MODEL = "survey_comments"


@asset(
    key=FEEDBACK_THEMES_KEY,
    group_name="feedback",
    deps=[dbt_model_key(COMMENTS_MODEL)],
    kinds={"python", "parquet"},
    pool=WAREHOUSE_POOL,
    description="Terms and two-word phrases that set detractors' comments apart from promoters' (French and "
                "English; log-odds with an informative prior), overall, per quarter, RFM segment and tenure band, "
                "with two pseudonymous examples from loyal customers first.",
    backfill_policy=IN_ONE_RUN,
)
def feedback_themes_asset(context: AssetExecutionContext, retentio_settings: RetentioSettings) -> MaterializeResult:
    from pipelines.feedback.themes import feedback_themes  # pandas and numpy load when the asset runs

    settings = retentio_settings.get()
    import duckdb

    con = duckdb.connect(str(settings.warehouse_db), read_only=True)
    try:
        comments = con.sql(f"""
            select customer_key, nps_score, comment, response_date, rfm_segment, tenure_days, purchases
            from private.{COMMENTS_MODEL}
        """).df()
    finally:
        con.close()
    themes = feedback_themes(comments)
    target = settings.warehouse_dir / "feedback" / "feedback_themes.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    writer = duckdb.connect()
    try:
        writer.register("themes", themes)
        writer.execute(f"copy (select * from themes) to '{tmp}' (format parquet)")
    finally:
        writer.close()
    os.replace(tmp, target)
    overall = themes[themes["scope_type"] == "all"]
    preview = "\n".join(
        [f"**{side}s**: " + ", ".join(overall[overall["side"] == side]["term"].head(8)) for side in ("detractor", "promoter")])
    return MaterializeResult(metadata={
        "dagster/row_count": len(themes),
        "comments": len(comments),
        "overall_themes": MetadataValue.md(preview or "not enough comments"),
    })
