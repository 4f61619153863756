"""The Great Expectations suites in `expectations/gx/expectations/`, built from the input contract.

The contract (pipelines/ingestion/contracts.py) is the single source of truth; this module turns it into
suites and `python -m pipelines.checks.gx_suites` writes them into the GX file context, where they are
committed. A test fails when the committed suites and the contract drift apart.
"""

from __future__ import annotations

import os

from pipelines.ingestion.contracts import EXTRACTS, ORDER_STATUSES, Extract
from pipelines.ingestion.raw_layer import LINE_COUNT_COLUMN, part_columns
from pipelines.settings import PROJECT_ROOT

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
RETENTION_METRICS_SUITE = "retention_metrics"


def raw_suite_name(extract_name: str) -> str:
    return f"raw_{extract_name}"


def _raw_expectations(extract: Extract) -> list:
    import great_expectations.expectations as gxe

    expectations = [
        gxe.ExpectTableColumnsToMatchSet(column_set=part_columns(extract), exact_match=True),
    ]
    for column in extract.columns:
        if column.required:
            expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=column.name))
    if len(extract.key) == 1:
        expectations.append(gxe.ExpectColumnValuesToBeUnique(column=extract.key[0]))
    else:
        expectations.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=list(extract.key)))
    if "currency" in extract.column_names:
        expectations.append(gxe.ExpectColumnValuesToMatchRegex(column="currency", regex=r"^[A-Z]{3}$"))
    if extract.name == "orders":
        expectations.append(gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(ORDER_STATUSES)))
        expectations.append(gxe.ExpectColumnValuesToBeBetween(
            column="amount", min_value=0, row_condition='status=="completed"', condition_parser="pandas"))
    if extract.lines is not None:  # an order stands for its lines: one at least
        expectations.append(gxe.ExpectColumnValuesToBeBetween(column=LINE_COUNT_COLUMN, min_value=1))
    if extract.name == "survey_responses":
        expectations.append(gxe.ExpectColumnValuesToBeBetween(column="nps_score", min_value=0, max_value=10))
    if extract.name == "marketing_spend":
        expectations.append(gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0))
    return expectations


def _retention_metrics_expectations() -> list:
    import great_expectations.expectations as gxe

    return [
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["period_grain", "period_start"]),
        gxe.ExpectColumnValuesToBeInSet(column="period_grain", value_set=["month", "quarter", "year"]),
        gxe.ExpectColumnValuesToNotBeNull(column="period_start"),
        gxe.ExpectColumnValuesToNotBeNull(column="period_end"),
        gxe.ExpectColumnValuesToBeBetween(column="customers_at_start", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="customers_at_end", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="new_customers", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="churned_customers", min_value=0),
        # CRR has no range: above 100 when lapsed customers return, below 0 when the activity window is
        # shorter than the period and new customers lapse before its end. That is the formula.
        gxe.ExpectColumnValuesToBeBetween(column="churn_rate_pct", min_value=0, max_value=100),
        gxe.ExpectColumnValuesToBeBetween(column="repeat_purchase_rate_pct", min_value=0, max_value=100),
        gxe.ExpectColumnValuesToBeBetween(column="revenue_existing_customers_pct", min_value=0, max_value=100),
        gxe.ExpectColumnValuesToBeBetween(column="nps", min_value=-100, max_value=100),
    ]


def build_suites() -> dict[str, list]:
    suites = {raw_suite_name(name): _raw_expectations(extract) for name, extract in EXTRACTS.items()}
    suites[RETENTION_METRICS_SUITE] = _retention_metrics_expectations()
    return suites


def file_context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx.get_context(mode="file", project_root_dir=str(EXPECTATIONS_DIR))


def write_suites() -> list[str]:
    """(Re)write every suite into the file context; returns their names."""
    import great_expectations as gx

    context = file_context()
    written = []
    for name, expectations in build_suites().items():
        suite = gx.ExpectationSuite(name=name, expectations=expectations,
                                    meta={"source": "pipelines/checks/gx_suites.py (generated; do not edit)"})
        context.suites.add_or_update(suite)
        written.append(name)
    return written


if __name__ == "__main__":
    for suite_name in write_suites():
        print(f"wrote {EXPECTATIONS_DIR / 'gx' / 'expectations' / (suite_name + '.json')}")
