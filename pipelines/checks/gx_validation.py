"""Run a committed Great Expectations suite on a bounded, reproducible sample of a table.

GX on a pandas frame of ten million orders takes seconds and gigabytes, more than the whole SQL
pipeline. Every row has already been checked by the ingestion's SQL (that is what quarantine is), so
the suite is a second, independent opinion: it validates a fixed-seed sample of at most
`SAMPLE_ROWS` rows (all of them for smaller tables), and says how many it looked at.

A raw extract is validated batch by batch (pipelines/ingestion/raw_layer.py): the rows of a batch never
change within a generation, so each batch is validated once, by the run that added it, and a suite that
passed on it is remembered. A daily run validates the day's rows, not the history again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path

from pipelines.checks.gx_suites import EXPECTATIONS_DIR, file_context
from pipelines.ingestion.raw_layer import VersionState, batch_dir, batch_numbers, data_glob

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


def load_sample(query_source: str, con=None):
    """A pandas frame of at most SAMPLE_ROWS rows of `query_source` (a table or table function)."""
    import duckdb

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
    """The committed suite `suite_name` on `frame`."""
    return validate_suite(file_context().suites.get(suite_name), frame, rows_total)


def validate_suite(suite, frame, rows_total: int) -> SuiteOutcome:
    """An expectation suite on a pandas frame, in a throw-away context (a run never rewrites the committed
    project)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    suite_name = suite.name
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


def _suite_fingerprint(suite_name: str) -> str:
    suite_file = EXPECTATIONS_DIR / "gx" / "expectations" / f"{suite_name}.json"
    payload = suite_file.read_bytes() + version("great_expectations").encode()
    return hashlib.blake2b(payload, digest_size=8).hexdigest()


def validate_raw_extract(suite_name: str, extract_dir: Path, cache_dir: Path) -> SuiteOutcome:
    """The suite on each batch of a raw extract (a sample of at most SAMPLE_ROWS rows of each), reusing
    the outcome of batches it passed on before; the extract passes when every batch does."""
    state = VersionState.read(extract_dir)
    batches = batch_numbers(extract_dir)
    if state is None or not batches:
        return validate_parquet(suite_name, extract_dir)
    fingerprint = _suite_fingerprint(suite_name)
    cache_dir.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for batch in batches:
        cached = cache_dir / f"{suite_name}-{fingerprint}-{state.generation}-{batch}.json"
        if cached.exists():
            outcomes.append(SuiteOutcome(**json.loads(cached.read_text())))
            continue
        parts = batch_dir(extract_dir, batch) / "*.parquet"
        frame, total = load_sample(f"read_parquet('{parts}', hive_partitioning = false)")
        outcome = validate_frame(suite_name, frame, total)
        if outcome.success:  # a failure is shown, not remembered: the run stops and the data gets fixed
            cached.write_text(json.dumps(asdict(outcome)))
        outcomes.append(outcome)
    for stale in cache_dir.glob(f"{suite_name}-*.json"):  # other generations, or suites since changed
        if not stale.name.startswith(f"{suite_name}-{fingerprint}-{state.generation}-"):
            stale.unlink(missing_ok=True)
    return SuiteOutcome(
        suite_name=suite_name,
        success=all(o.success for o in outcomes),
        rows_validated=sum(o.rows_validated for o in outcomes),
        rows_total=sum(o.rows_total for o in outcomes),
        failures=[f for o in outcomes for f in o.failures],
        evaluated=max(o.evaluated for o in outcomes),
    )
