"""The dbt project as Dagster sees it.

The manifest is prepared at build time (`make prepare`, run by `make run`, `make test` and CI), not
parsed on import; `dagster dev` re-prepares it on start so model edits show up.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from pipelines.settings import PROJECT_ROOT, Settings

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

retentio_dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=Settings.from_env().dbt_target,
)
retentio_dbt_project.prepare_if_dev()


def dbt_cli_resource() -> DbtCliResource:
    """dbt from this interpreter's environment, so a run does not depend on what PATH happens to hold."""
    beside_python = Path(sys.executable).parent / "dbt"
    executable = str(beside_python) if beside_python.exists() else (shutil.which("dbt") or "dbt")
    return DbtCliResource(project_dir=retentio_dbt_project, dbt_executable=executable)
