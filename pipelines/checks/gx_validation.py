"""Run a committed Great Expectations suite on a bounded, reproducible sample of a table.

GX on a pandas frame of ten million orders takes seconds and gigabytes, more than the whole SQL
pipeline. Every row has already been checked by the ingestion's SQL (that is what quarantine is), so
the suite is a second, independent opinion: it validates a fixed-seed sample of at most
`SAMPLE_ROWS` rows (all of them for smaller tables), and says how many it looked at.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.checks.gx_suites import file_context
from pipelines.ingestion.raw_layer import data_glob

SAMPLE_ROWS = 100_000
SAMPLE_SEED = 7


@dataclass
class SuiteOutcome:
    suite_name: str
    success: bool
    rows_validated: int
    rows_total: int
    failures: list[dict] = field(default_factory=list)
    evaluated: int = 0


def load_sample(query_source: str, con: duckdb.DuckDBPyConnection | None = None):
    """A pandas frame of at most SAMPLE_ROWS rows of `query_source` (a table or table function)."""
    own = con is None
    con = con or duckdb.connect()
    try:
        total = con.execute(f"select count(*) from {query_source}").fetchall()[0][0]
        if total <= SAMPLE_ROWS:
            frame = con.sql(f"select * from {query_source}").df()
        else:
            frame = con.sql(
                f"select * from {query_source} using sample reservoir({SAMPLE_ROWS} rows) repeatable ({SAMPLE_SEED})"
            ).df()
        return frame, total
    finally:
        if own:
            con.close()


def validate_frame(suite_name: str, frame, rows_total: int) -> SuiteOutcome:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    suite = file_context().suites.get(suite_name)
    # The frame is validated in a throw-away context so a run never rewrites the committed project.
    runtime = gx.get_context(mode="ephemeral", project_config=DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    ))
    batch = (runtime.data_sources.add_pandas("retentio_runtime")
             .add_dataframe_asset(suite_name)
             .add_batch_definition_whole_dataframe("sample")
             .get_batch(batch_parameters={"dataframe": frame}))
    result = batch.validate(suite)
    failures = []
    for item in result.results:
        if item.success:
            continue
        kwargs = {k: v for k, v in item.expectation_config.kwargs.items() if k != "batch_id"}
        failures.append({
            "expectation": item.expectation_config.type,
            "kwargs": {k: str(v) for k, v in kwargs.items()},
            "unexpected_count": item.result.get("unexpected_count"),
            "examples": [str(v) for v in (item.result.get("partial_unexpected_list") or [])[:5]],
        })
    return SuiteOutcome(suite_name, bool(result.success), len(frame), rows_total, failures,
                        result.statistics.get("evaluated_expectations", 0))


def validate_parquet(suite_name: str, extract_dir: Path) -> SuiteOutcome:
    """The suite on a raw extract's accepted rows (every part; without the `_batch` lineage column)."""
    frame, total = load_sample(f"read_parquet('{data_glob(extract_dir)}', hive_partitioning = false)")
    return validate_frame(suite_name, frame, total)
