"""What the step packages (ingestion, privacy, transform, predictions, feedback, checks, publish, report) share,
so that none imports another's assets for it: the warehouse pool, the settings resource, the raw layer's asset
keys and the erasure state. It imports no step package.

The asset key of a dbt model is the exception: it is answered by the dbt asset definitions themselves
(`dbt_model_key` in pipelines/transform/assets.py, with dagster-dbt's get_asset_key_for_model), which every step
after dbt depends on anyway.
"""

from __future__ import annotations

import json
from pathlib import Path

from dagster import AssetKey, ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from pipelines.settings import Settings

# Every step that opens the warehouse DuckDB file (one writer) runs in this pool, one at a time.
WAREHOUSE_POOL = "warehouse"


class RetentioSettings(ConfigurableResource):
    """Retentio's settings (pipelines/settings.py) for the steps of a run: read from the environment once, when
    the run starts, so every step of the run sees the same values. A step takes it as a parameter
    (`retentio_settings: RetentioSettings`) and calls `.get()`."""

    _settings: Settings | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # Dagster calls this on the run's own copy of the resource, so each run reads the environment anew.
        self._settings = Settings.from_env()

    def get(self) -> Settings:
        # Not set up (the resource used outside Dagster's resource initialisation): read the environment now.
        return self._settings if self._settings is not None else Settings.from_env()


def raw_asset_key(extract_name: str) -> AssetKey:
    """The raw layer's table of an extract (pipelines/ingestion/assets.py), which checks and later steps read."""
    return AssetKey(["raw", extract_name])


# The erasure state: which erasure requests (their fingerprint, pipelines/ingestion/erasure.py) a step's output
# reflects. The ingestion records it beside the raw customers; the dbt step and publish compare it with their
# own record to remove copies that could still hold an erased customer's data.
ERASURE_STATE_FILE = "erasure_state.json"


def applied_state(path: Path) -> str | None:
    """The erasure fingerprint recorded in `path` (a directory holding the state file, or the state file itself)."""
    path = path / ERASURE_STATE_FILE if path.is_dir() else path
    return json.loads(path.read_text())["fingerprint"] if path.exists() else None


def record_state(path: Path, fingerprint: str) -> None:
    path = path / ERASURE_STATE_FILE if path.is_dir() else path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"fingerprint": fingerprint}))


def erasures_in_raw_layer(raw_dir: Path) -> str:
    """The fingerprint of the erasure requests the current raw customers reflect ('' for none)."""
    return applied_state(raw_dir / "customers") or ""
