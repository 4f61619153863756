"""The contract is the one place an extract's value rules are declared: the row checks and the Great
Expectations suites apply what it declares, and dbt's list of extracts is the contract's."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import duckdb
import jinja2
import pandas as pd
import pyarrow as pa
import yaml

from pipelines.checks.gx_suites import build_suites, raw_suite_name, value_expectations
from pipelines.checks.gx_validation import validate_suite
from pipelines.ingestion.contracts import (
    EXTRACTS,
    Column,
    ColumnType,
    Extract,
    OneOf,
    Range,
    RejectReason,
)
from pipelines.ingestion.readers import trim_values
from pipelines.ingestion.row_checks import ParseRules, typed_rows_sql
from tests.conftest import DBT_PROJECT_DIR

# An extract the pipeline does not have, declared as a newcomer would declare one.
RETURNS = Extract(
    name="returns",
    file_prefix="returns",
    key=("return_id",),
    description="Returned orders.",
    columns=(
        Column("return_id", ColumnType.TEXT, True, "Business key of the return."),
        Column("return_reason", ColumnType.TEXT, True, "Why the goods came back.",
               allowed=OneOf(("damaged", "unwanted"), RejectReason.UNKNOWN_STATUS, "is not a return reason")),
        Column("refund", ColumnType.DECIMAL, True, "Money paid back.",
               range=Range(0, 500, RejectReason.OUT_OF_RANGE, "is outside 0..500",
                           only_when=("return_reason", "damaged"))),
    ),
)
RETURN_ROWS = [  # (return_id, return_reason, refund): the ones breaking a rule say which
    ("R1", "damaged", "20"),
    ("R2", "Unwanted", "-5"),   # the range holds for damaged goods only
    ("R3", "lost", "1"),        # not an allowed reason
    ("R4", "damaged", "501"),   # above the range
    ("R5", "damaged", "-1"),    # below it
]
BROKEN = {
    "R3": ("unknown_status", "return_reason", "'lost' is not a return reason"),
    "R4": ("out_of_range", "refund", "'501' is outside 0..500"),
    "R5": ("out_of_range", "refund", "'-1' is outside 0..500"),
}


def checked_rows(extract: Extract, rows: list[tuple]) -> list[dict]:
    """Rows as the readers hand them over (text, trimmed), through the row checks."""
    names = extract.column_names
    columns = {name: trim_values(pa.array([row[i] for row in rows], pa.string()))
               for i, name in enumerate(names)}
    batch = pa.table(columns | {"_source_row": pa.array(range(1, len(rows) + 1), pa.int64())})
    con = duckdb.connect()
    con.register("batch", batch)
    result = con.execute(typed_rows_sql(extract, ParseRules(".", "dmy", date(2026, 7, 1), "EUR")))
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


def test_the_row_checks_reject_what_a_declared_rule_forbids():
    rows = {row["return_id"]: row for row in checked_rows(RETURNS, RETURN_ROWS)}
    rejected = {key: (row["_reject_reason"], row["_reject_column"], row["_reject_detail"])
                for key, row in rows.items() if row["_reject_reason"]}
    assert rejected == BROKEN
    assert (rows["R2"]["return_reason"], rows["R2"]["refund"]) == ("unwanted", Decimal("-5.00"))


def test_the_gx_suite_finds_the_rows_the_row_checks_reject():
    """Generated from the same declaration, the suite flags, on the values as delivered, exactly the rows
    and columns the row checks quarantine, and passes on the rows they accept."""
    suite = suite_of(RETURNS)
    delivered = pd.DataFrame([{"return_id": key, "return_reason": reason.lower(), "refund": float(refund)}
                              for key, reason, refund in RETURN_ROWS])
    outcome = validate_suite(suite, delivered, len(delivered))
    flagged = {failure["kwargs"]["column"]: failure["unexpected_count"] for failure in outcome.failures}
    assert flagged == {"return_reason": 1, "refund": 2}

    accepted = delivered[~delivered.return_id.isin(BROKEN)]
    assert validate_suite(suite_of(RETURNS, "accepted"), accepted, len(accepted)).success


def suite_of(extract: Extract, name: str = "delivered"):
    import great_expectations as gx

    return gx.ExpectationSuite(name=f"{extract.name}_{name}",
                               expectations=[e for c in extract.columns for e in value_expectations(c)])


def test_every_value_rule_of_the_contract_is_in_its_extracts_suite():
    suites = build_suites()
    for extract in EXTRACTS.values():
        suite = suites[raw_suite_name(extract.name)]
        kinds = {(e.expectation_type, e.column) for e in suite if hasattr(e, "column")}
        for column in extract.columns:
            if column.allowed:
                assert ("expect_column_values_to_be_in_set", column.name) in kinds
            if column.range:
                assert ("expect_column_values_to_be_between", column.name) in kinds
            if column.required:
                assert ("expect_column_values_to_not_be_null", column.name) in kinds


def dbt_extract_names() -> list[str]:
    """What `extract_names()` in macros/extracts.sql returns, rendered as dbt would."""
    returned = []
    macros = (DBT_PROJECT_DIR / "macros" / "extracts.sql").read_text()
    jinja2.Environment().from_string(macros + "{{ extract_names() }}").render({"return": returned.append})
    return returned[0]


def test_dbt_lists_the_extracts_of_the_contract():
    assert dbt_extract_names() == list(EXTRACTS), "macros/extracts.sql must list the extracts of contracts.py"


def test_every_extract_has_its_dbt_sources():
    """Its raw table (written by its ingestion asset), its quarantine and its file ledger."""
    sources = yaml.safe_load((DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml").read_text())["sources"]
    tables = {(source["name"], table["name"]): table for source in sources for table in source.get("tables", [])}
    raw_tables = {tuple(t["config"]["meta"]["dagster"]["asset_key"]): name for name, t in tables.items()}
    for extract in EXTRACTS:
        assert ("raw", extract) in raw_tables, f"_sources.yml has no source for raw/{extract}"
        assert ("ingestion", f"{extract}_quarantine") in tables
        assert ("ingestion", f"{extract}_files") in tables


def test_the_ingestion_staging_models_read_every_extract():
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    for model, table in (("stg_ingestion__ingested_files", "files"),
                         ("stg_ingestion__quarantined_rows", "quarantine")):
        depends_on = manifest["nodes"][f"model.retentio.{model}"]["depends_on"]
        assert "macro.retentio.extract_names" in depends_on["macros"]
        assert set(depends_on["nodes"]) == {f"source.retentio.ingestion.{e}_{table}" for e in EXTRACTS}
