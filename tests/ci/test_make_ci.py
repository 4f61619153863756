"""`make ci` (pipelines/ci) on a copy of the project and of the warehouse the shared pipeline run published.

One copy for the module (tests restore what they change); each test changes one mart and runs
`python -m pipelines.ci` in the copy, as a team's CI would after changing its models.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, SETTING_VARIABLES, Workspace, copy_workspace

COPIED = ["dbt_project", "pipelines", "models", "workspace.yaml", ".sqlfluff", ".sqlfluffignore", "pyproject.toml"]
MART = "dbt_project/models/marts/nps_by_period.sql"


class Project:
    def __init__(self, root: Path, workspace: Workspace):
        self.root, self.workspace = root, workspace

    def environment(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if k not in SETTING_VARIABLES}
        return base | self.workspace.environment() | {
            "DAGSTER_HOME": str(self.workspace.warehouse_dir.parent / "dagster_home"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DAGSTER_DISABLE_TELEMETRY": "true"}

    def make_ci(self) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pipelines.ci"], cwd=self.root, env=self.environment(),
                              capture_output=True, text=True, timeout=300)

    def edit(self, path: str, old: str, new: str) -> None:
        file = self.root / path
        text = file.read_text()
        assert old in text, f"{old!r} not in {path}"
        file.write_text(text.replace(old, new, 1))

    def run_results(self) -> list[dict]:
        return json.loads((self.workspace.warehouse_dir / "ci" / "target" / "run_results.json").read_text())["results"]


@pytest.fixture(scope="module")
def project(published_workspace, tmp_path_factory):
    workspace, _ = published_workspace
    root = tmp_path_factory.mktemp("ci")
    for name in COPIED:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / "project" / name,
                            ignore=shutil.ignore_patterns("target", "logs", "__pycache__", "dbt_packages"))
        else:
            shutil.copy2(source, root / "project" / name)
    # The prepared manifest the Dagster code location loads (make prepare).
    (root / "project" / "dbt_project" / "target").mkdir()
    shutil.copy2(PROJECT_ROOT / "dbt_project" / "target" / "manifest.json",
                 root / "project" / "dbt_project" / "target" / "manifest.json")
    (root / "dagster_home").mkdir()
    return Project(root / "project", copy_workspace(workspace, root))


@pytest.fixture
def restored(project):
    """The mart as it was, after the test."""
    saved = (project.root / MART).read_text()
    yield project
    (project.root / MART).write_text(saved)


def test_publishing_keeps_the_state_make_ci_compares_with(published_workspace):
    workspace, _ = published_workspace
    state = json.loads((workspace.warehouse_dir / "dbt_state" / "manifest.json").read_text())
    assert "model.retentio.retention_metrics" in state["nodes"]


def test_a_change_to_one_mart_builds_only_it_and_its_children(restored):
    project = restored
    project.edit(MART, "select * from final", "select * from final  -- a changed mart")
    completed = project.make_ci()
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "modified: model.retentio.nps_by_period (SQL changed" in completed.stdout
    manifest = json.loads((project.workspace.warehouse_dir / "dbt_state" / "manifest.json").read_text())
    children, unvisited = set(), ["model.retentio.nps_by_period"]
    while unvisited:  # its children, theirs, ...
        for child in manifest["child_map"][unvisited.pop()]:
            if child.startswith("model.") and child not in children:
                children.add(child)
                unvisited.append(child)
    built = {r["unique_id"] for r in project.run_results() if r["unique_id"].startswith("model.")}
    assert built == {"model.retentio.nps_by_period"} | children, completed.stdout[-4000:]
    assert len(built) < len([n for n in manifest["nodes"] if n.startswith("model.")]) / 4


def test_a_renamed_contracted_column_fails_naming_it(restored):
    project = restored
    project.edit(MART, "end as passives,", "end as passive_answers,")
    completed = project.make_ci()
    assert completed.returncode == 1
    assert "nps_by_period" in completed.stderr and "contract" in completed.stderr
    assert "passives" in completed.stderr and "passive_answers" in completed.stderr


def test_a_lint_violation_fails_naming_file_and_line(restored):
    project = restored
    project.edit(MART, "    from answers_in_period\n", "    FROM answers_in_period\n")
    line = (project.root / MART).read_text().splitlines().index("    FROM answers_in_period") + 1
    completed = project.make_ci()
    assert completed.returncode == 1
    assert f"{MART}:{line}:5: CP01" in completed.stderr
    assert "[3/5]" not in completed.stdout  # stopped at the lint


VERSIONED_YML = """version: 2

models:
  - name: quarantine_summary
    description: What the ingestion rejected (version 2 renames example_detail to first_detail).
    config:
      contract: {enforced: true}
    latest_version: 2
    columns:
      - {name: extract_name, data_type: varchar}
      - {name: source_file, data_type: varchar}
      - {name: reason, data_type: varchar}
      - {name: column_name, data_type: varchar}
      - {name: rejected_rows, data_type: bigint}
      - {name: first_source_row, data_type: bigint}
      - {name: first_detail, data_type: varchar}
    versions:
      - v: 2
        defined_in: quarantine_summary
        config: {alias: quarantine_summary}
      - v: 1
        defined_in: quarantine_summary_v1
        deprecation_date: 2099-12-31
        columns:
          - include: all
            exclude: [first_detail]
          - {name: example_detail, data_type: varchar}
"""


def test_a_new_model_version_keeps_the_old_table_published(project, tmp_path, monkeypatch):
    """A breaking change as README's "Changing the models" says: the new version takes the table's name, the
    previous one is published beside it as <mart>_v1, and the published-schema check lets it through."""
    from pipelines.ci.__main__ import Ci
    from pipelines.ci.schema import compare, read_schema
    from pipelines.publish import bi_file
    from pipelines.settings import Settings

    marts = project.root / "dbt_project" / "models" / "marts"
    saved = {name: (marts / name).read_text() for name in ("quarantine_summary.sql", "quarantine_summary.yml")}
    try:
        (marts / "quarantine_summary_v1.sql").write_text(saved["quarantine_summary.sql"])
        project.edit("dbt_project/models/marts/quarantine_summary.sql", "as example_detail", "as first_detail")
        (marts / "quarantine_summary.yml").write_text(VERSIONED_YML)
        ci = Ci.create(Settings(landing_dir=project.workspace.landing_dir,
                                warehouse_dir=project.workspace.warehouse_dir))
        ci.write_profile()
        ci.copy_warehouse()
        completed = subprocess.run(
            [str(Path(sys.executable).parent / "dbt"), "build", "--select", "quarantine_summary",
             "--exclude", "resource_type:unit_test", "--profiles-dir", str(ci.ci_dir / "profiles"),
             "--target-path", str(tmp_path / "target")],
            cwd=project.root / "dbt_project", env=project.environment() | ci.environment,
            capture_output=True, text=True, timeout=300)
        assert completed.returncode == 0, completed.stdout[-3000:]
    finally:
        (marts / "quarantine_summary_v1.sql").unlink(missing_ok=True)
        for name, text in saved.items():
            (marts / name).write_text(text)

    published_tables = {**bi_file.PUBLISHED_TABLES, "quarantine_summary_v1": bi_file.PUBLISHED_TABLES["quarantine_summary"]}
    candidate = read_schema(ci.warehouse_copy, list(published_tables), "marts")
    changes = compare(read_schema(ci.settings.bi_db, list(published_tables), "main"), candidate)
    renamed = [c for c in changes if c.table == "quarantine_summary" and c.change == "removed"]
    assert [(c.column, c.kept_in) for c in renamed] == [("example_detail", "quarantine_summary_v1")]
    assert not [c for c in changes if c.is_breaking]

    monkeypatch.setattr(bi_file, "PUBLISHED_TABLES", published_tables)
    publication = bi_file.publish(ci.warehouse_copy, tmp_path / "bi.duckdb", tmp_path / "exports", run_metadata={})
    published = read_schema(publication.bi_path, ["quarantine_summary", "quarantine_summary_v1"], "main")
    assert "first_detail" in published["quarantine_summary"]
    assert "example_detail" in published["quarantine_summary_v1"]
