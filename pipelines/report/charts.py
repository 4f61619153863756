"""Charts as inline SVG strings, drawn in Python: no JavaScript library, nothing fetched when the page opens.

Each function takes plain values and returns one standalone `<svg>` element (valid XML, with its own
title, axes and labels) that the page embeds as it is, or that a Markdown image can carry as a data URI.
Marks that deserve a tooltip carry `data-tip`; the page's few lines of script show it on hover and focus.
Colours are the Okabe-Ito palette (distinguishable with every common colour-vision deficiency) and
sequential blues; every value a colour encodes is also written as text or in the tooltip.

Coordinates are rounded to one decimal so the same data always gives the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from pipelines.report.formatting import MISSING

INK = "#1f2933"
MUTED = "#52606d"
GRID = "#e4e7eb"
AXIS = "#9aa5b1"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
# Okabe & Ito (2008), "Color Universal Design".
BLUE, VERMILLION, GREEN, ORANGE, SKY, PURPLE, YELLOW = (
    "#0072B2", "#D55E00", "#009E73", "#E69F00", "#56B4E9", "#CC79A7", "#F0E442")
LIGHT_BLUE = "#b9d7ee"
# ColorBrewer "Blues" (9 classes), light to dark: a sequential ramp that prints and reads in greyscale.
BLUES = ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")

Formatter = Callable[[float], str]


def _n(value: float) -> str:
    """A coordinate: one decimal, no trailing zeros, never '-0'."""
    text = f"{round(value, 1):.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _attrs(attributes: dict) -> str:
    parts = []
    for key, value in attributes.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        text = _n(value) if isinstance(value, float) else str(value)
        parts.append(f'{name}="{escape(text, quote=True)}"')
    return " ".join(parts)


def element(tag: str, content: str | None = None, **attributes) -> str:
    """<tag a="1">content</tag>; attribute names use '_' for '-' (font_size -> font-size), trailing '_' dropped."""
    attrs = _attrs(attributes)
    opening = f"<{tag} {attrs}" if attrs else f"<{tag}"
    return f"{opening}/>" if content is None else f"{opening}>{content}</{tag}>"


def text(x: float, y: float, content: str, size: float = 12, anchor: str = "start", fill: str = INK,
         weight: str | None = None, **attributes) -> str:
    return element("text", escape(content), x=float(x), y=float(y), font_size=_n(size), text_anchor=anchor,
                   fill=fill, font_weight=weight, **attributes)


def svg_document(chart_id: str, width: int, height: int, title: str, description: str, body: Sequence[str],
                 subtitle: str | None = None) -> str:
    """The chart's frame: its title (visible and for screen readers), a description, then the marks."""
    title_lines = [text(16, 24, title, size=15, weight="600", id=f"{chart_id}-title")]
    if subtitle:
        title_lines.append(text(16, 43, subtitle, size=12, fill=MUTED))
    return element(
        "svg",
        "".join([
            element("desc", escape(description), id=f"{chart_id}-desc"),
            element("rect", x=0, y=0, width=width, height=height, fill="#ffffff"),
            *title_lines,
            *body,
        ]),
        xmlns="http://www.w3.org/2000/svg",
        id=chart_id,
        class_="chart",
        viewBox=f"0 0 {width} {height}",
        width=width,
        height=height,
        role="img",
        aria_labelledby=f"{chart_id}-title {chart_id}-desc",
        font_family=FONT,
    )


def nice_ticks(low: float, high: float, count: int = 5, integer: bool = False) -> list[float]:
    """Round tick values covering [low, high] with about `count` intervals (1, 2, 2.5, 5 × 10^k steps);
    `integer`: whole steps only (counts)."""
    if high < low:
        low, high = high, low
    if math.isclose(low, high):
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(count, 1)
    exponent = math.floor(math.log10(raw))
    mantissas = (1, 2, 5, 10) if integer and exponent <= 0 else (1, 2, 2.5, 5, 10)
    step = next(m * 10.0 ** exponent for m in mantissas if m * 10.0 ** exponent >= raw * (1 - 1e-9))
    if integer:
        step = max(1.0, step)
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    ticks = []
    value = first
    while value <= last + step * 1e-6:
        ticks.append(round(value, 10) + 0.0)
        value += step
    return ticks


@dataclass(frozen=True)
class Scale:
    """A linear map from data values to pixels."""

    domain_low: float
    domain_high: float
    range_low: float
    range_high: float

    def __call__(self, value: float) -> float:
        span = self.domain_high - self.domain_low or 1.0
        return self.range_low + (value - self.domain_low) / span * (self.range_high - self.range_low)


@dataclass(frozen=True)
class Plot:
    """The plotting area inside a chart."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


def _y_axis(plot: Plot, scale: Scale, ticks: Sequence[float], fmt: Formatter, title: str,
            side: str = "left", grid: bool = True, color: str = MUTED) -> list[str]:
    parts = []
    x = plot.left if side == "left" else plot.right
    for tick in ticks:
        y = scale(tick)
        if grid:
            parts.append(element("line", x1=float(plot.left), x2=float(plot.right), y1=y, y2=y, stroke=GRID,
                                 stroke_width=1))
        offset = -8 if side == "left" else 8
        parts.append(text(x + offset, y + 4, fmt(tick), size=11, anchor="end" if side == "left" else "start",
                          fill=color, class_="tick"))
    title_x = 18 if side == "left" else None
    if side == "left":
        cy = plot.top + plot.height / 2
        parts.append(text(title_x, cy, title, size=12, anchor="middle", fill=color, class_="axis-title",
                          transform=f"rotate(-90 {_n(title_x)} {_n(cy)})"))
    else:
        cy = plot.top + plot.height / 2
        tx = plot.right + _axis_margin(ticks, fmt) - 22
        parts.append(text(tx, cy, title, size=12, anchor="middle", fill=color, class_="axis-title",
                          transform=f"rotate(90 {_n(tx)} {_n(cy)})"))
    return parts


def _axis_margin(ticks: Sequence[float], fmt: Formatter) -> float:
    """Room for the tick labels of a vertical axis and its rotated title."""
    return 40 + max(len(fmt(t)) for t in ticks) * 11 * 0.6


def _x_axis_baseline(plot: Plot) -> str:
    return element("line", x1=float(plot.left), x2=float(plot.right), y1=float(plot.bottom), y2=float(plot.bottom),
                   stroke=AXIS, stroke_width=1)


def _label_stride(labels: Sequence[str], available_width: float, font_size: float = 11) -> int:
    """Show every n-th category label so that labels never overlap."""
    if not labels:
        return 1
    widest = max(len(label) for label in labels) * font_size * 0.62 + 14
    per_label = available_width / len(labels)
    return max(1, math.ceil(widest / per_label))


def _x_labels(plot: Plot, labels: Sequence[str], positions: Sequence[float], title: str) -> list[str]:
    stride = _label_stride(labels, plot.width)
    last = len(labels) - 1
    shown = [i for i in range(len(labels)) if (last - i) % stride == 0]  # always label the latest
    parts = [text(positions[i], plot.bottom + 18, labels[i], size=11, anchor="middle", fill=MUTED, class_="tick")
             for i in shown]
    parts.append(text(plot.left + plot.width / 2, plot.bottom + 40, title, size=12, anchor="middle", fill=MUTED,
                      class_="axis-title"))
    return parts


def _legend(x: float, y: float, items: Sequence[tuple[str, str, str]]) -> list[str]:
    """items: (label, colour, 'line' | 'box'); laid out left to right."""
    parts = []
    for label, color, kind in items:
        if kind == "line":
            parts.append(element("line", x1=float(x), x2=float(x + 18), y1=float(y - 4), y2=float(y - 4),
                                 stroke=color, stroke_width=3))
        else:
            parts.append(element("rect", x=float(x), y=float(y - 10), width=14, height=12, rx=2, fill=color))
        parts.append(text(x + 24, y, label, size=12, fill=INK))
        x += 24 + len(label) * 12 * 0.6 + 18
    return parts


@dataclass(frozen=True)
class LineSeries:
    name: str
    values: Sequence[float | None]
    color: str
    format: Formatter


def line_chart(chart_id: str, title: str, x_labels: Sequence[str], series: Sequence[LineSeries], y_title: str,
               y_format: Formatter, x_title: str = "Month", tips: Sequence[str] | None = None,
               width: int = 560, height: int = 300, subtitle: str | None = None,
               include_zero: bool = False) -> str:
    """Lines over categories (months); a missing value breaks the line. One circle per value (class 'point')."""
    present = [v for s in series for v in s.values if v is not None]
    low, high = (min(present), max(present)) if present else (0.0, 1.0)
    if include_zero:
        low, high = min(low, 0.0), max(high, 0.0)
    ticks = nice_ticks(low, high, 4)
    plot = Plot(_axis_margin(ticks, y_format), 78 if subtitle else 64, width - 20, height - 56)
    y = Scale(ticks[0], ticks[-1], plot.bottom, plot.top)
    count = len(x_labels)
    step = plot.width / max(count, 1)
    xs = [plot.left + step * (i + 0.5) for i in range(count)]
    body = _y_axis(plot, y, ticks, y_format, y_title)
    body.append(_x_axis_baseline(plot))
    body += _x_labels(plot, x_labels, xs, x_title)
    for s in series:
        segments: list[list[tuple[float, float]]] = [[]]
        for x, value in zip(xs, s.values):
            if value is None:
                segments.append([])
            else:
                segments[-1].append((x, y(value)))
        for segment in segments:
            if len(segment) > 1:
                d = "M" + " L".join(f"{_n(px)} {_n(py)}" for px, py in segment)
                body.append(element("path", d=d, fill="none", stroke=s.color, stroke_width=2.5,
                                    stroke_linejoin="round", stroke_linecap="round"))
        for i, (x, value) in enumerate(zip(xs, s.values)):
            if value is None:
                continue
            tip = f"{x_labels[i]} · {s.name}: {s.format(value)}" + (f" · {tips[i]}" if tips and tips[i] else "")
            body.append(element("circle", cx=x, cy=y(value), r=3.5, fill="#ffffff", stroke=s.color, stroke_width=2,
                                class_="point", tabindex=0, data_tip=tip))
    if len(series) > 1:
        body += _legend(plot.left, plot.top - 12, [(s.name, s.color, "line") for s in series])
    description = f"{title}: " + "; ".join(
        f"{s.name} latest {s.format(next((v for v in reversed(s.values) if v is not None), None))}"
        if any(v is not None for v in s.values) else f"{s.name} no data" for s in series)
    return svg_document(chart_id, width, height, title, description, body, subtitle)


def bar_line_chart(chart_id: str, title: str, x_labels: Sequence[str], bars: Sequence[float], bar_name: str,
                   bar_format: Formatter, line: Sequence[float | None], line_name: str, line_format: Formatter,
                   width: int = 1100, height: int = 320, x_title: str = "Month",
                   subtitle: str | None = None, line_axis_format: Formatter | None = None) -> str:
    """Bars on the right axis (e.g. NPS responses) under a line on the left axis (e.g. NPS)."""
    present = [v for v in line if v is not None]
    line_ticks = nice_ticks(min([*present, 0.0]), max([*present, 0.0]), 4)
    bar_ticks = nice_ticks(0.0, max([*bars, 1.0]), 4, integer=True)
    plot = Plot(_axis_margin(line_ticks, line_axis_format or line_format), 78 if subtitle else 64,
                width - _axis_margin(bar_ticks, bar_format), height - 56)
    y_line = Scale(line_ticks[0], line_ticks[-1], plot.bottom, plot.top)
    y_bar = Scale(bar_ticks[0], bar_ticks[-1], plot.bottom, plot.top)
    count = len(x_labels)
    step = plot.width / max(count, 1)
    xs = [plot.left + step * (i + 0.5) for i in range(count)]
    bar_width = max(2.0, step * 0.62)
    body = _y_axis(plot, y_line, line_ticks, line_axis_format or line_format, line_name, color=GREEN)
    body += _y_axis(plot, y_bar, bar_ticks, bar_format, bar_name, side="right", grid=False, color=MUTED)
    for i, (x, value) in enumerate(zip(xs, bars)):
        top = y_bar(value)
        body.append(element("rect", x=x - bar_width / 2, y=top, width=bar_width, height=max(0.0, plot.bottom - top),
                            fill=LIGHT_BLUE, class_="bar", tabindex=0,
                            data_tip=f"{x_labels[i]} · {bar_name}: {bar_format(value)}"))
    if line_ticks[0] < 0 < line_ticks[-1]:
        body.append(element("line", x1=float(plot.left), x2=float(plot.right), y1=y_line(0), y2=y_line(0),
                            stroke=AXIS, stroke_width=1, stroke_dasharray="4 3"))
    body.append(_x_axis_baseline(plot))
    body += _x_labels(plot, x_labels, xs, x_title)
    points = [(x, y_line(v)) for x, v in zip(xs, line) if v is not None]
    if len(points) > 1:
        body.append(element("path", d="M" + " L".join(f"{_n(px)} {_n(py)}" for px, py in points), fill="none",
                            stroke=GREEN, stroke_width=2.5, stroke_linejoin="round"))
    for i, (x, value) in enumerate(zip(xs, line)):
        if value is not None:
            body.append(element("circle", cx=x, cy=y_line(value), r=3.5, fill="#ffffff", stroke=GREEN, stroke_width=2,
                                class_="point", tabindex=0,
                                data_tip=f"{x_labels[i]} · {line_name}: {line_format(value)} · "
                                         f"{bar_name}: {bar_format(bars[i])}"))
    body += _legend(plot.left, plot.top - 12, [(line_name, GREEN, "line"), (bar_name, LIGHT_BLUE, "box")])
    latest = next((v for v in reversed(line) if v is not None), None)
    description = (f"{title}: {line_name} latest {line_format(latest) if latest is not None else MISSING}, "
                   f"{bar_name} latest {bar_format(bars[-1]) if bars else MISSING}")
    return svg_document(chart_id, width, height, title, description, body, subtitle)


def histogram(chart_id: str, title: str, bin_labels: Sequence[str], counts: Sequence[int], x_title: str,
              y_title: str, count_format: Formatter, tips: Sequence[str], width: int = 1100, height: int = 320,
              subtitle: str | None = None, highlight_last: bool = False) -> str:
    """Adjacent bars, one per bin (class 'bar'); the last one drawn hatched-lighter when it is an open bin."""
    ticks = nice_ticks(0.0, float(max([*counts, 1])), 4, integer=True)
    plot = Plot(_axis_margin(ticks, count_format), 70 if subtitle else 56, width - 20, height - 56)
    y = Scale(ticks[0], ticks[-1], plot.bottom, plot.top)
    step = plot.width / max(len(counts), 1)
    body = _y_axis(plot, y, ticks, count_format, y_title)
    for i, value in enumerate(counts):
        top = y(value)
        color = SKY if highlight_last and i == len(counts) - 1 else BLUE
        body.append(element("rect", x=plot.left + i * step + 1, y=top, width=max(1.0, step - 2),
                            height=max(0.0, plot.bottom - top), fill=color, class_="bar", tabindex=0,
                            data_tip=tips[i]))
    body.append(_x_axis_baseline(plot))
    # Bin edges as ticks: label the boundaries (left edge of each bar) every few bins.
    stride = _label_stride(bin_labels, plot.width)
    for i in range(0, len(bin_labels), stride):
        x = plot.left + i * step
        body.append(element("line", x1=x, x2=x, y1=float(plot.bottom), y2=float(plot.bottom + 4), stroke=AXIS))
        body.append(text(x, plot.bottom + 18, bin_labels[i], size=11, anchor="middle", fill=MUTED, class_="tick"))
    body.append(text(plot.left + plot.width / 2, plot.bottom + 40, x_title, size=12, anchor="middle", fill=MUTED,
                     class_="axis-title"))
    description = f"{title}: {len(counts)} bins, {count_format(sum(counts))} in all"
    return svg_document(chart_id, width, height, title, description, body, subtitle)


def sequential_color(value: float, low: float = 0.0, high: float = 100.0) -> str:
    """A colour on the Blues ramp, interpolated between its nine classes."""
    share = 0.0 if high == low else min(1.0, max(0.0, (value - low) / (high - low)))
    position = share * (len(BLUES) - 1)
    index = min(int(position), len(BLUES) - 2)
    fraction = position - index
    start, end = BLUES[index], BLUES[index + 1]
    channels = [round(int(start[k:k + 2], 16) + (int(end[k:k + 2], 16) - int(start[k:k + 2], 16)) * fraction)
                for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in channels)


def readable_text_color(background: str) -> str:
    """Dark text on light cells, white on dark ones (relative luminance threshold, WCAG formula)."""
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (int(background[k:k + 2], 16) for k in (1, 3, 5))
    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return INK if luminance > 0.33 else "#ffffff"


@dataclass(frozen=True)
class HeatCell:
    row: int
    column: int
    value: float | None
    label: str
    tip: str


def heatmap(chart_id: str, title: str, row_labels: Sequence[str], column_labels: Sequence[str],
            cells: Sequence[HeatCell], x_title: str, y_title: str, row_notes: Sequence[str] = (),
            row_notes_title: str = "", value_range: tuple[float, float] = (0.0, 100.0),
            legend_format: Formatter = lambda v: f"{v:.0f}%", legend_title: str = "",
            subtitle: str | None = None, fit_width: float = 1080.0, cell_height: float = 19.0) -> str:
    """A grid of coloured cells (class 'cell'), each with its value written in it; a colour legend below.

    Cells shrink to fit `fit_width` (down to 18 px, where three digits still fit); beyond that the chart
    is wider than the page and scrolls.
    """
    label_width = max([len(label) for label in row_labels] + [len(y_title)]) * 11 * 0.62 + 12
    notes_width = max([len(n) for n in row_notes] + [len(row_notes_title)]) * 11 * 0.62 + 12 if row_notes else 0
    left = 16 + label_width + notes_width
    cell_width = min(30.0, max(18.0, (fit_width - left - 16) / max(len(column_labels), 1)))
    top = 92 if subtitle else 76
    plot = Plot(left, top, left + cell_width * len(column_labels), top + cell_height * len(row_labels))
    width = math.ceil(plot.right + 16)
    height = int(plot.bottom + 70)
    body = [text(plot.left + plot.width / 2, top - 26, x_title, size=12, anchor="middle", fill=MUTED,
                 class_="axis-title")]
    for j, label in enumerate(column_labels):
        body.append(text(plot.left + cell_width * (j + 0.5), top - 6, label, size=10, anchor="middle", fill=MUTED,
                         class_="tick"))
    body.append(text(16, top - 6, y_title, size=11, fill=MUTED, class_="axis-title"))
    if row_notes:
        body.append(text(left - 8, top - 6, row_notes_title, size=11, anchor="end", fill=MUTED, class_="axis-title"))
    for i, label in enumerate(row_labels):
        cy = plot.top + cell_height * (i + 0.5) + 4
        body.append(text(16, cy, label, size=11, fill=INK, class_="tick"))
        if row_notes:
            body.append(text(left - 8, cy, row_notes[i], size=11, anchor="end", fill=MUTED, class_="tick"))
    for cell in cells:
        x = plot.left + cell_width * cell.column
        y = plot.top + cell_height * cell.row
        fill = "#f0f0f0" if cell.value is None else sequential_color(cell.value, *value_range)
        body.append(element("rect", x=x + 0.5, y=y + 0.5, width=cell_width - 1, height=cell_height - 1, fill=fill,
                            class_="cell", tabindex=0, data_tip=cell.tip))
        if cell.label:
            body.append(text(x + cell_width / 2, y + cell_height / 2 + 3.5, cell.label, size=9, anchor="middle",
                             fill=readable_text_color(fill), class_="cell-label", pointer_events="none"))
    # Colour legend: a stepped bar from the low to the high end of the range.
    legend_y = plot.bottom + 24
    steps = 10
    legend_width = 240.0
    for k in range(steps):
        value = value_range[0] + (value_range[1] - value_range[0]) * (k + 0.5) / steps
        body.append(element("rect", x=plot.left + legend_width / steps * k, y=legend_y,
                            width=legend_width / steps, height=12, fill=sequential_color(value, *value_range)))
    body.append(text(plot.left, legend_y + 28, legend_format(value_range[0]), size=11, fill=MUTED))
    body.append(text(plot.left + legend_width, legend_y + 28, legend_format(value_range[1]), size=11, anchor="end",
                     fill=MUTED))
    if legend_title:
        body.append(text(plot.left + legend_width + 14, legend_y + 11, legend_title, size=11, fill=MUTED))
    description = f"{title}: {len(row_labels)} rows by {len(column_labels)} columns"
    return svg_document(chart_id, width, height, title, description, body, subtitle)


@dataclass(frozen=True)
class GridCell:
    """One cell of the RFM grid: recency score (column) × frequency score (row)."""

    recency_score: int
    frequency_score: int
    segment: str
    customers: int
    tip: str


def rfm_grid(chart_id: str, title: str, cells: Sequence[GridCell], count_format: Formatter,
             subtitle: str | None = None, size: float = 76.0) -> str:
    """The 5 × 5 recency × frequency grid: cell shade = customers, thick lines between segments, segment names.

    Recency score runs left (1, long ago) to right (5, recent), frequency bottom (1) to top (5), so the
    best customers are top right, as in the usual RFM chart.
    """
    top = 84 if subtitle else 66
    plot = Plot(84, top, 84 + size * 5, top + size * 5)
    width, height = int(plot.right + 24), int(plot.bottom + 64)
    by_pair = {(c.recency_score, c.frequency_score): c for c in cells}
    most = max([c.customers for c in cells] or [1])

    def origin(r: int, f: int) -> tuple[float, float]:
        return plot.left + (r - 1) * size, plot.top + (5 - f) * size

    body = []
    for r in range(1, 6):
        for f in range(1, 6):
            x, y = origin(r, f)
            cell = by_pair.get((r, f))
            customers = cell.customers if cell else 0
            fill = sequential_color(customers, 0, most * 1.15) if customers else "#f5f7fa"
            body.append(element("rect", x=x, y=y, width=size, height=size, fill=fill, stroke="#ffffff",
                                stroke_width=1, class_="cell", tabindex=0,
                                data_tip=cell.tip if cell else f"R{r} F{f}: no customers"))
            body.append(text(x + size / 2, y + size / 2 + 16, count_format(customers), size=14, anchor="middle",
                             fill=readable_text_color(fill), weight="600", pointer_events="none"))
    # Segment boundaries: a thick line wherever two neighbouring cells belong to different segments.
    segment_of = {pair: c.segment for pair, c in by_pair.items()}
    for r in range(1, 6):
        for f in range(1, 6):
            x, y = origin(r, f)
            if r < 5 and segment_of.get((r, f)) != segment_of.get((r + 1, f)):
                body.append(element("line", x1=x + size, x2=x + size, y1=y, y2=y + size, stroke=INK, stroke_width=2.5))
            if f < 5 and segment_of.get((r, f)) != segment_of.get((r, f + 1)):
                body.append(element("line", x1=x, x2=x + size, y1=y, y2=y, stroke=INK, stroke_width=2.5))
    body.append(element("rect", x=float(plot.left), y=float(plot.top), width=size * 5, height=size * 5, fill="none",
                        stroke=INK, stroke_width=2.5))
    # Each segment's name once, in the cell of its region nearest the region's centre.
    regions: dict[str, list[tuple[int, int]]] = {}
    for pair, segment in sorted(segment_of.items()):
        regions.setdefault(segment, []).append(pair)
    for segment, pairs in sorted(regions.items()):
        cr = sum(p[0] for p in pairs) / len(pairs)
        cf = sum(p[1] for p in pairs) / len(pairs)
        r, f = min(pairs, key=lambda p: ((p[0] - cr) ** 2 + (p[1] - cf) ** 2, p))
        x, y = origin(r, f)
        fill = sequential_color(by_pair[(r, f)].customers, 0, most * 1.15)
        color = readable_text_color(fill)
        words = _wrap(segment, 11)
        for k, line in enumerate(words):
            body.append(text(x + size / 2, y + 17 + k * 13, line, size=11.5, anchor="middle", fill=color,
                             pointer_events="none", class_="segment-name"))
    for k in range(1, 6):
        body.append(text(plot.left + (k - 0.5) * size, plot.bottom + 18, str(k), size=11, anchor="middle",
                         fill=MUTED, class_="tick"))
        body.append(text(plot.left - 10, plot.top + (5 - k + 0.5) * size + 4, str(k), size=11, anchor="end",
                         fill=MUTED, class_="tick"))
    body.append(text(plot.left + plot.width / 2, plot.bottom + 40, "Recency score (5 = bought most recently)",
                     size=12, anchor="middle", fill=MUTED, class_="axis-title"))
    cy = plot.top + plot.height / 2
    body.append(text(40, cy, "Frequency score (5 = most purchases)", size=12, anchor="middle", fill=MUTED,
                     class_="axis-title", transform=f"rotate(-90 40 {_n(cy)})"))
    description = f"{title}: {len(regions)} segments over the 25 recency × frequency score pairs"
    return svg_document(chart_id, width, height, title, description, body, subtitle)


def _wrap(label: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


@dataclass(frozen=True)
class BarGroup:
    label: str
    values: Sequence[float | None]     # one per series
    note: str = ""                      # written right of the group (e.g. the CLV:CAC ratio)
    tips: Sequence[str] = ()


def grouped_bar_chart(chart_id: str, title: str, groups: Sequence[BarGroup], series_names: Sequence[str],
                      colors: Sequence[str], value_format: Formatter, axis_format: Formatter, x_title: str,
                      width: int = 1100, subtitle: str | None = None, note_title: str = "") -> str:
    """Horizontal bars, one group per category (class 'bar'), each bar labelled with its value."""
    label_width = max([len(g.label) for g in groups] + [8]) * 7.2 + 28
    note_width = max([len(g.note) for g in groups] + [len(note_title)]) * 7.4 + 24
    row_height = 14.0 * len(series_names) + 16
    top = 96 if subtitle else 80
    # Room right of the plot for the longest bar's value label, then the notes.
    plot = Plot(label_width, top, width - note_width - 64, top + row_height * len(groups))
    height = int(plot.bottom + 56)
    present = [v for g in groups for v in g.values if v is not None]
    ticks = nice_ticks(0.0, max([*present, 1.0]), 5)
    x = Scale(0.0, ticks[-1], plot.left, plot.right)
    body = []
    for tick in ticks:
        px = x(tick)
        body.append(element("line", x1=px, x2=px, y1=float(plot.top), y2=float(plot.bottom), stroke=GRID))
        body.append(text(px, plot.bottom + 18, axis_format(tick), size=11, anchor="middle", fill=MUTED,
                         class_="tick"))
    body.append(text(plot.left + plot.width / 2, plot.bottom + 40, x_title, size=12, anchor="middle", fill=MUTED,
                     class_="axis-title"))
    for g_index, group in enumerate(groups):
        y0 = plot.top + g_index * row_height + 8
        body.append(text(plot.left - 10, y0 + 7 * len(series_names) + 4, group.label, size=12, anchor="end",
                         fill=INK, class_="tick"))
        for s_index, value in enumerate(group.values):
            y = y0 + s_index * 14
            tip = group.tips[s_index] if group.tips else f"{group.label} · {series_names[s_index]}: " + (
                value_format(value) if value is not None else MISSING)
            if value is None:
                body.append(text(plot.left + 4, y + 10, "no data", size=10, fill=MUTED))
                continue
            end = x(value)
            body.append(element("rect", x=float(plot.left), y=y, width=max(1.0, end - plot.left), height=12,
                                fill=colors[s_index], class_="bar", tabindex=0, data_tip=tip))
            body.append(text(end + 5, y + 10, value_format(value), size=10.5, fill=INK, class_="value-label"))
        if group.note:
            body.append(text(width - 16, y0 + 7 * len(series_names) + 4, group.note, size=12, anchor="end", fill=INK,
                             weight="600"))
    body.append(element("line", x1=float(plot.left), x2=float(plot.left), y1=float(plot.top), y2=float(plot.bottom),
                        stroke=AXIS))
    if note_title:
        body.append(text(width - 16, plot.top - 10, note_title, size=11, anchor="end", fill=MUTED,
                         class_="axis-title"))
    body += _legend(plot.left, plot.top - 12, [(n, c, "box") for n, c in zip(series_names, colors)])
    description = f"{title}: " + "; ".join(
        f"{g.label} " + ", ".join(f"{n} {value_format(v) if v is not None else MISSING}"
                                  for n, v in zip(series_names, g.values)) for g in groups)
    return svg_document(chart_id, width, height, title, description, body, subtitle)


SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None]) -> str:
    """Unicode block sparkline ('▁▃▅█'), a space for a missing value: for Markdown where SVG cannot go."""
    present = [v for v in values if v is not None]
    if not present:
        return ""
    low, high = min(present), max(present)
    span = high - low
    return "".join(
        " " if v is None else SPARK_BLOCKS[0 if span == 0 else min(7, int((v - low) / span * 7 + 0.5))]
        for v in values
    )
