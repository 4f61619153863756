"""Build the report: read the BI file, render the page, write it atomically beside the BI file.

`build_report` is what the Dagster asset calls and what tests call directly; it needs no Dagster.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from pipelines.report.page import render_page
from pipelines.report.queries import ReportData, load_report_data
from pipelines.report.readme_markdown import readme_section
from pipelines.settings import PROJECT_ROOT

REPORT_DIR_NAME = "report"
REPORT_FILE_NAME = "retention_report.html"
README_PATH = PROJECT_ROOT / "README.md"


@dataclass(frozen=True)
class BuiltReport:
    path: Path
    data: ReportData
    size_bytes: int


def report_path(warehouse_dir: Path) -> Path:
    """Where the report of a warehouse goes: RETENTIO_WAREHOUSE_DIR/report/retention_report.html."""
    return warehouse_dir / REPORT_DIR_NAME / REPORT_FILE_NAME


def metric_definitions(readme_path: Path = README_PATH) -> str:
    """The README's "Metric definitions" section (Markdown), the one place the definitions are written."""
    try:
        return readme_section(readme_path.read_text(encoding="utf-8"), "Metric definitions")
    except FileNotFoundError:
        return ""


def write_atomically(path: Path, content: bytes) -> None:
    """Write beside the target, flush to disk, rename over it: a reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def build_report(bi_path: Path, output_path: Path, currency: str = "EUR",
                 definitions_markdown: str | None = None) -> BuiltReport:
    """Read `bi_path`, render the report and write it to `output_path`; returns the data it showed."""
    data = load_report_data(bi_path)
    definitions = metric_definitions() if definitions_markdown is None else definitions_markdown
    content = render_page(data, definitions, currency).encode("utf-8")
    write_atomically(output_path, content)
    return BuiltReport(output_path, data, len(content))
