"""A real Dagster run that holds the `warehouse` pool and does nothing else, in a process of its own:
what `python -m pipelines.run` finds when a run launched from the UI is using the warehouse, without the
minute a whole pipeline takes.

`python -m tests.holding_runs <ready file> [--as-pipelines-run]` runs a one-step job in the warehouse's
Dagster instance (DAGSTER_HOME); the step claims a slot of the `warehouse` pool, writes the ready file and
sleeps until the process is killed. With `--as-pipelines-run` the run carries the process tags
`pipelines.run` records; without, its pid is known only from Dagster's engine events, as for a run launched
from the UI.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dagster import job, op

from tests.conftest import PROJECT_ROOT

HOLDING_STEP = "hold_the_warehouse"


class HoldingRun:
    """The holder's process, started in its own session; `kill()` ends it as `kill -9` would."""

    def __init__(self, warehouse: Path, log_dir: Path, as_pipelines_run: bool = False):
        log_dir.mkdir(parents=True, exist_ok=True)
        self.ready = log_dir / "holder.ready"
        self.ready.unlink(missing_ok=True)
        environment = os.environ | {"DAGSTER_HOME": str(warehouse / "dagster_home"),
                                    "RETENTIO_WAREHOUSE_DIR": str(warehouse)}
        command = [sys.executable, "-m", "tests.holding_runs", str(self.ready)]
        command += ["--as-pipelines-run"] if as_pipelines_run else []
        with (log_dir / "holder.log").open("w") as log:
            self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while not self.ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the holding run never took the warehouse pool: "
                                     + (log_dir / "holder.log").read_text())
            time.sleep(0.05)
        self.run_id = self.ready.read_text()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _hold(ready: Path, as_pipelines_run: bool) -> None:
    from pipelines.instance_home import open_instance
    from pipelines.run_processes import RunProcess
    from pipelines.settings import Settings
    from pipelines.shared import WAREHOUSE_POOL

    @op(name=HOLDING_STEP, pool=WAREHOUSE_POOL)
    def hold(context) -> None:
        ready.write_text(context.run_id)
        while True:
            time.sleep(1)

    @job(name="holds_the_warehouse")
    def holds_the_warehouse():
        hold()

    instance = open_instance(Settings.from_env())
    tags = RunProcess.current().as_tags() if as_pipelines_run else {}
    holds_the_warehouse.execute_in_process(instance=instance, tags=tags)


if __name__ == "__main__":
    _hold(Path(sys.argv[1]), "--as-pipelines-run" in sys.argv)
