"""The report in a real browser: Debian's headless Chromium, driven by Playwright (never `playwright install`).

Checks what a person would see at 1280 px: the page loads offline without a console error or a request to
anything but the file itself, every chart has a size on screen, nothing is wider than the page (no section,
table or chart box scrolls sideways, even with every <details> open), the tiles show numbers, tooltips work.
The report of the sample run leaves a screenshot of every section (RETENTIO_SCREENSHOT_DIR, else a temporary
directory; the paths are printed: run pytest with -s) and, with RETENTIO_UPDATE_SCREENSHOT=1, rewrites the
README's picture of the top of the report, docs/report.png.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from pipelines.report.build import build_report, report_path
from pipelines.settings import PROJECT_ROOT

CHROMIUM = Path(os.environ.get("RETENTIO_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking switches Chromium tries to reach Google services, which a closed
# network refuses (and which a report viewer has no business doing anyway).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
TILE_VALUE = re.compile(r"^−?[€$£]?\d[\d,]*(\.\d+)?[%×]?$")
VIEWPORT_WIDTH = 1280
README_SCREENSHOT = PROJECT_ROOT / "docs" / "report.png"
README_SCREENSHOT_HEIGHT = 760         # the header and the headline tiles, and the top of the trend charts
README_SCREENSHOT_MAX_BYTES = 300_000


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
            viewport={"width": VIEWPORT_WIDTH, "height": 900}, device_scale_factor=1)
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
                     "return [e.id, r.width, r.height, e.querySelectorAll('rect, circle, path').length, "
                     "e.classList.contains('small-multiple')]; })")
    assert charts, "no chart on the page"
    for chart_id, width, height, marks, is_small in charts:
        assert width > 100 and height > (60 if is_small else 100) and marks > 3, chart_id
    tiles = page.eval_on_selector_all(".tile-value", "els => els.map(e => e.textContent.trim())")
    assert len(tiles) == 5 and all(TILE_VALUE.match(t) for t in tiles), tiles
    check_no_horizontal_overflow(page)


def check_no_horizontal_overflow(page) -> None:
    """Nothing wider than the 1280-px page, no section, table or chart box scrolling sideways: neither as
    the page opens nor with every <details> open."""
    overflowing = """() => [...document.querySelectorAll('section.card, .table-wrap, .scroll-x')]
        .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth)
        .map(e => `${e.closest('section').id}: ${e.className} ${e.scrollWidth} > ${e.clientWidth}`)"""
    for state in ("as it opens", "every details open"):
        if state == "every details open":
            page.evaluate("document.querySelectorAll('details').forEach(d => { d.dataset.wasOpen = d.open; "
                          "d.open = true; })")
        assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT_WIDTH, state
        assert page.evaluate(overflowing) == [], state
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = d.dataset.wasOpen === 'true'; })")


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


def screenshot_sections(page, directory: Path) -> list[Path]:
    """One PNG per section of the report, as it opens (the pictures to look at before resolving)."""
    directory.mkdir(parents=True, exist_ok=True)
    shots = []
    for anchor in page.eval_on_selector_all("section.card", "els => els.map(e => e.id)"):
        shot = directory / f"{len(shots) + 1:02d}-{anchor}.png"
        page.locator(f"section#{anchor}").screenshot(path=str(shot))
        assert shot.stat().st_size > 2_000, anchor
        shots.append(shot)
    print(f"\n{len(shots)} section screenshots in {directory}")
    return shots


def test_the_report_renders_in_headless_chromium(browser_context, full_bi_file, tmp_path):
    built = build_report(full_bi_file, report_path(tmp_path / "warehouse"))
    page, problems, requests = open_report(browser_context, built.path)
    try:
        check_rendered(page, problems, requests, built.path)
        ids = page.eval_on_selector_all("svg.chart", "els => els.map(e => e.id)")
        assert {"chart-crr", "chart-churn", "chart-cohorts", "chart-cohort-purchases", "chart-cohort-revenue",
                "chart-rfm", "chart-clv", "chart-health", "chart-nps", "chart-channels", "chart-backtest",
                "chart-drivers-churn", "chart-drivers-crr", "chart-segment-country-fr", "chart-segment-country-de",
                "chart-feedback", "chart-survival-lapse", "chart-survival-second-purchase", "chart-calibration"} == set(ids)
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
        sections = screenshot_sections(page, Path(os.environ.get("RETENTIO_SCREENSHOT_DIR")
                                                  or built.path.parent / "sections"))
        assert {"survival", "drivers", "segments", "at-risk", "feedback", "model-fits"} <= {s.stem[3:] for s in sections}
        check_rendered(page, problems, requests, built.path)
        ids = page.eval_on_selector_all("svg.chart", "els => els.map(e => e.id)")
        assert {"chart-drivers-churn", "chart-drivers-crr", "chart-feedback", "chart-backtest", "chart-survival-lapse",
                "chart-survival-second-purchase", "chart-calibration"} <= set(ids)
        assert sum(i.startswith("chart-segment-") for i in ids) >= 8          # a small chart per segment
        shot = screenshot(page, built.path.with_suffix(".png"))
        keep = os.environ.get("RETENTIO_REPORT_SCREENSHOT")
        if keep:       # e.g. CI keeping the picture as an artefact
            shutil.copy(shot, keep)
        if os.environ.get("RETENTIO_UPDATE_SCREENSHOT") == "1":
            update_readme_screenshot(page)
    finally:
        page.close()


def update_readme_screenshot(page, path: Path = README_SCREENSHOT) -> None:
    """The top of the report of the sample run, the README's picture: small enough to commit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": VIEWPORT_WIDTH,
                                          "height": README_SCREENSHOT_HEIGHT})
    assert path.stat().st_size < README_SCREENSHOT_MAX_BYTES, path.stat().st_size
    print(f"\nREADME screenshot updated: {path} ({path.stat().st_size:,} bytes)")
