"""SIGKILL at every step of a run, with real processes: each run of a chain is killed one step further than
the one before and cleans up after it, and the last one, left alone, must publish what an uninterrupted run
publishes, in the time an uninterrupted run takes.

`make test` kills a run in three phases only (tests/test_faults.py); these take about six minutes more and
run with `make test-slow` (marker `kill_points`), which CI runs after `make test`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pipeline_runs import (
    FinishedRun,
    PipelineRun,
    RecordedRun,
    RunSeries,
    claimed_warehouse_slots,
    cleaned_up,
    export_rows,
    in_step,
    leftovers,
    publishing,
    run_history,
    table_rows,
)

pytestmark = pytest.mark.kill_points


def dbt_writing(run: PipelineRun, _warehouse: Path) -> Callable[[], bool]:
    return lambda: run.runs_child("dbt build")


def building_the_publication(_run: PipelineRun, warehouse: Path) -> Callable[[], bool]:
    return publishing(warehouse)


@dataclass(frozen=True)
class KillPoint:
    step: str
    # What must be seen beyond the step's start before the kill; for the steps long enough for the kill to
    # land inside them (the others may have ended when it lands).
    inside: Callable[[PipelineRun, Path], Callable[[], bool]] | None = None


# In the order a run reaches them. Steps marked with `inside` hold the warehouse pool when killed.
KILL_POINTS = [
    KillPoint("ingest_orders"),
    KillPoint("raw__orders_great_expectations_contract"),
    KillPoint("private__customer_pseudonyms"),
    KillPoint("retentio_dbt_models", inside=dbt_writing),
    KillPoint("customer_clv_models"),
    KillPoint("feedback__feedback_themes"),
    KillPoint("retentio_dbt_models_with_predictions", inside=dbt_writing),
    KillPoint("marts__retention_metrics_great_expectations_retention_metrics"),
    KillPoint("bi__published_marts", inside=building_the_publication),
    KillPoint("bi__audiences"),
    KillPoint("report__retention_report"),
]


@dataclass
class Killed:
    point: KillPoint
    pid: int
    metrics_after: list[tuple]  # retention_metrics as a BI client read it right after the kill


@dataclass
class Chain:
    warehouse: Path
    baseline: FinishedRun
    baseline_seconds: float
    baseline_cpu_seconds: float  # of the run and the processes it started (dbt)
    baseline_metrics: list[tuple]
    baseline_exports: dict[str, list[dict]]
    killed: list[Killed]
    recovery: FinishedRun
    recovery_seconds: float
    recovery_cpu_seconds: float
    cleaned_up: dict[str, str]  # run id prefix -> where its successor said it was interrupted
    runs: list[RecordedRun]


@pytest.fixture(scope="module")
def chain(tmp_path_factory, sample_landing, published_workspace) -> Chain:
    root = tmp_path_factory.mktemp("kill-points")
    warehouse = root / "warehouse"
    series = RunSeries(sample_landing, warehouse, root / "logs")
    try:
        shutil.copytree(published_workspace[0].warehouse_dir, warehouse, symlinks=True)
        began = time.monotonic()
        baseline, baseline_cpu = series.start("uninterrupted").wait_counting_cpu()
        baseline_seconds = time.monotonic() - began
        assert baseline.returncode == 0, baseline.output
        baseline_metrics = table_rows(warehouse / "bi.duckdb", "retention_metrics")
        baseline_exports = export_rows(warehouse / "exports")

        shutil.rmtree(warehouse / "raw")  # so that ingestion and its checks have work to be killed in
        shutil.rmtree(warehouse / "cache")
        killed = []
        for point in KILL_POINTS:
            run = series.start(f"killed-in-{point.step}")
            run.wait_for(in_step(run, warehouse, point.step), f"step {point.step}", every=0.05)
            if point.inside is not None:
                run.wait_for(point.inside(run, warehouse), f"inside {point.step}", every=0.02)
            run.kill()
            metrics_after = table_rows(warehouse / "bi.duckdb", "retention_metrics")
            killed.append(Killed(point, run.process.pid, metrics_after))

        began = time.monotonic()
        recovery, recovery_cpu = series.start("recovery").wait_counting_cpu()
        recovery_seconds = time.monotonic() - began
    finally:
        series.end()
    return Chain(warehouse, baseline, baseline_seconds, baseline_cpu, baseline_metrics, baseline_exports,
                 killed, recovery, recovery_seconds, recovery_cpu, cleaned_up(series.said()),
                 run_history(warehouse))


@pytest.mark.parametrize("index", range(len(KILL_POINTS)), ids=[point.step for point in KILL_POINTS])
def test_a_run_killed_at_each_step_is_marked_failed_and_cleaned_up_by_the_next(chain, index):
    killed = chain.killed[index]
    assert killed.metrics_after == chain.baseline_metrics  # BI clients read a whole publication throughout
    recorded = next(run for run in chain.runs if run.pid == killed.pid)
    assert recorded.status == "FAILURE" and "is gone: it was killed" in recorded.failure, recorded
    assert recorded.run_id[:8] in chain.cleaned_up, "the next run said it cleaned up after it"
    if killed.point.inside is not None:
        assert killed.point.step in chain.cleaned_up[recorded.run_id[:8]].split(", ")


def test_after_a_kill_at_every_step_the_next_run_publishes_what_an_uninterrupted_run_does(chain):
    assert chain.recovery.returncode == 0, chain.recovery.output
    assert table_rows(chain.warehouse / "bi.duckdb", "retention_metrics") == chain.baseline_metrics
    assert export_rows(chain.warehouse / "exports") == chain.baseline_exports
    assert leftovers(chain.warehouse) == []


def test_the_recovering_run_takes_the_time_of_an_uninterrupted_one(chain):
    """Compared in CPU time, which other work on the machine does not stretch; the wall-clock bound only
    catches a run that waited for something."""
    print(f"uninterrupted: {chain.baseline_seconds:.1f} s, {chain.baseline_cpu_seconds:.1f} s CPU; "
          f"recovery: {chain.recovery_seconds:.1f} s, {chain.recovery_cpu_seconds:.1f} s CPU")
    assert chain.recovery_cpu_seconds < 1.25 * chain.baseline_cpu_seconds + 5
    assert chain.recovery_seconds < 2 * chain.baseline_seconds + 20


def test_the_run_history_ends_settled_with_no_slot_held(chain):
    assert [run.status for run in chain.runs].count("SUCCESS") == 2
    assert all(run.status in ("SUCCESS", "FAILURE") for run in chain.runs)
    assert claimed_warehouse_slots(chain.warehouse) == []
