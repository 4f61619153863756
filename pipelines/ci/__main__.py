"""`make ci` (`python -m pipelines.ci`): check a change to the dbt models before it reaches production.

Five steps, each printing what it did and why, and stopping at the first that fails with the file and line
(lint), the model and column (contract), or the test that failed:

1. parse: `dbt parse` and `dagster definitions validate` on the code location;
2. lint: sqlfluff (`.sqlfluff`) on the models changed since production's state;
3. unit tests: every dbt unit test (`--select test_type:unit`);
4. slim build: `dbt build --select state:modified+ --defer --state <state>`: the changed models and their
   children, built and tested in a copy of the warehouse (`<warehouse>/ci/retentio.duckdb`), never in it;
5. published schema: the tables a publication would write against the last published `bi.duckdb`; a removed
   or retyped column fails unless a previous version of the mart is still published (pipelines/ci/schema.py).

Production's state is the dbt manifest the last publication was built from, which every publish keeps in
`<warehouse>/dbt_state` (pipelines/ci/state.py); RETENTIO_CI_STATE_DIR points elsewhere (artifacts downloaded
from production runs). The warehouse is the one `make run` built from the sample (RETENTIO_WAREHOUSE_DIR).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from pipelines.ci.schema import compare, read_schema
from pipelines.ci.state import STATE_MANIFEST
from pipelines.settings import PROJECT_ROOT, Settings, SettingsError, as_environment

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
BIN = Path(sys.executable).parent
EXIT_FAILED = 1
FAILED_STATUSES = ("error", "fail", "runtime error")
BUILT_TYPES = ("model", "seed", "snapshot")
EXIT_CANNOT_RUN = 2


class StepFailed(Exception):
    """A step found a problem; the message says which and where."""


class CannotRun(Exception):
    """What make ci needs is missing (a warehouse, production's state); the message says how to get it."""


@dataclass
class Ci:
    settings: Settings
    ci_dir: Path
    environment: dict[str, str]
    modified: dict[str, dict] = field(default_factory=dict)  # unique_id -> node, changed since the state

    @classmethod
    def create(cls, settings: Settings) -> "Ci":
        ci_dir = settings.warehouse_dir / "ci"
        environment = os.environ | as_environment(settings) | {
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_LOG_PATH": str(ci_dir / "logs"),
        }
        return cls(settings, ci_dir, environment)

    @property
    def warehouse_copy(self) -> Path:
        return self.ci_dir / self.settings.warehouse_db.name

    @property
    def target_dir(self) -> Path:
        return self.ci_dir / "target"

    @property
    def state_manifest(self) -> Path:
        return self.settings.ci_state_dir / STATE_MANIFEST

    @property
    def state_dir(self) -> Path:
        """Production's state as dbt reads it here (`localize_state`)."""
        return self.ci_dir / "state"

    def localize_state(self) -> None:
        """Production's manifest, its warehouse directory read as this one.

        The sources read Parquet under RETENTIO_WAREHOUSE_DIR and the manifest holds their rendered paths: state
        from another warehouse (production's, a copy) would make every source, hence every model, 'modified'.
        The path is where production keeps its files, not a change to the models."""
        if not self.state_manifest.exists():
            raise CannotRun(f"no production state at {self.state_manifest}: every publish keeps one in "
                            f"{self.settings.dbt_state_dir} (`make run`), or set RETENTIO_CI_STATE_DIR")
        text = self.state_manifest.read_text()
        production = _warehouse_of(json.loads(text))
        if production and production != str(self.settings.warehouse_dir):
            text = text.replace(production, str(self.settings.warehouse_dir))
            _print(f"    production's state: sources under {production} read as {self.settings.warehouse_dir}")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / STATE_MANIFEST).write_text(text)

    def dbt(self, *arguments: str) -> subprocess.CompletedProcess:
        """dbt in the project with the runs' settings (as_environment), on the warehouse copy, its target
        files (manifest, run_results.json, partial parse) under ci/target."""
        command = [str(BIN / "dbt"), *arguments, "--profiles-dir", str(self.ci_dir / "profiles"),
                   "--target", self.settings.dbt_target, "--target-path", str(self.target_dir)]
        return subprocess.run(command, cwd=DBT_PROJECT_DIR, env=self.environment, capture_output=True, text=True)

    def write_profile(self) -> None:
        """The project's profiles.yml with the DuckDB path pointing at the warehouse copy (all else as is)."""
        profiles = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
        for profile in profiles.values():
            output = profile.get("outputs", {}).get(self.settings.dbt_target)
            if output is None or output.get("type") != "duckdb":
                raise CannotRun(f"make ci builds on DuckDB: RETENTIO_DBT_TARGET={self.settings.dbt_target} is not "
                                "a duckdb target of dbt_project/profiles.yml")
            output["path"] = str(self.warehouse_copy)
        (self.ci_dir / "profiles").mkdir(parents=True, exist_ok=True)
        (self.ci_dir / "profiles" / "profiles.yml").write_text(yaml.safe_dump(profiles, sort_keys=False))

    def copy_warehouse(self) -> None:
        """A fresh copy of the warehouse file for the slim build (the last make ci's changes discarded)."""
        if not self.settings.warehouse_db.exists():
            raise CannotRun(f"no warehouse at {self.settings.warehouse_db}: `make run` builds one from the sample "
                            "(or set RETENTIO_WAREHOUSE_DIR to the warehouse to check against)")
        for stale in (self.warehouse_copy, self.warehouse_copy.with_name(self.warehouse_copy.name + ".wal")):
            stale.unlink(missing_ok=True)
        shutil.copyfile(self.settings.warehouse_db, self.warehouse_copy)
        wal = self.settings.warehouse_db.with_name(self.settings.warehouse_db.name + ".wal")
        if wal.exists():  # what DuckDB has not checkpointed into the file yet
            shutil.copyfile(wal, self.warehouse_copy.with_name(self.warehouse_copy.name + ".wal"))


def _warehouse_of(manifest: dict) -> str | None:
    """The RETENTIO_WAREHOUSE_DIR a manifest was parsed with, from its sources' rendered paths
    (`<warehouse>/raw/...`, dbt_project/models/staging/_sources.yml)."""
    for source in manifest.get("sources", {}).values():
        location = (source.get("config") or {}).get("external_location") or ""
        if "/raw/" in location and "read_parquet('" in location:
            return location.split("read_parquet('", 1)[1].split("/raw/", 1)[0]
    return None


def _print(text: str = "") -> None:
    print(text, flush=True)


def _tail(completed: subprocess.CompletedProcess, lines: int = 40) -> str:
    output = (completed.stdout or "") + (completed.stderr or "")
    return "\n".join("    " + line for line in output.strip().splitlines()[-lines:])


def _run_results(ci: Ci) -> list[dict]:
    path = ci.target_dir / "run_results.json"
    return json.loads(path.read_text())["results"] if path.exists() else []


def _manifest_nodes(path: Path) -> dict[str, dict]:
    return json.loads(path.read_text())["nodes"]


# --- 1. parse -----------------------------------------------------------------------------------------------

def step_parse(ci: Ci) -> None:
    # The code location loads from the prepared manifest (make prepare, a dependency of make ci), in parallel.
    validate = subprocess.Popen([str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
                                cwd=PROJECT_ROOT, env=ci.environment, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    completed = ci.dbt("parse")
    output, _ = validate.communicate()
    validated = subprocess.CompletedProcess(validate.args, validate.returncode, output, "")
    if completed.returncode != 0:
        raise StepFailed(f"dbt parse failed:\n{_tail(completed)}")
    nodes = _manifest_nodes(ci.target_dir / "manifest.json")
    kinds: dict[str, int] = {}
    for node in nodes.values():
        kinds[node["resource_type"]] = kinds.get(node["resource_type"], 0) + 1
    _print(f"    dbt parse: {', '.join(f'{n} {kind}s' for kind, n in sorted(kinds.items()))}")
    if validated.returncode != 0:
        raise StepFailed(f"dagster definitions validate failed:\n{_tail(validated)}")
    _print("    dagster definitions validate: the code location loads")


# --- 2. lint ------------------------------------------------------------------------------------------------

def find_modified(ci: Ci) -> None:
    """The nodes `state:modified` selects, as dbt selects them, and why each is there."""
    ci.localize_state()
    completed = ci.dbt("ls", "--quiet", "--select", "state:modified", "--state", str(ci.state_dir),
                       "--output", "json", "--output-keys", "unique_id", "resource_type", "original_file_path")
    if completed.returncode != 0:
        raise StepFailed(f"dbt ls --select state:modified failed:\n{_tail(completed)}")
    listed = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    ci.modified = {node["unique_id"]: node for node in listed}


def _why_modified(unique_id: str, new: dict[str, dict], old: dict[str, dict]) -> str:
    if unique_id.startswith("source."):
        return "source definition changed"
    if unique_id not in old:
        return "new"
    if unique_id not in new:
        return "changed"
    before, after = old[unique_id], new[unique_id]
    if before.get("checksum") != after.get("checksum"):
        return "SQL changed"
    if before.get("contract", {}).get("checksum") != after.get("contract", {}).get("checksum"):
        return "contract changed"
    return "config or macros changed"


def step_lint(ci: Ci) -> None:
    files = sorted({f"dbt_project/{node['original_file_path']}" for node in ci.modified.values()
                    if node["resource_type"] == "model" and node["original_file_path"].endswith(".sql")})
    if not files:
        _print("    no model's SQL changed since production's state: nothing to lint")
        return
    _print(f"    sqlfluff lint of the {len(files)} model(s) changed since production's state (rules: .sqlfluff):")
    for path in files:
        _print(f"      {path}")
    completed = subprocess.run([str(BIN / "sqlfluff"), "lint", "--format", "json", "--nofail", *files],
                               cwd=PROJECT_ROOT, env=ci.environment, capture_output=True, text=True)
    try:
        reports = json.loads(completed.stdout)
    except json.JSONDecodeError:
        raise StepFailed(f"sqlfluff did not run:\n{_tail(completed)}") from None
    problems = [f"{report['filepath']}:{v.get('start_line_no', 0)}:{v.get('start_line_pos', 0)}: "
                f"{v['code']} {v['description']}"
                for report in reports for v in report["violations"]]
    if problems:
        raise StepFailed(f"{len(problems)} lint violation(s):\n" + "\n".join(f"    {p}" for p in problems))


# --- 3. unit tests ------------------------------------------------------------------------------------------

def _failures(ci: Ci, results: list[dict]) -> list[str]:
    """One line per failed node of the last dbt invocation: what, where, and dbt's message."""
    nodes = _manifest_nodes(ci.target_dir / "manifest.json")
    nodes |= json.loads((ci.target_dir / "manifest.json").read_text()).get("unit_tests", {})
    lines = []
    for result in results:
        if result["status"] not in FAILED_STATUSES:
            continue
        node = nodes.get(result["unique_id"], {})
        where = node.get("original_file_path", "")
        message = (result.get("message") or "").strip()
        lines.append(f"    {result['status'].upper()} {result['unique_id']} (dbt_project/{where})\n"
                     + "\n".join(f"      {line}" for line in message.splitlines()))
    return lines


def step_unit_tests(ci: Ci) -> None:
    changed_models = [u for u, node in ci.modified.items() if node["resource_type"] == "model"]
    if changed_models:
        # A unit test reads the column types of its model and of the model's inputs from the warehouse: the
        # changed models are created first, empty (`--empty`: their SQL with no rows, a second or two).
        completed = ci.dbt("run", "--select", "state:modified", "--empty", "--defer",
                           "--state", str(ci.state_dir))
        failed = _failures(ci, _run_results(ci))
        if completed.returncode != 0 or failed:
            raise StepFailed("creating the changed models (empty) for their unit tests failed:\n"
                             + ("\n".join(failed) or _tail(completed)))
        _print(f"    {len(changed_models)} changed model(s) created empty for the unit tests to read their columns")
    completed = ci.dbt("test", "--select", "test_type:unit")
    results = _run_results(ci)
    failed = _failures(ci, results)
    if completed.returncode != 0 or failed:
        raise StepFailed("dbt unit tests failed:\n" + ("\n".join(failed) or _tail(completed)))
    _print(f"    {len(results)} unit tests passed")


# --- 4. slim build ------------------------------------------------------------------------------------------

def step_slim_build(ci: Ci) -> None:
    new = _manifest_nodes(ci.target_dir / "manifest.json")
    old = _manifest_nodes(ci.state_manifest)
    if not ci.modified:
        _print("    nothing changed since production's state: nothing to build")
        return
    for unique_id, node in sorted(ci.modified.items()):
        if node["resource_type"] in (*BUILT_TYPES, "source"):
            _print(f"    modified: {unique_id} ({_why_modified(unique_id, new, old)}, {node['original_file_path']})")
    completed = ci.dbt("build", "--select", "state:modified+", "--defer", "--state", str(ci.state_dir),
                       "--exclude", "resource_type:unit_test")  # step 3 ran them all
    results = _run_results(ci)
    built = [r["unique_id"] for r in results if r["unique_id"].split(".")[0] in BUILT_TYPES]
    children = [u for u in built if u not in ci.modified]
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    _print(f"    built {len(built)} node(s): the modified ones and {len(children)} child(ren)"
           + (f" ({', '.join(u.split('.')[-1] for u in children)})" if children else "")
           + f"; {len(tests)} data tests; unmodified parents read from production's state (--defer)")
    failed = _failures(ci, results)
    if completed.returncode != 0 or failed:
        raise StepFailed("the slim build failed:\n" + ("\n".join(failed) or _tail(completed)))


# --- 5. published schema ------------------------------------------------------------------------------------

def step_published_schema(ci: Ci) -> None:
    from pipelines.publish.bi_file import PUBLISHED_TABLES, WAREHOUSE_SCHEMA

    if not ci.settings.bi_db.exists():
        _print(f"    no publication at {ci.settings.bi_db} to compare with: skipped")
        return
    tables = list(PUBLISHED_TABLES)
    published = read_schema(ci.settings.bi_db, tables, "main")
    candidate = read_schema(ci.warehouse_copy, tables, WAREHOUSE_SCHEMA)
    changes = compare(published, candidate)
    retired = _retired_versions(ci)
    breaking = [c for c in changes if c.is_breaking and not (c.change == "table removed" and c.table in retired)]
    for change in changes:
        if change not in breaking:
            _print(f"    {change.describe()}")
    if breaking:
        raise StepFailed(
            f"{len(breaking)} change(s) would break readers of {ci.settings.bi_db.name}:\n"
            + "\n".join(f"    {c.describe()}" for c in breaking)
            + "\n    A breaking change goes through a new model version, the previous one still published "
              "(README, \"Changing the models\").")
    _print(f"    {len(candidate)} published tables: no column removed or retyped")


def _retired_versions(ci: Ci) -> set[str]:
    """Tables of model versions whose deprecation_date has passed: they may leave the publication."""
    retired = set()
    for node in _manifest_nodes(ci.state_manifest).values():
        deprecation = node.get("deprecation_date")
        if node.get("version") is not None and deprecation and date.fromisoformat(deprecation[:10]) <= date.today():
            retired.add(node.get("alias") or node["name"])
    return retired


STEPS = [
    ("parse", "dbt parse and the Dagster code location", step_parse),
    ("lint", "SQL lint of the changed models", step_lint),
    ("unit tests", "dbt unit tests", step_unit_tests),
    ("slim build", "state:modified+ with --defer to production's state", step_slim_build),
    ("published schema", "the tables to publish against the last bi.duckdb", step_published_schema),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    ci = Ci.create(settings)
    started = time.monotonic()
    _print(f"make ci: warehouse {settings.warehouse_dir} (copied to {ci.ci_dir} for the build), "
           f"production's state {ci.settings.ci_state_dir}")
    try:
        ci.write_profile()
        for number, (name, what, step) in enumerate(STEPS, start=1):
            step_started = time.monotonic()
            _print(f"[{number}/{len(STEPS)}] {name}: {what}")
            if name == "lint":
                find_modified(ci)
            if name == "unit tests":
                ci.copy_warehouse()
            step(ci)
            _print(f"    ({time.monotonic() - step_started:.1f} s)")
    except CannotRun as problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except StepFailed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        print(f"make ci failed after {time.monotonic() - started:.1f} s", file=sys.stderr)
        return EXIT_FAILED
    _print(f"make ci passed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
