"""An as-of date before the first order, as a blocking check in front of publish.

RETENTIO_AS_OF_DATE set before every order (a typo in the year, a date copied from another shop) leaves
nothing to measure: every mart is empty. Published, those empty tables would replace the last good
publication; stopped here, the run names the date and what to change, and BI keeps what it had.
"""

from dagster import AssetCheckResult, asset_check

from pipelines.checks.warehouse_reads import one_row
from pipelines.shared import RetentioSettings
from pipelines.transform.assets import dbt_model_key


def as_of_and_first_order_dates(warehouse_db) -> tuple:
    """(the run's as-of date, the first order's day); the second is None without orders."""
    return one_row(warehouse_db, """
        select settings.as_of_date, (select min(order_date) from staging.stg_shop__orders)
        from intermediate.int_run_settings as settings
    """)


@asset_check(
    asset=dbt_model_key("int_run_settings"),
    name="as_of_date_not_before_the_first_order",
    blocking=True,
    description="Stops the run when RETENTIO_AS_OF_DATE is before the first order: nothing would be "
                "measured.",
)
def as_of_date_not_before_the_first_order(retentio_settings: RetentioSettings) -> AssetCheckResult:
    as_of_date, first_order_date = as_of_and_first_order_dates(retentio_settings.get().warehouse_db)
    passed = first_order_date is None or as_of_date >= first_order_date
    return AssetCheckResult(
        passed=passed,
        description=None if passed else (
            f"the as-of date {as_of_date} (RETENTIO_AS_OF_DATE) is before the first order, of "
            f"{first_order_date}: every metric would be empty; set a later date, or unset it to measure up "
            "to the latest order"),
        metadata={"as_of_date": str(as_of_date), "first_order_date": str(first_order_date)},
    )
