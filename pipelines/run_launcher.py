"""Dagster's default run launcher, able to tell the daemon whether a run's process is still alive.

Dagster's daemon watches runs in progress (run monitoring, enabled in dagster.yaml) by asking the run
launcher about each run's worker. The default launcher cannot answer, so under `dagster dev` a run whose
process was killed would stay STARTED, holding its slot in the `warehouse` pool. This launcher answers from
the process recorded for the run (pipelines/run_processes.py), the same check `make run` makes at its
start: the daemon then marks a dead run failed, and frees its slots `free_slots_after_run_end_seconds`
later. Runs are launched exactly as by the default launcher.
"""

from __future__ import annotations

from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus

from pipelines.run_processes import ProcessState, process_of_run


class ProcessCheckingRunLauncher(DefaultRunLauncher):
    """DefaultRunLauncher plus `check_run_worker_health`, from the pid and start time recorded for a run."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        process = process_of_run(self._instance, run)
        if process is None:
            # Nothing recorded yet (a run starting up): no sign of death, so not one to fail.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no process recorded for the run yet")
        state = process.state()
        if state == ProcessState.GONE:
            return CheckRunHealthResult(
                WorkerStatus.FAILED, f"the process of the run ({process.host}, pid {process.pid}) is gone")
        # RUNNING, or UNKNOWN on another host: failing a run that may be alive would be worse than waiting.
        return CheckRunHealthResult(WorkerStatus.RUNNING, f"{process.host}, pid {process.pid}: {state.value}")
