"""Survey answers that reach no customer, as a warning-severity check on the `customers` mart.

With a customers file, ingestion quarantines an answer naming a customer the CRM lacks (unknown_customer).
Without one, customers are derived from the orders and every answer loads: when the survey tool writes
ids another way than the shop (an e-mail address against a number, a prefix), the answers still count in
NPS but reach no customer, so each customer's latest score, NPS by segment and the health score go empty
without a word. This check says so. It never blocks: NPS itself is right.
"""

from dagster import AssetCheckResult, AssetCheckSeverity, asset_check

from pipelines.checks.warehouse_reads import one_row
from pipelines.shared import RetentioSettings
from pipelines.transform.assets import dbt_model_key

# A few strays (a respondent who has not ordered yet) are normal; this share of answers is not.
MAX_UNMATCHED_SHARE = 0.05


def count_unmatched_answers(warehouse_db) -> tuple[int, int]:
    """(answers naming a customer, those whose customer is in no customer extract nor any order)."""
    return one_row(warehouse_db, """
        select count(*), count(*) filter (where customers.customer_id is null)
        from staging.stg_survey__survey_responses as answers
        left join intermediate.int_customers_unioned as customers
            on customers.customer_id = answers.customer_id
        where answers.customer_id is not null  -- an anonymous answer is meant to reach nobody
    """)


@asset_check(
    asset=dbt_model_key("customers"),
    name="survey_answers_reach_customers",
    blocking=False,
    description=f"Warns when more than {MAX_UNMATCHED_SHARE:.0%} of the survey answers name a customer no "
                "customer extract nor any order names (ids written differently by the survey tool).",
)
def survey_answers_reach_customers(retentio_settings: RetentioSettings) -> AssetCheckResult:
    answers, unmatched = count_unmatched_answers(retentio_settings.get().warehouse_db)
    passed = unmatched <= MAX_UNMATCHED_SHARE * answers
    return AssetCheckResult(
        passed=passed,
        severity=AssetCheckSeverity.WARN,
        description=None if passed else (
            f"{unmatched:,} of {answers:,} survey answers name a customer no order names: they count in NPS "
            "but reach no customer (latest score, NPS by segment, health score); check that the survey "
            "tool and the shop write customer ids the same way (e-mail or number, prefixes, leading zeros), "
            "or map the survey file's id column in retentio_sources.yml"),
        metadata={"answers": answers, "answers_without_customer": unmatched},
    )
