"""dbt's unit tests (hand-computed rows for the activity rule, CRR, churn, NPS, CAC and RFM boundaries).

Pipeline runs exclude them (they test the SQL, not the data); CI runs them here, against a warehouse the
shared pipeline run built, since dbt reads the column types of each model's inputs from it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import DBT_PROJECT_DIR


def test_every_dbt_unit_test_passes(published_workspace, tmp_path):
    workspace, _ = published_workspace
    environment = os.environ | workspace.environment() | {"DBT_TARGET_PATH": str(tmp_path / "target"),
                                                          "DBT_LOG_PATH": str(tmp_path / "logs")}
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "test", "--select", "test_type:unit", "--profiles-dir", "."],
        cwd=DBT_PROJECT_DIR, env=environment, capture_output=True, text=True, timeout=600,
    )
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    failed = [r["unique_id"] for r in results if r["status"] != "pass"]
    assert completed.returncode == 0 and not failed, completed.stdout[-3000:]
    assert len(results) >= 8
