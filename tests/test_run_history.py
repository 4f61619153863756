"""The run history storage dagster.yaml selects: Dagster's own SQLite files, one connection per file."""

from __future__ import annotations

import shutil

import yaml
from dagster import AssetCheckResult, AssetCheckSpec, DagsterInstance, Definitions, MaterializeResult, asset
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from pipelines.run_history import PooledSqliteEventLogStorage
from tests.conftest import PROJECT_ROOT


def test_dagster_yaml_selects_the_pooled_storage():
    config = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())["event_log_storage"]
    assert (config["module"], config["class"]) == ("pipelines.run_history", "PooledSqliteEventLogStorage")


def test_what_the_pooled_storage_writes_dagster_reads_back(tmp_path, monkeypatch):
    """It overrides a private method of Dagster's storage: this notices if Dagster changes what it relies on."""
    assert {"_connect", "_initdb", "conn_string_for_shard"} <= set(dir(SqliteEventLogStorage))
    shutil.copy(PROJECT_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))

    @asset(check_specs=[AssetCheckSpec(f"check_{i}", asset="numbers") for i in range(20)])
    def numbers():
        yield MaterializeResult()
        for i in range(20):
            yield AssetCheckResult(check_name=f"check_{i}", passed=True)

    job = Definitions(assets=[numbers]).resolve_implicit_global_asset_job_def()
    with DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        result = job.execute_in_process(instance=instance)
        assert result.success
        stored = instance.get_records_for_run(result.run_id, limit=10_000).records
        assert len(stored) >= len(result.all_events)
    with DagsterInstance.get() as again:  # another process's view: a fresh instance on the same files
        assert again.get_latest_materialization_event(numbers.key) is not None
        assert len(again.get_records_for_run(result.run_id, limit=10_000).records) == len(stored)
