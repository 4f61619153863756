"""Where the Dagster instance of a warehouse lives: DAGSTER_HOME, by default `<warehouse>/dagster_home`.

The instance holds the run history, the run queue and the slots of the `warehouse` pool. Kept with the
warehouse, there is one of each per warehouse: two projects on one machine (two RETENTIO_WAREHOUSE_DIRs)
neither share a history nor wait for each other's slots, and `make clean` removes the history with the
data it describes. `make` exports the same default, so `make dev` shows the runs of `make run`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipelines.settings import PROJECT_ROOT, Settings

INSTANCE_CONFIG = PROJECT_ROOT / "dagster.yaml"
DEFAULT_HOME_NAME = "dagster_home"


def dagster_home(settings: Settings) -> Path:
    configured = os.environ.get("DAGSTER_HOME")
    return Path(configured) if configured else settings.warehouse_dir / DEFAULT_HOME_NAME


def open_instance(settings: Settings):
    """The warehouse's Dagster instance, with the project's dagster.yaml in its home. A home chosen here
    follows the project's file; one the user chose (DAGSTER_HOME) is only given it when it has none."""
    from dagster import DagsterInstance

    chosen_by_user = bool(os.environ.get("DAGSTER_HOME"))
    home = dagster_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or (not chosen_by_user and config.read_bytes() != INSTANCE_CONFIG.read_bytes()):
        # Renamed into place: a run starting at the same moment reads the old file or the new one, whole.
        copy = config.with_name(f".{config.name}.{os.getpid()}.tmp")
        shutil.copyfile(INSTANCE_CONFIG, copy)
        os.replace(copy, config)
    os.environ["DAGSTER_HOME"] = str(home)  # the run history storage reads it, and so would a subprocess
    return DagsterInstance.get()
