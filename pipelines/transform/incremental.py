"""When dbt's incremental customer histories may be updated in place, and when they must be rebuilt.

The histories (int_purchases_summed_by_customer_day and the models built from it,
macros/incremental.sql) rebuild only the customers whose purchases changed. That is exact while the raw orders only grow and the as-of
date only moves forward. Anything else makes the kept rows wrong, so the next dbt build runs with
`--full-refresh`:

- the raw orders are a new generation (a file changed or went away, an erasure request, ...:
  pipelines/ingestion/raw_layer.py);
- the activity window W or the back-test horizon H changed;
- the as-of date setting moved back, or was set or unset;
- the SQL of an incremental model, or a macro, changed; or the dbt target did.

The as-of date is resolved in one place, by dbt (int_run_settings: the setting, or the latest order date), so
this compares the setting, not the date: unset, the as-of date is the latest order date, which moves back only
when raw orders are removed or changed, and that makes a new generation of the raw orders.

What the histories were last built from is recorded beside the warehouse file after every successful
build, and compared before the next one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from pipelines.ingestion.raw_layer import current_generation
from pipelines.settings import Settings

STATE_FILE = "history_build_state.json"


@dataclass(frozen=True)
class HistoryInputs:
    raw_orders_generation: str | None
    as_of_date_setting: str | None          # None: the latest order date
    activity_window_days: int
    backtest_holdout_days: int
    models_fingerprint: str
    dbt_target: str


def models_fingerprint(manifest_path: Path, project_dir: Path) -> str:
    """The incremental models' SQL (dbt's checksums in the manifest), every macro and dbt_project.yml."""
    manifest = json.loads(manifest_path.read_text())
    checksums = sorted(
        (node["unique_id"], node["checksum"]["checksum"]) for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and "history_materialization()" in node.get("raw_code", ""))
    digest = hashlib.blake2b(json.dumps(checksums).encode(), digest_size=12)
    for path in sorted([*(project_dir / "macros").glob("**/*.sql"), project_dir / "dbt_project.yml"]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def current_inputs(settings: Settings, manifest_path: Path, project_dir: Path) -> HistoryInputs:
    return HistoryInputs(
        raw_orders_generation=current_generation(settings.raw_dir / "orders"),
        as_of_date_setting=settings.as_of_date.isoformat() if settings.as_of_date else None,
        activity_window_days=settings.activity_window_days,
        backtest_holdout_days=settings.backtest_holdout_days,
        models_fingerprint=models_fingerprint(manifest_path, project_dir),
        dbt_target=settings.dbt_target,
    )


def full_refresh_reason(previous: HistoryInputs | None, current: HistoryInputs, warehouse_db: Path) -> str | None:
    """Why the histories must be rebuilt from scratch, or None when an incremental build is exact."""
    if not warehouse_db.exists():
        return None  # nothing to keep: every model is built from scratch anyway
    if previous is None:
        return "no record of what the customer histories were built from"
    for field, what in (("raw_orders_generation", "the raw orders were rebuilt (a file changed or went away)"),
                        ("activity_window_days", "the activity window changed"),
                        ("backtest_holdout_days", "the back-test horizon changed"),
                        ("models_fingerprint", "the SQL of the customer histories changed"),
                        ("dbt_target", "the dbt target changed")):
        if getattr(previous, field) != getattr(current, field):
            return f"{what} ({getattr(previous, field)} -> {getattr(current, field)})"
    before, now = previous.as_of_date_setting, current.as_of_date_setting
    if before != now and (before is None or now is None or now < before):
        return (f"the as-of date setting moved back or was set or unset ({before or 'latest order date'} -> "
                f"{now or 'latest order date'})")
    return None


def read_history_inputs(warehouse_dir: Path) -> HistoryInputs | None:
    path = warehouse_dir / STATE_FILE
    if not path.exists():
        return None
    try:
        return HistoryInputs(**json.loads(path.read_text()))
    except (TypeError, ValueError):
        return None  # written by another version of Retentio


def record_history_inputs(warehouse_dir: Path, inputs: HistoryInputs) -> None:
    path = warehouse_dir / STATE_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(asdict(inputs), indent=1))
    tmp.replace(path)
