"""The report in a real browser: Debian's headless Chromium, driven by Playwright (never `playwright install`).

Checks what a person would see: the page loads offline without a console error or a request to anything
but the file itself, every chart has a size on screen, the tiles show numbers, tooltips work; and it
leaves a full-page screenshot (its path is printed; run pytest with -s to see it).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from pipelines.report.build import build_report, report_path

CHROMIUM = Path(os.environ.get("RETENTIO_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking switches Chromium tries to reach Google services, which a closed
# network refuses (and which a report viewer has no business doing anyway).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
TILE_VALUE = re.compile(r"^−?[€$£]?\d[\d,]*(\.\d+)?[%×]?$")


@pytest.fixture(scope="module")
def browser_context():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: apt-get install -y chromium chromium-driver")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_api.sync_playwright() as playwright:
        # A persistent context on a new, empty profile directory: Chromium's --user-data-dir.
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        try:
            yield context
        finally:
            context.close()


def open_report(context, html_path: Path):
    """Open the report; returns the page and what it logged and requested."""
    page = context.new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(html_path.resolve().as_uri(), wait_until="load")
    return page, problems, requests


def check_rendered(page, problems, requests, html_path: Path) -> None:
    assert problems == []
    assert requests == [html_path.resolve().as_uri()]             # nothing fetched but the file itself
    charts = page.eval_on_selector_all(
        "svg.chart", "els => els.map(e => { const r = e.getBoundingClientRect(); "
                     "return [e.id, r.width, r.height, e.querySelectorAll('rect, circle, path').length]; })")
    assert charts, "no chart on the page"
    for chart_id, width, height, marks in charts:
        assert width > 100 and height > 100 and marks > 3, chart_id
    tiles = page.eval_on_selector_all(".tile-value", "els => els.map(e => e.textContent.trim())")
    assert len(tiles) == 5 and all(TILE_VALUE.match(t) for t in tiles), tiles
    # Nothing wider than the page: charts and tables fit, or scroll inside their own box.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def check_tooltip(page) -> None:
    point = page.locator("#chart-crr circle.point").last
    point.hover()
    tooltip = page.locator("#tooltip")
    assert tooltip.is_visible()
    assert tooltip.text_content().startswith(page.locator("#chart-crr circle.point").last.get_attribute("data-tip"))


def screenshot(page, path: Path) -> Path:
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    print(f"\nretention report screenshot: {path}")
    return path


def test_the_report_renders_in_headless_chromium(browser_context, full_bi_file, tmp_path):
    built = build_report(full_bi_file, report_path(tmp_path / "warehouse"))
    page, problems, requests = open_report(browser_context, built.path)
    try:
        check_rendered(page, problems, requests, built.path)
        ids = page.eval_on_selector_all("svg.chart", "els => els.map(e => e.id)")
        assert {"chart-crr", "chart-churn", "chart-cohorts", "chart-cohort-purchases", "chart-cohort-revenue",
                "chart-rfm", "chart-clv", "chart-health", "chart-nps", "chart-channels", "chart-backtest"} == set(ids)
        check_tooltip(page)
        screenshot(page, built.path.with_suffix(".png"))
    finally:
        page.close()


def test_the_report_of_a_full_pipeline_run(browser_context, published_workspace):
    """The real thing: the report of the shared sample run, screenshot beside it in the warehouse."""
    workspace, _ = published_workspace
    built = build_report(workspace.bi_db, report_path(workspace.warehouse_dir))
    assert built.data.last_month is not None and built.data.channels.months == 12
    assert built.data.quarantine, "the dirty sample quarantines rows"
    page, problems, requests = open_report(browser_context, built.path)
    try:
        check_rendered(page, problems, requests, built.path)
        shot = screenshot(page, built.path.with_suffix(".png"))
        keep = os.environ.get("RETENTIO_REPORT_SCREENSHOT")
        if keep:       # e.g. CI keeping the picture as an artefact
            shutil.copy(shot, keep)
    finally:
        page.close()
