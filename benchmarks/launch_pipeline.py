"""`python -m pipelines.run`, exactly, with stopwatches around a few inner functions.

Run as a script from the code root being benchmarked (the working tree or a snapshot):

    cd CODE_ROOT && python /path/to/benchmarks/launch_pipeline.py

Each wrapped call appends one JSON line (label, extract, start, seconds) to $RETENTIO_BENCH_TIMINGS, so the
harness can split the ingestion between fingerprinting, reading CSV, typing/checking and reconciling, and
the predictions step between reading, fitting and writing. A function that no longer exists under its
name is skipped (and listed in the file): the run itself is never changed.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
import time

sys.path[0] = os.getcwd()  # import the code root's `pipelines`, not the editable install's

TIMINGS = os.environ.get("RETENTIO_BENCH_TIMINGS")


def _subject(value) -> str | None:
    """What a call was about, for the per-extract split: an Extract, an opened file's extract, a name."""
    value = getattr(value, "extract", value)
    if isinstance(value, str):
        return value
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else None


def _record(label: str, extract: str | None, start: float, seconds: float) -> None:
    with open(TIMINGS, "a") as handle:
        handle.write(
            json.dumps({"label": label, "extract": extract, "start": start, "seconds": seconds}) + "\n"
        )


def _timed(function, label: str, subject: int | None):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        start, began = time.time(), time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            about = _subject(args[subject]) if subject is not None and len(args) > subject else None
            _record(label, about, start, time.perf_counter() - began)

    return wrapper


def _timed_iterator(function, label: str, subject: int | None):
    """For functions returning an iterator: the time spent producing its items, summed per call."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        start, began = time.time(), time.perf_counter()
        iterator = iter(function(*args, **kwargs))
        producing = time.perf_counter() - began

        def items():
            nonlocal producing
            try:
                while True:
                    began = time.perf_counter()
                    try:
                        item = next(iterator)
                    except StopIteration:
                        producing += time.perf_counter() - began
                        return
                    producing += time.perf_counter() - began
                    yield item
            finally:
                about = _subject(args[subject]) if subject is not None and len(args) > subject else None
                _record(label, about, start, producing)

        return items()

    return wrapper


# (module, function, label, iterator?, argument naming the extract) — labels are what the report shows.
PROBES = [
    (
        "pipelines.ingestion.parsing",
        "open_extract_file",
        "ingest: fingerprint file + detect dialect",
        False,
        1,
    ),
    ("pipelines.ingestion.parsing", "read_batches", "ingest: read CSV into text batches (pyarrow)", True, 0),
    ("pipelines.ingestion.loader", "parse_files", "ingest: stage 1 parse + type + row checks", False, 0),
    ("pipelines.ingestion.loader", "reconcile_in_full", "ingest: stage 2 reconcile across files", False, 1),
    ("pipelines.ingestion.loader", "reconcile_by_appending", "ingest: stage 2 reconcile across files", False, 1),
    ("pipelines.ingestion.loader", "summarise", "ingest: summarise the version", False, 0),
    (
        "pipelines.checks.gx_validation",
        "validate_frame",
        "checks: Great Expectations on a raw sample",
        False,
        0,
    ),
    ("pipelines.ingestion.checks", "count_mismatches", "checks: row accounting recount", False, 0),
    ("pipelines.predictions.assets", "_read_summaries", "models: read dbt summaries", False, None),
    # imported by the step when it runs (the code location loads without scipy), so patched at its source
    ("pipelines.predictions.clv", "predict_customers", "models: fit + predict + back-test", False, None),
    ("pipelines.predictions.assets", "_write_parquet", "models: write Parquet", False, None),
    ("pipelines.publish.assets", "publish", "publish: BI file + exports", False, None),
]


def install() -> list[str]:
    missing = []
    for module_name, attribute, label, is_iterator, subject in PROBES:
        try:
            module = importlib.import_module(module_name)
            original = getattr(module, attribute)
        except (ImportError, AttributeError):
            missing.append(f"{module_name}.{attribute}")
            continue
        setattr(module, attribute, (_timed_iterator if is_iterator else _timed)(original, label, subject))
    return missing


def main() -> int:
    if TIMINGS:
        for name in install():
            with open(TIMINGS, "a") as handle:
                handle.write(json.dumps({"label": "probe missing", "function": name}) + "\n")
    import pipelines
    from pipelines.run import main as run_main

    print(f"benchmark: running {pipelines.__file__}", file=sys.stderr, flush=True)
    return run_main([])


if __name__ == "__main__":
    sys.exit(main())
