"""SVG charts as pure functions: valid XML, one mark per value, titles, axes and labels."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pipelines.report import charts
from pipelines.report.charts import BLUES, BarGroup, GridCell, HeatCell, LineSeries

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)      # raises on anything that is not well-formed XML
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") and root.get("role") == "img"
    return root


def marks(root: ET.Element, tag: str, css_class: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if e.get("class") == css_class]


def texts(root: ET.Element) -> list[str]:
    return [e.text for e in root.iter(f"{SVG}text")]


def test_line_chart_has_a_point_per_value_and_breaks_at_a_gap():
    svg = charts.line_chart("c", "Retention", ["Jan", "Feb", "Mar", "Apr", "May"],
                            [LineSeries("CRR", [97.0, 98.0, None, 96.5, 97.2], charts.BLUE, lambda v: f"{v}%")],
                            "CRR (%)", lambda v: f"{v:g}%")
    root = parse(svg)
    points = marks(root, "circle", "point")
    assert len(points) == 4
    assert points[0].get("data-tip") == "Jan · CRR: 97.0%"
    assert len(list(root.iter(f"{SVG}path"))) == 2        # the missing March splits the line in two
    labels = texts(root)
    assert "Retention" in labels and "CRR (%)" in labels and "Month" in labels
    assert {"Jan", "May"} <= set(labels)
    assert root.find(f"{SVG}desc").text.startswith("Retention: CRR latest 97.2%")


def test_line_chart_with_two_series_has_a_legend():
    root = parse(charts.line_chart("c", "T", ["a", "b"], [
        LineSeries("CRR", [1.0, 2.0], charts.BLUE, str), LineSeries("Churn", [3.0, 4.0], charts.VERMILLION, str)],
        "%", str))
    assert len(marks(root, "circle", "point")) == 4
    assert {"CRR", "Churn"} <= set(texts(root))


def test_bar_line_chart_draws_a_bar_and_a_point_per_month():
    root = parse(charts.bar_line_chart("n", "NPS", ["a", "b", "c"], [10.0, 20.0, 30.0], "Responses", str,
                                       [-5.0, None, 40.0], "NPS", str))
    assert len(marks(root, "rect", "bar")) == 3
    assert len(marks(root, "circle", "point")) == 2
    assert {"NPS", "Responses"} <= set(texts(root))


def test_histogram_has_one_bar_per_bin():
    root = parse(charts.histogram("h", "CLV", ["€0", "€100", "€200"], [5, 3, 1], "CLV (EUR)", "Customers", str,
                                  tips=["a", "b", "c"]))
    bars = marks(root, "rect", "bar")
    assert [b.get("data-tip") for b in bars] == ["a", "b", "c"]
    heights = [float(b.get("height")) for b in bars]
    assert heights[0] > heights[1] > heights[2] > 0


def test_heatmap_has_a_cell_per_value_with_its_label():
    cells = [HeatCell(r, c, 100.0 - 10 * (r + c), f"{100 - 10 * (r + c)}", f"tip {r} {c}")
             for r in range(3) for c in range(3 - r)]
    root = parse(charts.heatmap("m", "Cohorts", ["Jan", "Feb", "Mar"], ["0", "1", "2"], cells, "Months since",
                                "Cohort"))
    assert len(marks(root, "rect", "cell")) == 6
    assert [t.text for t in marks(root, "text", "cell-label")] == ["100", "90", "80", "90", "80", "80"]
    assert {"Cohorts", "Months since", "Cohort", "Jan", "0%", "100%"} <= set(texts(root))


def test_rfm_grid_has_25_cells_and_names_each_segment_once():
    segment = {(r, f): ("Champions" if r >= 4 and f >= 4 else "Lost" if r == 1 and f == 1 else "Others")
               for r in range(1, 6) for f in range(1, 6)}
    cells = [GridCell(r, f, s, r * f, f"R{r}F{f}") for (r, f), s in segment.items()]
    root = parse(charts.rfm_grid("r", "RFM", cells, str))
    assert len(marks(root, "rect", "cell")) == 25
    names = [t.text for t in marks(root, "text", "segment-name")]
    assert sorted(names) == ["Champions", "Lost", "Others"]


def test_grouped_bar_chart_skips_missing_values():
    groups = [BarGroup("paid search", [30.0, 200.0], note="6.7×"), BarGroup("organic", [None, 1000.0], note="—")]
    root = parse(charts.grouped_bar_chart("g", "CAC vs CLV", groups, ["CAC", "CLV"], [charts.VERMILLION, charts.BLUE],
                                          str, str, "EUR per customer"))
    assert len(marks(root, "rect", "bar")) == 3
    assert {"6.7×", "no data", "EUR per customer", "CAC", "CLV"} <= set(texts(root))


def test_same_input_same_bytes():
    def draw():
        return charts.line_chart("c", "T", ["a", "b", "c"], [LineSeries("s", [1 / 3, 2 / 3, 1.0], "#000", str)],
                                 "y", str)
    assert draw() == draw()
    root = parse(draw())
    coordinates = [c.get(a) for c in marks(root, "circle", "point") for a in ("cx", "cy")]
    assert all(len(c.partition(".")[2]) <= 1 for c in coordinates)     # rounded to one decimal


@pytest.mark.parametrize(("low", "high", "expected"), [
    (0, 97.9, [0, 20, 40, 60, 80, 100]),
    (96.9, 100, [96, 97, 98, 99, 100]),
    (-42.9, 43.0, [-50, -25, 0, 25, 50]),
])
def test_nice_ticks_cover_the_range_with_round_steps(low, high, expected):
    assert charts.nice_ticks(low, high, 4 if low < 0 else 5) == expected


def test_colours_and_text_contrast():
    assert charts.sequential_color(0) == BLUES[0]
    assert charts.sequential_color(100) == BLUES[-1]
    assert charts.sequential_color(150) == BLUES[-1]
    assert charts.readable_text_color(BLUES[0]) == charts.INK
    assert charts.readable_text_color(BLUES[-1]) == "#ffffff"


def test_sparkline():
    assert charts.sparkline([1, 2, None, 8]) == "▁▂ █"
    assert charts.sparkline([5, 5]) == "▁▁"
    assert charts.sparkline([None]) == ""


def test_contribution_chart_stacks_mix_and_rate_away_from_zero_with_a_tick_at_their_sum():
    rows = [charts.Contribution("channel: paid search", 1.0, 12.0), charts.Contribution("country: FR", 3.0, -10.0),
            charts.Contribution("country: DE", 0.0, 5.0)]
    root = parse(charts.contribution_chart("c", "Contributions", rows, lambda v: f"{v:+g}", lambda v: f"{v:g}",
                                           "Churned customers"))
    bars = marks(root, "rect", "bar")
    assert len(bars) == 5                                          # a zero effect draws no bar
    mix_fr, rate_fr = bars[2], bars[3]       # a rise right of zero, a fall left of it
    assert float(rate_fr.get("x")) + float(rate_fr.get("width")) <= float(mix_fr.get("x")) + 0.1
    nets = [float(line.get("x1")) for line in root.iter(f"{SVG}line") if line.get("class") == "net"]
    assert len(nets) == 3 and nets[0] > nets[2] > nets[1]          # +13 > +5 > −7
    assert {"+13", "-7", "+5"} <= set(texts(root))


def test_small_trend_highlights_the_latest_month():
    root = parse(charts.small_trend("s", "FR", ["Jan", "Feb", "Mar"], [90.0, None, 92.5], lambda v: f"{v}%",
                                    "92.5%", "400 at start", 80.0, 100.0))
    latest = [c for c in root.iter(f"{SVG}circle") if "latest" in (c.get("class") or "")]
    assert len(latest) == 1 and latest[0].get("data-tip") == "FR · Mar: 92.5%"
    assert "92.5%" in texts(root) and "400 at start" in texts(root)


def test_term_bars_put_one_side_left_and_the_other_right_of_the_centre():
    left = [charts.TermBar("late", 4.0, "12 comments", "late tip"), charts.TermBar("refund", 2.0, "8 comments", "")]
    right = [charts.TermBar("fast", 5.0, "20 comments", "fast tip")]
    root = parse(charts.term_bars("t", "Terms", left, right, "Detractors", "Promoters", "z", width=1000))
    bars = marks(root, "rect", "bar")
    assert [b.get("data-tip") for b in bars] == ["late tip", "", "fast tip"]
    assert all(float(b.get("x")) + float(b.get("width")) <= 500.1 for b in bars[:2])
    assert float(bars[2].get("x")) == 500
    assert [t.text for t in marks(root, "text", "term")] == ["late", "refund", "fast"]
