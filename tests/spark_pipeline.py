"""The pipeline with dbt on a local Spark (RETENTIO_DBT_TARGET=spark), started in the background.

Local Spark spends most of a run waiting (task scheduling, the metastore, file commits: about 70 CPU
seconds in three minutes on the sample), so the session starts it first (conftest's `spark_pipeline`) and
the other tests run meanwhile; tests/test_spark_marts.py waits for it and compares its output with the
DuckDB run's.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
from pathlib import Path

from tests.pipeline_runs import PipelineRun

# Tuned for a few thousand rows on a small machine, where compiling and re-planning each query costs more
# than running it: one shuffle partition, no whole-stage code generation, no adaptive re-planning, a JVM
# that does not spend cores on its optimising compiler (and, with one compiler tier, needs a larger code
# cache than the default 48 MB). These knobs stay out of the profile.
SMALL_DATA_SPARK = {
    "RETENTIO_SPARK_SHUFFLE_PARTITIONS": "1",
    "PYSPARK_SUBMIT_ARGS": "--conf spark.sql.codegen.wholeStage=false --conf spark.sql.adaptive.enabled=false"
                           " pyspark-shell",
    "JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m -XX:+UseSerialGC",
}


def spark_prerequisites_missing() -> str | None:
    if shutil.which("java") is None:
        return "java is not on PATH: install a JRE 17 (make spark-deps installs Debian's openjdk-17-jre-headless)"
    # Looked up, not imported: pyspark stays out of the test process, dbt runs it in its own.
    for module in ("pyspark", "dbt.adapters.spark"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed: make spark-deps (pip install -r requirements-spark.lock)"
    return None


def start_pipeline_on_spark(landing: Path, root: Path) -> PipelineRun:
    """`python -m pipelines.run` with RETENTIO_DBT_TARGET=spark: the asset graph `make run` materializes,
    dbt's steps on a local Spark (its warehouse and metastore under root/warehouse/spark)."""
    return PipelineRun(landing, root / "warehouse", root / "logs", "spark", RETENTIO_DBT_TARGET="spark",
                       **SMALL_DATA_SPARK)


def stop(run: PipelineRun) -> None:
    """Ends the run and everything it started (dbt, the JVM share its process group)."""
    if run.process.poll() is None:
        os.killpg(run.process.pid, signal.SIGKILL)
        run.process.wait()
