"""What `make run` shows: progress lines and warnings on the terminal, everything else in the run's log file.

(The same on a whole run: tests/test_faults.py, test_a_run_shows_progress_and_keeps_the_full_log_in_a_file.)
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from types import SimpleNamespace

from pipelines.run_console import WARNINGS_SHOWN_PER_STEP, ProgressHandler, full_stream_to


def _event(kind: str, step: str, duration_ms: float = 0) -> SimpleNamespace:
    return SimpleNamespace(event_type_value=kind, step_key=step,
                           event_specific_data=SimpleNamespace(duration_ms=duration_ms))


def _record(level: int, message: str = "", step: str | None = None, event=None) -> logging.LogRecord:
    record = logging.LogRecord("dagster", level, __file__, 0, message, None, None)
    record.dagster_meta = {"orig_message": message, "step_key": step, "dagster_event": event}
    return record


def test_a_line_per_step_that_materialized_and_per_failure_none_for_check_only_steps():
    terminal = io.StringIO()
    handler = ProgressHandler(terminal, steps_total=4)
    for event in (_event("STEP_START", "ingest_orders"), _event("ASSET_MATERIALIZATION", "ingest_orders"),
                  _event("STEP_SUCCESS", "ingest_orders", 1500), _event("STEP_SUCCESS", "raw__orders_check"),
                  _event("STEP_FAILURE", "retentio_dbt_models")):
        handler.emit(_record(logging.DEBUG, event=event))
    lines = terminal.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("  [1/4] ingest_orders") and "1.5 s" in lines[0]
    assert lines[1].startswith("  [3/4] retentio_dbt_models") and "FAILED" in lines[1]


def test_warnings_are_one_line_each_and_a_noisy_step_is_cut_short():
    terminal = io.StringIO()
    handler = ProgressHandler(terminal, steps_total=1)
    for n in range(WARNINGS_SHOWN_PER_STEP + 2):
        handler.emit(_record(logging.WARNING, f"file {n}: 1 row in JPY\nsecond line", step="ingest_orders"))
    handler.emit(_record(logging.WARNING, "Logging an `AssetObservation` instead of an `AssetCheckResult` for x"))
    handler.emit(_record(logging.DEBUG, event=_event("STEP_SUCCESS", "ingest_orders")))
    lines = terminal.getvalue().splitlines()
    assert lines == [f"warning: ingest_orders: file {n}: 1 row in JPY" for n in range(WARNINGS_SHOWN_PER_STEP)] \
        + ["warning: ingest_orders: 2 more warning(s) in the run's log"]


def test_the_full_stream_of_the_process_and_its_subprocesses_goes_to_the_log(tmp_path):
    log = tmp_path / "logs" / "run.log"
    with full_stream_to(log) as terminal:
        os.write(1, b"from python\n")  # as Dagster's own output does (pytest replaces sys.stdout)
        subprocess.run([sys.executable, "-c", "import sys; print('from dbt'); print('oops', file=sys.stderr)"])
        terminal.write("progress\n")
    assert log.read_text().splitlines() == ["from python", "from dbt", "oops"]
    os.write(1, b"after\n")  # the descriptors are back
    assert "after" not in log.read_text()
