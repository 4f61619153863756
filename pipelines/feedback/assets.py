"""Feedback themes as a Dagster asset: survey comments in, the terms that set detractors apart out."""

import os
import uuid

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from pipelines.partitions import IN_ONE_RUN
from pipelines.privacy.assets import PSEUDONYMS_KEY
from pipelines.settings import Settings
from pipelines.transform.assets import WAREHOUSE_POOL, dbt_model_key

FEEDBACK_THEMES_KEY = AssetKey(["feedback", "feedback_themes"])
INPUT_MODELS = ("stg_survey__survey_responses", "int_customers_aggregated", "int_customers_rfm_scored", "int_run_settings")


@asset(
    key=FEEDBACK_THEMES_KEY,
    group_name="feedback",
    deps=[dbt_model_key(model) for model in INPUT_MODELS] + [PSEUDONYMS_KEY],
    kinds={"python", "parquet"},
    pool=WAREHOUSE_POOL,
    description="Terms and two-word phrases that set detractors' comments apart from promoters' (French and "
                "English; log-odds with an informative prior), overall, per quarter, RFM segment and tenure band, "
                "with two pseudonymous examples from loyal customers first.",
    backfill_policy=IN_ONE_RUN,
)
def feedback_themes_asset(context: AssetExecutionContext) -> MaterializeResult:
    from pipelines.feedback.themes import feedback_themes  # pandas and numpy load when the asset runs

    settings = Settings.from_env()
    import duckdb

    con = duckdb.connect(str(settings.warehouse_db), read_only=True)
    try:
        comments = con.sql(f"""
            select pseudonyms.customer_key, responses.nps_score, responses.comment, responses.response_date,
                   rfm.rfm_segment, customers.tenure_days, customers.purchases
            from staging.stg_survey__survey_responses as responses
            cross join intermediate.int_run_settings as settings
            join intermediate.int_customers_aggregated as customers using (customer_id)
            join read_parquet('{settings.warehouse_dir / "private" / "customer_pseudonyms.parquet"}') as pseudonyms
                using (customer_id)
            left join intermediate.int_customers_rfm_scored as rfm using (customer_id)
            where responses.response_date <= settings.as_of_date and responses.comment is not null
              and not customers.is_erased
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
