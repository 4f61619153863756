"""`python -m pipelines.run` as a real subprocess: start it, watch the warehouse directory for the phase it
is in, kill it there, and read back what it published.

Phases are recognised by what each one writes, not by timing:
- ingestion: a half-built parse (`cache/parsed/<extract>/.*.tmp`) or raw version (`raw/.versions/.*.tmp`);
- dbt: the warehouse DuckDB file being written (`retentio.duckdb.wal`, or the file itself changing);
- publish: the new BI file or exports being built beside the published ones (`.bi.duckdb.*.tmp`,
  `.exports-*.tmp`).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from tests.conftest import PROJECT_ROOT, SETTING_VARIABLES

LOCK_ERRORS = ("Could not set lock", "Conflicting lock", "database is locked")


@dataclass
class FinishedRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class PipelineRun:
    """One `python -m pipelines.run` in its own process group, output captured to files."""

    def __init__(self, landing: Path, warehouse: Path, log_dir: Path, name: str, preexec_fn=None, **env: str):
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stdout_path, self.stderr_path = log_dir / f"{name}.out", log_dir / f"{name}.err"
        environment = {k: v for k, v in os.environ.items() if k not in SETTING_VARIABLES and k != "DAGSTER_HOME"}
        environment |= {"RETENTIO_LANDING_DIR": str(landing), "RETENTIO_WAREHOUSE_DIR": str(warehouse),
                        "RETENTIO_AS_OF_DATE": "", "PYTHONUNBUFFERED": "1"} | env
        with self.stdout_path.open("w") as out, self.stderr_path.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pipelines.run"], cwd=PROJECT_ROOT, env=environment, stdout=out,
                stderr=err, start_new_session=True, preexec_fn=preexec_fn)
        self.orphans: dict[int, str] = {}  # pid -> command line of what a kill left running
        self._orphan_start_times: dict[int, str | None] = {}

    def wait(self, timeout: float = 300) -> FinishedRun:
        returncode = self.process.wait(timeout=timeout)
        return FinishedRun(returncode, self.stdout_path.read_text(), self.stderr_path.read_text())

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 240) -> None:
        """Poll `condition` every few milliseconds until it holds; fail if the run ends or time runs out first."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(f"the run ended (exit {self.process.returncode}) before {what}:\n"
                                     + self.stdout_path.read_text() + self.stderr_path.read_text())
            if time.monotonic() > deadline:
                raise AssertionError(f"no sign of {what} after {timeout} s")
            time.sleep(0.005)

    def kill(self) -> None:
        """SIGKILL the run's own process, as the OOM killer or `kill -9` would; its children (dbt) live on."""
        self.orphans = descendants(self.process.pid)
        self._orphan_start_times = {pid: _start_time(pid) for pid in self.orphans}
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def said(self, text: str) -> bool:
        return text in self.stdout_path.read_text()

    def orphans_alive(self) -> bool:
        return any(started is not None and _start_time(pid) == started
                   for pid, started in self._orphan_start_times.items())

    def end_orphans(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pid, started in self._orphan_start_times.items():
            # Only the very process seen at the kill: its pid may have been given to another one since.
            if started is not None and _start_time(pid) == started:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> dict[int, str]:
    """pid -> command line of every process below `pid`."""
    found, pending = {}, [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            for child in children:
                try:
                    found[child] = Path(f"/proc/{child}/cmdline").read_text().replace("\0", " ").strip()
                except OSError:
                    found[child] = "?"
            pending += children
    return found


# --- Phases ------------------------------------------------------------------------------------------


def ingesting(warehouse: Path) -> Callable[[], bool]:
    return lambda: any(warehouse.glob("cache/parsed/*/.*.tmp")) or any(warehouse.glob("raw/.versions/.*.tmp"))


def running_dbt(warehouse: Path) -> Callable[[], bool]:
    database = warehouse / "retentio.duckdb"
    before = _stat(database)
    return lambda: (warehouse / "retentio.duckdb.wal").exists() or _stat(database) != before


def publishing(warehouse: Path) -> Callable[[], bool]:
    return lambda: any(warehouse.glob(".bi.duckdb.*.tmp")) or any(warehouse.glob(".exports-*.tmp"))


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        result = path.stat()
    except FileNotFoundError:
        return None
    return result.st_size, result.st_mtime_ns


# --- What was published ------------------------------------------------------------------------------


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def published_bytes(warehouse: Path) -> dict[str, str]:
    """Digest of bi.duckdb and of every export, as a reader following the paths sees them."""
    files = [warehouse / "bi.duckdb", *sorted((warehouse / "exports").glob("*.parquet"))]
    return {str(p.relative_to(warehouse)): digest(p) for p in files}


def table_rows(bi_db: Path, table: str) -> list[tuple]:
    """A published table as a BI client reads it (read-only, which also proves the file opens)."""
    con = duckdb.connect(str(bi_db), read_only=True)
    try:
        return con.execute(f"select * from main.{table}").fetchall()
    finally:
        con.close()


def export_rows(exports: Path) -> dict[str, list[dict]]:
    """Every Parquet export, rows in file order."""
    return {p.stem: pq.read_table(p).to_pylist() for p in sorted(exports.glob("*.parquet"))}


def leftovers(warehouse: Path) -> list[Path]:
    """Half-built files and directories, and temporary symlinks, anywhere in the warehouse."""
    return sorted([*warehouse.rglob("*.tmp"), *warehouse.rglob("*.tmp.wal"), *warehouse.rglob(".*.link")])
