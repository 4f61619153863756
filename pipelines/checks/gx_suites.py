"""The Great Expectations suites in `expectations/gx/expectations/`, built from the input contract.

The contract (pipelines/ingestion/contracts.py) is the single source of truth: each raw suite expects the
raw layer's columns, the required columns filled, the key unique, currency codes, and the values a column
allows (`OneOf`) and the range it must lie in (`Range`), as the row checks (row_checks.py) enforce them.
`python -m pipelines.checks.gx_suites` writes the suites into the GX file context, where they are
committed. A test fails when the committed suites and the contract drift apart.
"""

from __future__ import annotations

import os

from pipelines.ingestion.contracts import EXTRACTS, Column, ColumnType, Extract
from pipelines.ingestion.raw_layer import LINE_COUNT_COLUMN, part_columns
from pipelines.settings import PROJECT_ROOT

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
RETENTION_METRICS_SUITE = "retention_metrics"


def raw_suite_name(extract_name: str) -> str:
    return f"raw_{extract_name}"


_VALUE_KINDS = ("expect_column_values_to_match_regex", "expect_column_values_to_be_in_set",
                "expect_column_values_to_be_between")


def value_expectations(column: Column) -> list:
    """What the contract declares of one column's values, as expectations on the raw layer (where a
    shop's own word is already mapped onto an allowed value and a currency is the reporting one)."""
    import great_expectations.expectations as gxe

    expectations = []
    if column.type is ColumnType.CURRENCY:
        expectations.append(gxe.ExpectColumnValuesToMatchRegex(column=column.name, regex=r"^[A-Z]{3}$"))
    if column.allowed is not None:
        expectations.append(gxe.ExpectColumnValuesToBeInSet(column=column.name,
                                                            value_set=list(column.allowed.values)))
    if column.range is not None:
        rule = column.range
        bounds = {name: value for name, value in (("min_value", rule.minimum), ("max_value", rule.maximum))
                  if value is not None}
        if rule.only_when is not None:  # pandas' query syntax, the sample being a pandas frame
            other, value = rule.only_when
            bounds |= {"row_condition": f'{other}=="{value}"', "condition_parser": "pandas"}
        expectations.append(gxe.ExpectColumnValuesToBeBetween(column=column.name, **bounds))
    return expectations


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
    # By kind (codes, allowed values, ranges), in column order within each, as the committed suites are.
    values = [e for column in extract.columns for e in value_expectations(column)]
    expectations += sorted(values, key=lambda e: _VALUE_KINDS.index(e.expectation_type))
    if extract.lines is not None:  # an order stands for its lines: one at least
        expectations.append(gxe.ExpectColumnValuesToBeBetween(column=LINE_COUNT_COLUMN, min_value=1))
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
