"""What `make run` shows while it runs: one line per step that produced something, the warnings that need the
user, and (after the run) the summary. Everything else, dbt's node-by-node log, Dagster's own messages, what
the steps print, goes to a log file under the warehouse directory, whose path the summary prints.

The full stream is redirected at the file-descriptor level: dbt runs as a subprocess and Dagster mirrors each
step's output through `tail`, so replacing `sys.stdout` alone would not catch it. The terminal keeps a
duplicate of the original descriptor, which the progress lines and warnings are written to.
`python -m pipelines.run --verbose` (`make run VERBOSE=1`) leaves the stream on the terminal, as before.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TextIO

LOGS_KEPT = 20  # the newest run logs kept in <warehouse>/logs
WARNINGS_SHOWN_PER_STEP = 3  # the rest are counted, and are in the log
# Dagster-dbt's note that a singular dbt test spanning several models is logged as an observation: about
# Dagster's bookkeeping, nothing for the user to do.
_NOT_FOR_THE_USER = ("Logging an `AssetObservation` instead of an `AssetCheckResult`",)


def run_log_path(warehouse_dir: Path, run_id: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return warehouse_dir / "logs" / f"run-{stamp}-{run_id[:8]}.log"


@contextmanager
def full_stream_to(log_path: Path | None) -> Iterator[TextIO]:
    """Within the block, this process's stdout and stderr (and its subprocesses') go to `log_path`; yields
    the terminal's stdout to write progress to. `log_path` None: nothing is redirected."""
    if log_path is None:
        yield sys.stdout
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    _remove_old_logs(log_path.parent)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    terminal = os.fdopen(os.dup(saved[1]), "w", buffering=1)
    with open(log_path, "ab", buffering=0) as log:
        try:
            for fd in (1, 2):
                os.dup2(log.fileno(), fd)
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, original in saved.items():
                os.dup2(original, fd)
                os.close(original)
            terminal.close()


def _remove_old_logs(logs_dir: Path) -> None:
    logs = sorted(logs_dir.glob("run-*.log"))
    for old in logs[: max(0, len(logs) - (LOGS_KEPT - 1))]:
        old.unlink(missing_ok=True)


class ProgressHandler(logging.Handler):
    """Turns Dagster's events into the terminal's lines: each step that materialized an asset, once it ends
    (`[ k/n] step  seconds  (elapsed)`), each failed step, and every warning, one line each. Steps that only
    ran checks count towards k without a line of their own; what their checks found is in the summary."""

    def __init__(self, stream: TextIO, steps_total: int):
        super().__init__(logging.DEBUG)
        self.stream, self.steps_total = stream, steps_total
        self.steps_done = 0
        self.started = time.monotonic()
        self._materialized: set[str] = set()
        self._warnings: dict[str | None, int] = {}  # per step

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if record.levelno == logging.WARNING:
            self._on_warning(meta.get("step_key"), (meta.get("orig_message") or record.getMessage()).strip())
        elif event is not None:
            self._on_event(event)

    def _on_warning(self, step: str | None, message: str) -> None:
        if not message or message.startswith(_NOT_FOR_THE_USER):
            return
        self._warnings[step] = self._warnings.get(step, 0) + 1
        if self._warnings[step] <= WARNINGS_SHOWN_PER_STEP:
            line = message.splitlines()[0]
            self._write(f"warning: {step}: {line}" if step else f"warning: {line}")

    def _on_event(self, event) -> None:
        kind = event.event_type_value
        if kind == "ASSET_MATERIALIZATION":
            self._materialized.add(event.step_key)
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            self.steps_done += 1
            hidden = self._warnings.get(event.step_key, 0) - WARNINGS_SHOWN_PER_STEP
            if hidden > 0:
                self._write(f"warning: {event.step_key}: {hidden} more warning(s) in the run's log")
            if kind == "STEP_FAILURE" or event.step_key in self._materialized:
                seconds = event.event_specific_data.duration_ms / 1000 if kind == "STEP_SUCCESS" else None
                self._write(self._step_line(event.step_key, seconds))

    def _step_line(self, step: str, seconds: float | None) -> str:
        width = len(str(self.steps_total))
        took = f"{seconds:6.1f} s" if seconds is not None else "  FAILED"
        elapsed = time.monotonic() - self.started
        return f"  [{self.steps_done:>{width}}/{self.steps_total}] {step:<40} {took}   ({elapsed:.0f} s)"

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


def log_file_logger():
    """The Dagster logger that writes Dagster's messages (what the steps log, each failure with its error, the
    warnings) to stderr, which `full_stream_to` sends to the run's log file (the terminal with --verbose)."""
    from dagster import logger

    @logger(description="Dagster's messages, one line each, for the run's log file.")
    def full_log(_init_context) -> logging.Logger:
        log = logging.Logger("retentio.run.log", logging.INFO)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        return log

    return full_log


def console_logger(stream: TextIO, steps_total: int):
    """The Dagster logger that writes `ProgressHandler`'s lines to `stream`."""
    from dagster import logger

    @logger(description="Progress and warnings for the terminal, one line each.")
    def terminal(_init_context) -> logging.Logger:
        log = logging.Logger("retentio.run", logging.DEBUG)
        log.addHandler(ProgressHandler(stream, steps_total))
        return log

    return terminal
