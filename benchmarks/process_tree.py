"""Wall time and resident memory of a process and all its descendants, sampled from /proc (Linux).

The RSS of a tree is the sum of its processes' RSS (dbt runs as a subprocess of the Dagster process,
DuckDB threads are inside their process). Pages shared between processes (libraries) are counted once
per process, so the sum slightly overstates what the tree costs the machine: conservative for a budget.
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
MB = 1 << 20


def _process_table() -> tuple[dict[int, list[int]], dict[int, float]]:
    """Children of every process, and each process's CPU seconds (its own plus its reaped children's)."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue  # gone since the listing
        # The command name is in parentheses and may hold spaces: the fields after the last ')' are
        # state, ppid, ... utime (12th), stime, cutime, cstime.
        fields = stat[stat.rindex(b")") + 2 :].split()
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        cpu[pid] = sum(int(f) for f in fields[11:15]) / TICKS
    return children, cpu


def tree_pids(root: int, children: dict[int, list[int]] | None = None) -> list[int]:
    children = children if children is not None else _process_table()[0]
    pids, stack = [], [root]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(children.get(pid, ()))
    return pids


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


@dataclass
class Sample:
    at: float  # time.time(), comparable with Dagster's event timestamps
    rss_bytes: int  # the whole tree
    processes: int
    cpu_seconds: float  # user + system so far, the whole tree (finished children included once reaped)


@dataclass
class TreeRun:
    """A finished command: exit code, wall time, the RSS samples of its tree and their peak."""

    returncode: int
    started_at: float
    seconds: float
    cpu_seconds: float  # user + system of the whole tree, from the kernel's accounting of waited-for children
    samples: list[Sample] = field(default_factory=list)
    killed_for_memory: bool = False

    @property
    def peak_rss_mb(self) -> float:
        return max((s.rss_bytes for s in self.samples), default=0) / MB

    def peak_between(self, start: float, end: float) -> float | None:
        inside = [s.rss_bytes for s in self.samples if start <= s.at <= end]
        return max(inside) / MB if inside else None

    def rss_at(self, moment: float) -> float | None:
        before = [s for s in self.samples if s.at <= moment]
        return before[-1].rss_bytes / MB if before else None

    def cpu_at(self, moment: float) -> float:
        before = [s for s in self.samples if s.at <= moment]
        return before[-1].cpu_seconds if before else 0.0

    def cpu_between(self, start: float, end: float) -> float:
        """CPU seconds the tree used between two moments (to the sampling interval)."""
        return self.cpu_at(end) - self.cpu_at(start)


def run_measured(
    command: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    stdout: Path,
    stderr: Path,
    interval: float = 0.2,
    max_rss_mb: float | None = None,
) -> TreeRun:
    """Run `command`, sampling its process tree's RSS every `interval` s; kill it beyond `max_rss_mb`."""
    samples: list[Sample] = []
    killed = threading.Event()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        started_at, started = time.time(), time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True)

        def sample() -> None:
            while process.poll() is None:
                children, cpu = _process_table()
                pids = tree_pids(process.pid, children)
                total = sum(rss_bytes(pid) for pid in pids)
                samples.append(Sample(time.time(), total, len(pids), sum(cpu.get(pid, 0.0) for pid in pids)))
                if max_rss_mb is not None and total > max_rss_mb * MB and not killed.is_set():
                    killed.set()
                    os.killpg(process.pid, 9)  # its own session: the tree, nothing else
                time.sleep(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        returncode = process.wait()
        seconds = time.perf_counter() - started
        sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return TreeRun(returncode, started_at, seconds, cpu_seconds, samples, killed.is_set())
