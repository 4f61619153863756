"""`python -m pipelines.transform.prepare`: parse the dbt project into target/manifest.json, at build time.

Parsing happens with exactly the environment and arguments the pipeline's dbt invocations will have
(settings exported as absolute paths, the same --target, no --vars): dbt reuses this parse state on every
run only when those are unchanged, and otherwise spends seconds re-parsing the whole project each time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipelines.settings import Settings, export_to_environment

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def main() -> int:
    settings = Settings.from_env()
    export_to_environment(settings)
    dbt = Path(sys.executable).parent / "dbt"
    command = [str(dbt), "parse", "--quiet", "--profiles-dir", ".", "--target", settings.dbt_target]
    return subprocess.run(command, cwd=DBT_PROJECT_DIR).returncode


if __name__ == "__main__":
    sys.exit(main())
