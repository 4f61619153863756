"""`python -m pipelines.transform.prepare`: parse the dbt project into target/manifest.json, at build time.

Parsing happens with exactly the environment and arguments the pipeline's dbt invocations will have
(settings exported as absolute paths, the same --target, no --vars): dbt reuses this parse state on every
run only when those are unchanged, and otherwise spends seconds re-parsing the whole project each time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipelines.settings import Settings, as_environment

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def parse_project() -> int:
    """`dbt parse` with the dbt beside this interpreter (PATH need not hold it) and the runs' environment."""
    settings = Settings.from_env()
    environment = os.environ | as_environment(settings) | {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = Path(sys.executable).parent / "dbt"
    command = [str(dbt), "parse", "--quiet", "--profiles-dir", ".", "--target", settings.dbt_target]
    return subprocess.run(command, cwd=DBT_PROJECT_DIR, env=environment).returncode


if __name__ == "__main__":
    sys.exit(parse_project())
