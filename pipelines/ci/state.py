"""Production's dbt state: the manifest the last publication was built from, kept for `make ci`.

A publish copies the manifest of the run's last dbt invocation (parsed with the run's own settings) into
`<warehouse>/dbt_state/manifest.json`. `make ci` compares a change with it (`state:modified`) and defers to
it; RETENTIO_CI_STATE_DIR points `make ci` at another copy (artifacts downloaded from production runs).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

STATE_MANIFEST = "manifest.json"


def keep_dbt_state(manifest: Path, state_dir: Path) -> Path:
    """Copy `manifest` into `state_dir` (replaced atomically: a `make ci` reading it never sees half a file)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    kept = state_dir / STATE_MANIFEST
    tmp = state_dir / f".{STATE_MANIFEST}.{uuid.uuid4().hex[:8]}.tmp"
    shutil.copyfile(manifest, tmp)
    os.replace(tmp, kept)
    return kept
