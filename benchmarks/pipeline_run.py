"""One full pipeline run on one tier, as `make run` does it, measured.

`python -m pipelines.run` (through launch_pipeline.py's stopwatches) in its own process with a fresh
warehouse directory and its own DAGSTER_HOME, so that the run's step events can be read back from the
instance's event log afterwards: STEP_START / STEP_SUCCESS per step key give the stage times, the RSS
samples of the process tree taken meanwhile are attributed to the step running at the time, and
dagster-dbt's run_results.json give the time of each dbt model and test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from benchmarks.process_tree import TreeRun, run_measured

LAUNCHER = Path(__file__).with_name("launch_pipeline.py")
STAGES = ("startup", "ingest", "checks", "dbt", "models", "publish", "other", "summary")
END_EVENTS = {"STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED", "STEP_UP_FOR_RETRY"}


def stage_of(step_key: str) -> str:
    """ingest | checks | dbt | models | publish | other, from the step key."""
    if step_key.startswith("ingest_"):
        return "ingest"
    if step_key.startswith("retentio_dbt_models"):
        return "dbt"
    if step_key == "customer_clv_models":
        return "models"
    if step_key.startswith("bi__") or "publish" in step_key:
        return "publish"
    if any(
        word in step_key
        for word in (
            "great_expectations",
            "every_row_loaded",
            "no_file_mostly_rejected",
            "_check",
            "expectations",
        )
    ):
        return "checks"
    return "other"


@dataclass
class Step:
    key: str
    stage: str
    start: float
    end: float
    status: str
    peak_rss_mb: float | None = None
    rss_at_start_mb: float | None = None
    cpu_seconds: float | None = None

    @property
    def seconds(self) -> float:
        return self.end - self.start


def prepare_manifest(code_root: Path, python: Path) -> None:
    """What `make prepare` does for dbt: parse the project when the manifest is older than its sources."""
    project = code_root / "dbt_project"
    manifest = project / "target" / "manifest.json"
    sources = [
        p
        for folder in ("models", "macros", "seeds", "tests")
        for p in (project / folder).rglob("*")
        if p.is_file()
    ]
    sources += [project / "dbt_project.yml", project / "profiles.yml"]
    if manifest.exists() and all(p.stat().st_mtime <= manifest.stat().st_mtime for p in sources):
        return
    dbt = python.parent / "dbt"
    subprocess.run(
        [str(dbt), "parse", "--quiet", "--profiles-dir", "."],
        cwd=project,
        check=True,
        env=_base_environment(python),
    )
    manifest.touch()


def _base_environment(python: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"  # dagster-dbt finds dbt beside python
    env.update(
        {
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "GX_ANALYTICS_ENABLED": "false",
            "DAGSTER_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
            "TQDM_DISABLE": "1",
        }
    )
    return env


def run_pipeline(
    code_root: Path,
    landing_dir: Path,
    run_dir: Path,
    python: Path,
    *,
    settings: dict[str, str],
    interval: float = 0.2,
    parse_with_run_environment: bool = False,
    dbt_preparse: bool = False,
    fresh_warehouse: bool = True,
) -> dict:
    """Run the whole pipeline once into run_dir/warehouse (removed first, unless fresh_warehouse is False:
    the next day's run of a warehouse); return the measurements.

    parse_with_run_environment: run `dbt parse` first (untimed) with the run's environment, as `make prepare`
    does with its own directories (for snapshots; the working tree's manifest is left to `make`).
    dbt_preparse (an experiment, not what `make run` does): the same, with the run's --vars and --target as
    well, so that both dbt invocations can use partial parsing.
    """
    warehouse, dagster_home = run_dir / "warehouse", run_dir / "dagster_home"
    for stale in (warehouse, dagster_home) if fresh_warehouse else (dagster_home,):
        shutil.rmtree(stale, ignore_errors=True)
    dagster_home.mkdir(parents=True)
    shutil.copy(code_root / "dagster.yaml", dagster_home / "dagster.yaml")
    timings = run_dir / "probes.jsonl"
    timings.unlink(missing_ok=True)
    env = (
        _base_environment(python)
        | settings
        | {
            "RETENTIO_LANDING_DIR": str(landing_dir),
            "RETENTIO_WAREHOUSE_DIR": str(warehouse),
            "DAGSTER_HOME": str(dagster_home),
            "RETENTIO_BENCH_TIMINGS": str(timings),
        }
    )
    if parse_with_run_environment or dbt_preparse:
        # What `make prepare` does before `make run` (untimed, as it is skipped while nothing changed),
        # with this run's directories, so that dbt's profile and sources render as in the run.
        prepare = code_root / "pipelines" / "transform" / "prepare.py"
        if prepare.exists():
            subprocess.run([str(python), "-m", "pipelines.transform.prepare"], cwd=code_root, env=env, check=True)
        else:  # a snapshot from before prepare.py existed
            parse = [str(python.parent / "dbt"), "parse", "--quiet", "--profiles-dir", "."]
            if dbt_preparse:
                dbt_vars = {"activity_window_days": int(settings["RETENTIO_ACTIVITY_WINDOW_DAYS"])}
                if settings.get("RETENTIO_AS_OF_DATE"):
                    dbt_vars["as_of_date"] = settings["RETENTIO_AS_OF_DATE"]
                parse += ["--vars", json.dumps(dbt_vars), "--target", env.get("RETENTIO_DBT_TARGET") or "duckdb"]
            subprocess.run(parse, cwd=code_root / "dbt_project", env=env, check=True)
    tree = run_measured(
        [str(python), str(LAUNCHER)],
        cwd=code_root,
        env=env,
        stdout=run_dir / "pipeline.stdout",
        stderr=run_dir / "pipeline.stderr",
        interval=interval,
    )
    stdout = (run_dir / "pipeline.stdout").read_text(errors="replace")
    run_id = _run_id(stdout + (run_dir / "pipeline.stderr").read_text(errors="replace"))
    steps = step_windows(python, dagster_home, run_id) if run_id else []
    for step in steps:
        step.peak_rss_mb = tree.peak_between(step.start, step.end)
        step.rss_at_start_mb = tree.rss_at(step.start)
        step.cpu_seconds = tree.cpu_between(step.start, step.end)
    dbt = [dbt_results(code_root, step, run_id, run_dir) for step in steps if step.stage == "dbt"]
    return {
        "run_id": run_id,
        "succeeded": tree.returncode == 0,
        "returncode": tree.returncode,
        "end_to_end_seconds": tree.seconds,
        "cpu_seconds": tree.cpu_seconds,
        "peak_rss_mb": tree.peak_rss_mb,
        "stages": stage_summary(tree, steps),
        "steps": [step.__dict__ | {"seconds": step.seconds} for step in steps],
        "probes": probe_summary(timings),
        "dbt": [d for d in dbt if d],
        "rss_samples": [
            (round(s.at - tree.started_at, 2), round(s.rss_bytes / (1 << 20), 1)) for s in tree.samples
        ],
        "warehouse_dir": str(warehouse),
        "tail": stdout.splitlines()[-3:],
    }


def _run_id(text: str) -> str | None:
    found = re.findall(r"Run ([0-9a-f]{8}-[0-9a-f-]{27}) (?:succeeded|FAILED)", text)
    return found[-1] if found else None


def step_windows(python: Path, dagster_home: Path, run_id: str) -> list[Step]:
    """Each step's start and end from the run's event log (read in a separate process: Dagster is heavy)."""
    reader = (
        "import json, sys\n"
        "from dagster import DagsterInstance\n"
        "instance = DagsterInstance.from_config(sys.argv[1])\n"
        "events = [(e.timestamp, e.dagster_event.event_type_value, e.step_key)\n"
        "          for e in instance.all_logs(sys.argv[2]) if e.dagster_event is not None and e.step_key]\n"
        "print(json.dumps(events))\n"
    )
    out = subprocess.run(
        [str(python), "-c", reader, str(dagster_home), run_id],
        check=True,
        capture_output=True,
        text=True,
        env=_base_environment(python) | {"DAGSTER_HOME": str(dagster_home)},
    )
    starts: dict[str, float] = {}
    steps = []
    for at, kind, key in json.loads(out.stdout):
        if kind == "STEP_START":
            starts[key] = at
        elif kind in END_EVENTS and key in starts:
            steps.append(Step(key, stage_of(key), starts.pop(key), at, kind.removeprefix("STEP_").lower()))
    return sorted(steps, key=lambda s: s.start)


def stage_summary(tree: TreeRun, steps: list[Step]) -> dict[str, dict]:
    """Seconds and peak RSS per stage; `startup` is before the first step, `summary` after the last."""
    stages: dict[str, dict] = {
        name: {"seconds": 0.0, "cpu_seconds": 0.0, "peak_rss_mb": None, "steps": 0} for name in STAGES
    }

    def add(name: str, start: float, end: float) -> None:
        stage = stages[name]
        stage["seconds"] += end - start
        stage["cpu_seconds"] += tree.cpu_between(start, end)
        stage["steps"] += 1
        peak = tree.peak_between(start, end)
        if peak is not None:
            stage["peak_rss_mb"] = max(stage["peak_rss_mb"] or 0.0, peak)

    for step in steps:
        add(step.stage, step.start, step.end)
    end = tree.started_at + tree.seconds
    if steps:
        add("startup", tree.started_at, steps[0].start)
        add("summary", max(step.end for step in steps), end)
    return {name: value for name, value in stages.items() if value["steps"]}


def probe_summary(path: Path) -> dict:
    """Total seconds per probe label (and per extract for the ingestion's)."""
    totals: dict[str, float] = defaultdict(float)
    by_extract: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    missing = []
    if path.exists():
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["label"] == "probe missing":
                missing.append(record["function"])
                continue
            totals[record["label"]] += record["seconds"]
            if record.get("extract"):
                by_extract[record["extract"]][record["label"]] += record["seconds"]
    return {
        "totals": dict(totals),
        "by_extract": {k: dict(v) for k, v in by_extract.items()},
        "missing": missing,
    }


def dbt_results(code_root: Path, step: Step, run_id: str, run_dir: Path) -> dict | None:
    """The step's dbt invocation: its phases (dbt.log) and each model's and test's time (run_results.json)."""
    targets = sorted(
        (code_root / "dbt_project" / "target").glob(f"{step.key}-{run_id[:7]}-*/run_results.json")
    )
    if not targets:
        return None
    kept = run_dir / "dbt" / step.key / "run_results.json"
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(targets[-1], kept)
    if (targets[-1].parent / "dbt.log").exists():
        shutil.copy(targets[-1].parent / "dbt.log", kept.with_name("dbt.log"))
    results = json.loads(kept.read_text())
    nodes = []
    for result in results["results"]:
        unique_id = result["unique_id"]
        nodes.append(
            {
                "node": unique_id.split(".", 2)[-1],
                "type": unique_id.split(".")[0],
                "seconds": result["execution_time"],
                "status": result["status"],
            }
        )
    by_type: dict[str, float] = defaultdict(float)
    for node in nodes:
        by_type[node["type"]] += node["seconds"]
    return {
        "step": step.key,
        "elapsed_seconds": results.get("elapsed_time"),
        "seconds_by_type": dict(by_type),
        "phases": dbt_phases(kept.with_name("dbt.log"), step),
        "nodes": sorted(nodes, key=lambda n: -n["seconds"]),
        "run_results": str(kept),
    }


def dbt_phases(log: Path, step: Step) -> dict:
    """Where a dbt step's time goes, from dbt.log's timestamps: starting the dbt process (Python imports),
    parsing the project (whether partial parsing was possible, and why not), running the nodes, and what
    is left of the step (dagster-dbt turning dbt's events into Dagster's)."""
    if not log.exists():
        return {}
    first = found = first_node = last_node = last = None
    reasons = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            info = json.loads(line)["info"]
        except (ValueError, KeyError):
            continue
        at = datetime.fromisoformat(info["ts"].replace("Z", "+00:00")).timestamp()
        first = first or at
        last = at
        if info["name"] == "FoundStats":
            found = at
        elif info["name"] == "UnableToPartialParse":
            reasons.append(info["msg"])
        elif info["name"] == "NodeStart" and first_node is None:
            first_node = at
        elif info["name"] == "NodeFinished":
            last_node = at
    if first is None:
        return {}
    return {
        "until_dbt_started": first - step.start,
        "parse": (found or first) - first,
        "partial_parse": not reasons,
        "why_no_partial_parse": reasons,
        "before_first_node": (first_node or found or first) - (found or first),
        "nodes": (last_node or first) - (first_node or first),
        "after_last_node": step.end - (last_node or last),
    }


def snapshot(repo_root: Path, revision: str, work_dir: Path, python: Path, variant: str = "") -> Path:
    """`git archive REVISION` into work_dir/code/<sha>[-variant] (once), with its dbt manifest prepared.

    An experiment gets its own copy (`variant`), so what it leaves in dbt's target directory cannot make
    a later plain run faster than `make run` would be.
    """
    sha = subprocess.run(
        ["git", "rev-parse", revision], cwd=repo_root, check=True, capture_output=True, text=True
    ).stdout.strip()
    target = work_dir / "code" / (sha[:12] + (f"-{variant}" if variant else ""))
    if not (target / ".complete").exists():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", sha], cwd=repo_root, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        prepare_manifest(target, python)
        (target / ".complete").write_text(sha)
    return target


def code_description(code_root: Path, repo_root: Path) -> dict:
    """Which code was measured: the commit, and whether the working tree had changes."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo_root, capture_output=True, text=True).stdout.strip()

    if code_root.resolve() != repo_root.resolve():
        return {
            "code": "snapshot",
            "commit": (code_root / ".complete").read_text().strip(),
            "path": str(code_root),
        }
    changed = [line[3:] for line in git("status", "--porcelain").splitlines()]
    return {
        "code": "working tree",
        "commit": git("rev-parse", "HEAD"),
        "uncommitted_changes": changed,
        "path": str(code_root),
    }


if __name__ == "__main__":  # a quick look at one run: python -m benchmarks.pipeline_run LANDING RUN_DIR
    root = Path(__file__).resolve().parent.parent
    measured = run_pipeline(
        root, Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve(), Path(sys.executable), settings={}
    )
    measured.pop("rss_samples")
    print(json.dumps(measured, indent=2, default=str))
