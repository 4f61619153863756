"""The dbt project as Dagster sees it.

The manifest is prepared at build time (`make prepare`, run by `make run`, `make test` and CI), not
parsed on import; `dagster dev` re-prepares it on start so model edits show up.
"""

from __future__ import annotations

import shutil
import sys
from functools import cached_property
from pathlib import Path

from dagster_dbt import DagsterDbtProjectPreparer, DbtCliResource, DbtProject
from dbt.version import __version__ as DBT_CORE_VERSION
from packaging import version

from pipelines.settings import PROJECT_ROOT, Settings

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

# The dbt target (RETENTIO_DBT_TARGET) is read when the code location loads: it decides the manifest the
# asset graph is built from, not only how a run goes.
retentio_dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target=Settings.from_env().dbt_target,
)
# Under `dagster dev`, parse again so that model edits show up: with the dbt beside this interpreter, as
# `make prepare` does (dagster-dbt's own prepare_if_dev would look for dbt on PATH).
if DagsterDbtProjectPreparer().using_dagster_dev():
    from pipelines.transform.prepare import parse_project

    if parse_project() != 0:
        raise RuntimeError(f"dbt parse failed in {DBT_PROJECT_DIR}: see its output above")


class DbtBesideThisPython(DbtCliResource):
    """dagster-dbt's resource without two costs paid before every first dbt command of a run (about 10 s
    together on 2 cores, a fifth of a run on the sample data):

    - `dbt --version` in a subprocess, to tell dbt Core from the Fusion engine: the dbt executable beside
      this interpreter belongs to the dbt-core package imported here, so its version is already known;
    - a dbt adapter built in this process (every macro of the project loaded) for `fetch_row_counts()` and
      `fetch_column_metadata()`, which Retentio does not call: row counts come from the checks instead.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(DBT_CORE_VERSION)

    def _initialize_dbt_core_adapter(self, args):
        return None


def dbt_cli_resource() -> DbtCliResource:
    """dbt from this interpreter's environment, so a run does not depend on what PATH happens to hold."""
    beside_python = Path(sys.executable).parent / "dbt"
    if beside_python.exists():
        return DbtBesideThisPython(project_dir=retentio_dbt_project, dbt_executable=str(beside_python))
    return DbtCliResource(project_dir=retentio_dbt_project, dbt_executable=shutil.which("dbt") or "dbt")
