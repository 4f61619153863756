"""dbt's partial-parse state kept per warehouse, so a run's dbt invocations do not each parse the project.

dbt re-parses the whole project (about 5 s on 2 cores) whenever the profile differs from the one its
saved state was parsed with, and the profile holds the warehouse file's path. `make prepare` parses with
the default warehouse; a run on another warehouse (a second project, every test) would pay the full parse
in both of its invocations, and again in every later run. Instead, each invocation starts from the state
the previous invocation on the same warehouse left (`<warehouse>/dbt/partial_parse.msgpack`), falling back to
the prepared one, and leaves its own there. dbt checks the state itself (dbt version, file hashes, env vars,
profile) and parses again whatever it does not match, so a stale copy costs time, never correctness.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

PARTIAL_PARSE_FILE = "partial_parse.msgpack"


def warehouse_parse_state(warehouse_dir: Path) -> Path:
    return warehouse_dir / "dbt" / PARTIAL_PARSE_FILE


def seeded_target_path(project_dir: Path, invocation_name: str, warehouse_dir: Path) -> Path:
    """A new target directory for one dbt invocation, holding the warehouse's parse state when there is one
    (dagster-dbt copies the prepared state only into a target directory that has none)."""
    target = project_dir / "target" / f"{invocation_name}-{uuid.uuid4().hex[:7]}"
    saved = warehouse_parse_state(warehouse_dir)
    if saved.exists():
        target.mkdir(parents=True)
        shutil.copyfile(saved, target / PARTIAL_PARSE_FILE)
    return target


def warehouse_manifest(warehouse_dir: Path) -> Path:
    """The manifest of the last dbt invocation on the warehouse (parsed with the run's own settings): what a
    publish keeps as production's state for `make ci` (pipelines/ci/state.py)."""
    return warehouse_dir / "dbt" / "manifest.json"


def keep_parse_state(target: Path, warehouse_dir: Path) -> None:
    """The invocation's parse state (and manifest) become the warehouse's, for the next invocation (replaced
    atomically)."""
    for kept, saved in ((target / PARTIAL_PARSE_FILE, warehouse_parse_state(warehouse_dir)),
                        (target / "manifest.json", warehouse_manifest(warehouse_dir))):
        if not kept.exists():
            continue
        saved.parent.mkdir(parents=True, exist_ok=True)
        tmp = saved.with_name(f".{saved.name}.{uuid.uuid4().hex[:8]}.tmp")
        shutil.copyfile(kept, tmp)
        os.replace(tmp, saved)
