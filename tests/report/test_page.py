"""The assembled page: tiles, sections that come and go with the tables, self-contained, deterministic."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from pipelines.report.build import build_report, metric_definitions, report_path
from pipelines.report.page import render_page
from pipelines.report.queries import load_report_data
from pipelines.report.readme_markdown import markdown_to_html, readme_section
from pipelines.report.sections import headline_tiles

CORE_SECTIONS = {"headline", "trend", "cohorts", "survival", "rfm", "value", "nps", "channels", "quarantine", "definitions"}
TABLE_SECTIONS = {"alerts", "model-fits", "backtest", "drivers", "segments", "at-risk", "feedback"}


def section_ids(html: str) -> set[str]:
    return set(re.findall(r'<section class="card" id="([^"]+)"', html))


def chart_svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.S)


class TagBalance(HTMLParser):
    """Every element opened is closed, in order (void elements aside)."""

    VOID = {"meta", "br", "img", "input", "link", "hr"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()


def test_headline_tiles_compare_the_last_complete_month_with_the_one_before(bi_file):
    data = load_report_data(bi_file)
    tiles = {t.label: t for t in headline_tiles(data.last_month, data.previous_month, "EUR")}
    assert [(t.value, t.change, t.direction, t.is_better) for t in tiles.values()] == [
        ("96.5%", "+1.5 pp", 1, True),          # CRR up: better
        ("5.0%", "−1.0 pp", -1, True),          # churn down: better
        ("25.0", "−5.0 pts", -1, False),        # NPS down: worse
        ("€25.00", "+€5.00", 1, False),         # CAC up: worse
        ("9.0×", "−1.0×", -1, False),           # CLV:CAC down: worse
    ]


def test_a_single_month_has_tiles_without_a_change(bi_file):
    data = load_report_data(bi_file)
    tiles = headline_tiles(data.last_month, None, "EUR")
    assert all(t.change == "—" and t.is_better is None for t in tiles)


def test_without_fitted_models_the_value_section_shows_historical_clv_and_no_health(bi_file):
    html = render_page(load_report_data(bi_file), "", "EUR")
    assert section_ids(html) == CORE_SECTIONS | TABLE_SECTIONS
    assert "Historical CLV (revenue to date) per purchasing customer" in html
    assert "Customer health" not in html
    for number in ("96.5%", "5.0%", "25.0", "€25.00", "9.0×"):
        assert f">{number}</div>" in html


def test_fitted_models_light_up_predicted_clv_and_health(full_bi_file):
    html = render_page(load_report_data(full_bi_file), "", "EUR")
    assert section_ids(html) == CORE_SECTIONS | TABLE_SECTIONS
    assert "Predicted CLV per purchasing customer" in html
    assert "Customer health" in html and 'id="chart-health"' in html
    assert 'id="chart-backtest"' in html
    assert html.index('id="alerts"') < html.index('id="trend"')        # alerts come first
    assert "month starting 2026-02-01" in html                         # by segment: the last complete month


def test_every_chart_is_well_formed_svg_and_the_page_is_balanced(full_bi_file):
    html = render_page(load_report_data(full_bi_file), "", "EUR")
    svgs = chart_svgs(html)
    # CRR, churn, cohorts (3), survival (2), RFM, CLV, health, NPS, channels, drivers (2), segments (2), feedback,
    # back-test, calibration
    assert len(svgs) == 19
    for svg in svgs:
        ET.fromstring(svg)
    checker = TagBalance()
    checker.feed(html)
    assert checker.errors == [] and checker.stack == []


def test_the_page_fetches_nothing(full_bi_file):
    html = render_page(load_report_data(full_bi_file), metric_definitions(), "EUR")
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert re.findall(r"<script[^>]*>", html) == ["<script>"]           # one inline script, no src
    assert not re.search(r'\b(src|href)="(?!#)', html)                  # only in-page anchors
    assert re.findall(r"https?://[^\s\"'<]+", html) == ["http://www.w3.org/2000/svg"] * len(chart_svgs(html))


def test_an_empty_quarantine_says_so(tmp_path):
    from tests.report.bi_fixture import make_bi_file

    html = render_page(load_report_data(make_bi_file(tmp_path / "bi.duckdb", quarantine=False)), "", "EUR")
    assert "Nothing was quarantined" in html


def test_definitions_come_from_the_readme():
    definitions = metric_definitions()
    assert definitions.startswith("These are the business's definitions")
    html = markdown_to_html(definitions)
    for term in ("Purchase", "CRR", "churned", "NPS", "CAC", "Historical CLV", "RFM", "Repeat purchase rate"):
        assert f"<strong>{term}</strong>" in html
    assert "<code>retention_rate_pct = (CE − CN) / CS × 100</code>" in html
    assert html.count("<ul>") == 2                                       # the periods' list is nested


def test_markdown_subset():
    markdown = "Intro `x < y` and **bold**.\n\n- one\n  continued\n  - nested\n- two"
    assert markdown_to_html(markdown) == (
        "<p>Intro <code>x &lt; y</code> and <strong>bold</strong>.</p>"
        "<ul><li>one continued<ul><li>nested</li></ul></li><li>two</li></ul>")
    assert readme_section("# T\n## A\nbody a\n## B\nbody b\n", "A") == "body a"
    assert readme_section("## B\n", "A") == ""


def test_the_same_file_gives_the_same_bytes_written_atomically(full_bi_file, tmp_path):
    output = report_path(tmp_path / "warehouse")
    first = build_report(full_bi_file, output)
    content = output.read_bytes()
    second = build_report(full_bi_file, output)
    assert output.read_bytes() == content and first.size_bytes == second.size_bytes == len(content)
    assert [p.name for p in output.parent.iterdir()] == ["retention_report.html"]   # no temporary file left
    assert b"2026-03-10 06:00:00 UTC" in content                                   # the publication's time


@pytest.mark.parametrize("currency", ["EUR", "USD"])
def test_money_is_in_the_reporting_currency(bi_file, currency):
    html = render_page(load_report_data(bi_file), "", currency)
    symbol = {"EUR": "€", "USD": "$"}[currency]
    assert f"{symbol}25.00" in html


def test_the_bottom_half_is_pictures_in_business_words(full_bi_file):
    html = render_page(load_report_data(full_bi_file), "", "EUR")
    drivers = html[html.index('id="drivers"'):html.index('id="segments"')]
    assert ("Churn fell from 54 to 49 customers in February 2026; email customers churned 9 fewer because there "
            "were fewer of them at the start") in drivers
    assert "not a model" in drivers and "the drivers the model found" not in html
    assert "<details><summary>The whole decomposition (9 rows)</summary>" in drivers
    at_risk = html[html.index('id="at-risk"'):html.index('id="feedback"')]
    assert "Why at risk" in at_risk and "only 40% likely to still be buying; detractor in the survey (3/10)" in at_risk
    assert "€60.00" in at_risk and "120" in at_risk
    feedback = html[html.index('id="feedback"'):html.index('id="model-fits"')]
    assert "Late again, twice" in feedback and "quarterly term" not in feedback      # all comments only
    assert not re.search(r"c_[0-9a-f]{20}", feedback)                               # nobody's key with a comment
    assert "fitted on 6 customers: converged" in html
