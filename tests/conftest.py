"""Shared fixtures: a prepared dbt project, isolated settings, generated data and pipeline runs.

Tests run the real thing: real DuckDB files in temporary directories, real dbt subprocesses, real Dagster
materializations in-process. Nothing of the warehouse is mocked.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")

# A pytest-xdist worker (make test) runs with a bare __main__, no __file__ nor __spec__, which pyspark takes
# for a doctest run: once `make spark-deps` has installed it, importing pyspark.sql.connect (as Great
# Expectations does) calls sys.exit(0), and every GX asset check run in a worker fails. A name avoids it.
_main = sys.modules["__main__"]
if getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
    _main.__file__ = "<pytest worker>"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# Every variable pipelines/settings.py reads: a developer's own values must not reach the tests' runs.
SETTING_VARIABLES = tuple(sorted(set(
    re.findall(r'"(RETENTIO_[A-Z_]+)"', (PROJECT_ROOT / "pipelines" / "settings.py").read_text())
)))


def pytest_sessionstart(session):
    """The manifest is prepared at build time (make prepare); prepare it here too when pytest runs alone.
    On several workers (make test) the main process does it before it starts them."""
    is_worker = hasattr(session.config, "workerinput")
    if not is_worker and not (DBT_PROJECT_DIR / "target" / "manifest.json").exists():
        dbt = Path(sys.executable).parent / "dbt"
        subprocess.run([str(dbt), "parse", "--quiet", "--profiles-dir", "."], cwd=DBT_PROJECT_DIR, check=True)


@dataclass
class Workspace:
    """Where one pipeline run reads and writes."""

    landing_dir: Path
    warehouse_dir: Path
    activity_window_days: int = 365

    def environment(self) -> dict[str, str]:
        return {
            "RETENTIO_LANDING_DIR": str(self.landing_dir),
            "RETENTIO_WAREHOUSE_DIR": str(self.warehouse_dir),
            "RETENTIO_ACTIVITY_WINDOW_DAYS": str(self.activity_window_days),
            "RETENTIO_AS_OF_DATE": "",
        }

    @property
    def bi_db(self) -> Path:
        return self.warehouse_dir / "bi.duckdb"

    @property
    def warehouse_db(self) -> Path:
        return self.warehouse_dir / "retentio.duckdb"


class environment:
    """Set the workspace's variables for the duration of a block (os.environ, as dbt subprocesses inherit it)."""

    def __init__(self, workspace: Workspace, **extra: str):
        self.values = workspace.environment() | extra
        self.saved: dict[str, str | None] = {}

    def __enter__(self):
        for name in set(SETTING_VARIABLES) | set(self.values):
            self.saved[name] = os.environ.get(name)
            os.environ.pop(name, None)
        os.environ.update(self.values)
        return self

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_pipeline(workspace: Workspace, **extra_env: str):
    """Materialize every asset in-process, as `make run` does; returns Dagster's result (never raises)."""
    from dagster import DagsterInstance

    from pipelines.definitions import defs

    with environment(workspace, **extra_env):
        return defs.resolve_job_def("retentio_all").execute_in_process(
            instance=DagsterInstance.ephemeral(), raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        )


def failed_checks(result) -> list[str]:
    """Checks that failed with ERROR severity (warnings, such as retention alerts, inform and do not count)."""
    from dagster import AssetCheckSeverity

    return [f"{e.asset_key.to_user_string()}:{e.check_name}"
            for e in result.get_asset_check_evaluations()
            if not e.passed and e.severity == AssetCheckSeverity.ERROR]


@pytest.fixture(scope="session")
def sample_landing(tmp_path_factory) -> Path:
    """A small generated landing directory with a known number of bad rows of each kind."""
    from pipelines.sample_data import generate

    root = tmp_path_factory.mktemp("sample")
    generate(root / "landing", customers=1500, seed=21, dirty=True, progress=False)
    return root / "landing"


@pytest.fixture(scope="session")
def published_workspace(tmp_path_factory, sample_landing) -> tuple[Workspace, object]:
    """One full pipeline run on the sample, shared by the tests that only read its outputs."""
    workspace = Workspace(sample_landing, tmp_path_factory.mktemp("published") / "warehouse")
    result = run_pipeline(workspace)
    assert result.success, failed_checks(result)
    return workspace, result


def copy_workspace(source: Workspace, destination: Path) -> Workspace:
    """A copy of a workspace's landing and warehouse directories (symlinks kept as symlinks)."""
    shutil.copytree(source.landing_dir, destination / "landing")
    shutil.copytree(source.warehouse_dir, destination / "warehouse", symlinks=True)
    return Workspace(destination / "landing", destination / "warehouse", source.activity_window_days)


@dataclass
class BackgroundSparkRun:
    run: object | None  # tests.pipeline_runs.PipelineRun, or None when skipped
    skipped_because: str | None
    warehouse_dir: Path | None


@pytest.fixture(scope="session", autouse=True)
def spark_pipeline(request, tmp_path_factory):
    """The pipeline on the sample with dbt on Spark, started before the first test when the Spark tests are
    selected (see tests/spark_pipeline.py); tests/test_spark_marts.py waits for it."""
    from tests.spark_pipeline import spark_prerequisites_missing, start_pipeline_on_spark, stop

    if not any(item.get_closest_marker("spark") for item in request.session.items):
        yield BackgroundSparkRun(None, "no Spark test selected", None)
        return
    missing = spark_prerequisites_missing()
    if missing:
        yield BackgroundSparkRun(None, missing, None)
        return
    root = tmp_path_factory.mktemp("spark")
    run = start_pipeline_on_spark(request.getfixturevalue("sample_landing"), root)
    try:
        yield BackgroundSparkRun(run, None, root / "warehouse")
    finally:
        stop(run)
