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
from dataclasses import dataclass, field
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
        if kind in ("line", "dash"):
            parts.append(element("line", x1=float(x), x2=float(x + 18), y1=float(y - 4), y2=float(y - 4),
                                 stroke=color, stroke_width=3 if kind == "line" else 2,
                                 stroke_dasharray="5 3" if kind == "dash" else None))
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
                      width: int = 1100, subtitle: str | None = None, note_title: str = "",
                      reference: tuple[float, str] | None = None) -> str:
    """Horizontal bars, one group per category (class 'bar'), each bar labelled with its value; `reference`
    (value, name): a dashed line across the groups at that value (class 'reference'), named in the legend."""
    label_width = max([len(g.label) for g in groups] + [8]) * 7.2 + 28
    note_width = max([len(g.note) for g in groups] + [len(note_title)]) * 7.4 + 24
    row_height = 14.0 * len(series_names) + 16
    top = 96 if subtitle else 80
    # Room right of the plot for the longest bar's value label, then the notes.
    plot = Plot(label_width, top, width - note_width - 64, top + row_height * len(groups))
    height = int(plot.bottom + 56)
    present = [v for g in groups for v in g.values if v is not None]
    ticks = nice_ticks(0.0, max([*present, 1.0, *([reference[0]] if reference else [])]), 5)
    x = Scale(0.0, ticks[-1], plot.left, plot.right)
    body = []
    for tick in ticks:
        px = x(tick)
        body.append(element("line", x1=px, x2=px, y1=float(plot.top), y2=float(plot.bottom), stroke=GRID))
        body.append(text(px, plot.bottom + 18, axis_format(tick), size=11, anchor="middle", fill=MUTED,
                         class_="tick"))
    legend = [(n, c, "box") for n, c in zip(series_names, colors)]
    if reference:
        px = x(reference[0])
        body.append(element("line", x1=px, x2=px, y1=float(plot.top - 4), y2=float(plot.bottom), stroke=INK,
                            stroke_width=2, stroke_dasharray="5 3", class_="reference"))
        legend.append((reference[1], INK, "dash"))
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
    body += _legend(plot.left, plot.top - 12, legend)
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


@dataclass(frozen=True)
class Contribution:
    """One segment's part of a change, split in two effects that add up to it (mix + rate = change)."""

    label: str
    mix: float
    rate: float
    tip: str = ""

    @property
    def change(self) -> float:
        return self.mix + self.rate


def contribution_chart(chart_id: str, title: str, rows: Sequence[Contribution], value_format: Formatter,
                       axis_format: Formatter, x_title: str, width: int = 1080, subtitle: str | None = None,
                       mix_name: str = "Mix: the segment grew or shrank",
                       rate_name: str = "Rate: its own rate changed", change_title: str = "Change") -> str:
    """Diverging bars, one row per segment: its mix and rate effects stacked away from zero (rises right,
    falls left, class 'bar'), a tick at their sum (the segment's change, class 'net'), written on the right."""
    label_width = max([len(r.label) for r in rows] + [8]) * 7.0 + 24
    change_width = max([len(value_format(r.change)) for r in rows] + [len(change_title)]) * 7.4 + 24
    row_height = 26.0
    top = 100 if subtitle else 84
    plot = Plot(label_width, top, width - change_width - 12, top + row_height * max(len(rows), 1))
    height = int(plot.bottom + 56)
    lows = [sum(v for v in (r.mix, r.rate) if v < 0) for r in rows]
    highs = [sum(v for v in (r.mix, r.rate) if v > 0) for r in rows]
    ticks = nice_ticks(min([*lows, 0.0]), max([*highs, 0.0]), 6)
    x = Scale(ticks[0], ticks[-1], plot.left, plot.right)
    body = []
    for tick in ticks:
        px = x(tick)
        body.append(element("line", x1=px, x2=px, y1=float(plot.top), y2=float(plot.bottom),
                            stroke=AXIS if tick == 0 else GRID, stroke_width=1.5 if tick == 0 else 1))
        body.append(text(px, plot.bottom + 18, axis_format(tick), size=11, anchor="middle", fill=MUTED,
                         class_="tick"))
    body.append(text(plot.left + plot.width / 2, plot.bottom + 40, x_title, size=12, anchor="middle", fill=MUTED,
                     class_="axis-title"))
    body.append(text(width - 16, plot.top - 10, change_title, size=11, anchor="end", fill=MUTED,
                     class_="axis-title"))
    for i, row in enumerate(rows):
        y = plot.top + i * row_height + 5
        body.append(text(plot.left - 10, y + 12, row.label, size=12, anchor="end", fill=INK, class_="tick"))
        positive = negative = 0.0
        for name, value, color in (("mix", row.mix, ORANGE), ("rate", row.rate, BLUE)):
            if value == 0:
                continue
            start = positive if value > 0 else negative
            end = start + value
            if value > 0:
                positive = end
            else:
                negative = end
            left, right = sorted((x(start), x(end)))
            tip = (row.tip + " · " if row.tip else f"{row.label} · ") + (
                f"{'mix' if name == 'mix' else 'rate'} {value_format(value)}")
            body.append(element("rect", x=left, y=y, width=max(1.0, right - left), height=16.0, fill=color,
                                class_="bar", tabindex=0, data_tip=tip))
        net = x(row.change)
        body.append(element("line", x1=net, x2=net, y1=y - 3, y2=y + 19, stroke=INK, stroke_width=2.5,
                            class_="net"))
        body.append(text(width - 16, y + 12, value_format(row.change), size=12, anchor="end", fill=INK,
                         weight="600"))
    body += _legend(plot.left, plot.top - 14, [(mix_name, ORANGE, "box"), (rate_name, BLUE, "box"),
                                               ("Change (mix + rate)", INK, "line")])
    description = f"{title}: " + "; ".join(
        f"{r.label} {value_format(r.change)} (mix {value_format(r.mix)}, rate {value_format(r.rate)})" for r in rows)
    return svg_document(chart_id, width, height, title, description, body, subtitle)


def small_trend(chart_id: str, title: str, labels: Sequence[str], values: Sequence[float | None],
                value_format: Formatter, latest_text: str, note: str = "", low: float | None = None,
                high: float | None = None, width: int = 260, height: int = 132, color: str = BLUE) -> str:
    """One small multiple: a line over months on a shared scale (`low`..`high`), the latest month's point
    highlighted (class 'latest') and its value written top right; `note` under the title."""
    present = [v for v in values if v is not None]
    low = min(present, default=0.0) if low is None else low
    high = max(present, default=1.0) if high is None else high
    if math.isclose(low, high):
        low, high = low - 1.0, high + 1.0
    plot = Plot(10, 50 if note else 36, width - 12, height - 22)
    y = Scale(low, high, plot.bottom, plot.top)
    step = plot.width / max(len(values) - 1, 1)
    xs = [plot.left + step * i for i in range(len(values))]
    body = [element("line", x1=float(plot.left), x2=float(plot.right), y1=float(plot.bottom), y2=float(plot.bottom),
                    stroke=GRID, stroke_width=1),
            element("line", x1=float(plot.left), x2=float(plot.right), y1=float(plot.top), y2=float(plot.top),
                    stroke=GRID, stroke_width=1)]
    segments: list[list[tuple[float, float]]] = [[]]
    for px, value in zip(xs, values):
        if value is None:
            segments.append([])
        else:
            segments[-1].append((px, y(value)))
    for segment in segments:
        if len(segment) > 1:
            body.append(element("path", d="M" + " L".join(f"{_n(px)} {_n(py)}" for px, py in segment), fill="none",
                                stroke=color, stroke_width=2, stroke_linejoin="round"))
    for i, (px, value) in enumerate(zip(xs, values)):
        if value is None:
            continue
        latest = i == len(values) - 1
        body.append(element("circle", cx=px, cy=y(value), r=4.5 if latest else 2, fill=ORANGE if latest else color,
                            stroke="#ffffff" if latest else None, stroke_width=1.5 if latest else None,
                            class_="latest point" if latest else "point", tabindex=0 if latest else None,
                            data_tip=f"{title} · {labels[i]}: {value_format(value)}"))
    body.append(text(12, 20, title, size=13, weight="600", fill=INK))
    body.append(text(width - 12, 20, latest_text, size=13, anchor="end", weight="700", fill=INK, class_="latest-value"))
    if note:
        body.append(text(12, 36, note, size=11, fill=MUTED))
    if labels:
        body.append(text(plot.left, height - 6, labels[0], size=10, fill=MUTED, class_="tick"))
        body.append(text(plot.right, height - 6, labels[-1], size=10, anchor="end", fill=MUTED, class_="tick"))
    description = f"{title}: latest {latest_text}" + (f", {note}" if note else "")
    return element(
        "svg", "".join([element("desc", escape(description)), element("rect", x=0, y=0, width=width, height=height,
                                                                      fill="#ffffff"), *body]),
        xmlns="http://www.w3.org/2000/svg", id=chart_id, class_="chart small-multiple",
        viewBox=f"0 0 {width} {height}", width=width, height=height, role="img", aria_label=description,
        font_family=FONT)


@dataclass(frozen=True)
class TermBar:
    term: str
    strength: float      # how strongly the term sets its side apart (e.g. |z-score|)
    label: str           # written at the bar's end (e.g. "101 comments")
    tip: str


def term_bars(chart_id: str, title: str, left: Sequence[TermBar], right: Sequence[TermBar], left_name: str,
              right_name: str, x_title: str, width: int = 1080, subtitle: str | None = None,
              left_color: str = VERMILLION, right_color: str = BLUE) -> str:
    """Diverging bars from a centre line: `left` terms (e.g. detractors') to the left, labelled right of the
    centre, then `right` terms to the right, labelled left of it; one row per term (class 'bar')."""
    row_height = 22.0
    top = 100 if subtitle else 84
    centre = width / 2
    half = width / 2 - 110
    rows = [(t, -1) for t in left] + [(t, 1) for t in right]
    plot_bottom = top + row_height * len(rows) + (8 if left and right else 0)
    height = int(plot_bottom + 48)
    most = max([t.strength for t, _ in rows] + [1e-9])
    ticks = nice_ticks(0.0, most, 4)
    scale = Scale(0.0, ticks[-1], 0.0, half)
    body = []
    for tick in ticks:
        for side in (-1, 1):
            px = centre + side * scale(tick)
            body.append(element("line", x1=px, x2=px, y1=float(top), y2=float(plot_bottom), stroke=GRID))
            if tick or side > 0:
                body.append(text(px, plot_bottom + 16, f"{tick:g}", size=11, anchor="middle", fill=MUTED,
                                 class_="tick"))
    body.append(text(centre, plot_bottom + 36, x_title, size=12, anchor="middle", fill=MUTED, class_="axis-title"))
    body.append(text(centre - 12, top - 12, f"◀ {left_name}", size=12.5, anchor="end", fill=left_color, weight="600"))
    body.append(text(centre + 12, top - 12, f"{right_name} ▶", size=12.5, fill=right_color, weight="600"))
    for i, (term, side) in enumerate(rows):
        y = top + i * row_height + (8 if side > 0 and left else 0) + 3
        length = scale(term.strength)
        color = left_color if side < 0 else right_color
        x0 = centre - length if side < 0 else centre
        body.append(element("rect", x=x0, y=y, width=max(1.0, length), height=15.0, fill=color, class_="bar",
                            tabindex=0, data_tip=term.tip))
        body.append(text(centre - side * 8, y + 12, term.term, size=12, anchor="start" if side < 0 else "end",
                         fill=INK, class_="term"))
        body.append(text(centre + side * (length + 6), y + 12, term.label, size=10.5,
                         anchor="end" if side < 0 else "start", fill=MUTED, class_="value-label"))
    body.append(element("line", x1=centre, x2=centre, y1=float(top - 4), y2=float(plot_bottom), stroke=AXIS,
                        stroke_width=1.5))
    description = (f"{title}: {left_name}: " + ", ".join(t.term for t in left) + f"; {right_name}: "
                   + ", ".join(t.term for t in right))
    return svg_document(chart_id, width, height, title, description, body, subtitle)


@dataclass(frozen=True)
class StepSeries:
    """One Kaplan-Meier curve: (day, share 0..1) steps from day 0, its 95 % band (day, lower, upper) when
    drawn, and the tooltip of each marked day ({day: text})."""

    name: str
    color: str
    steps: Sequence[tuple[int, float]]
    band: Sequence[tuple[int, float, float]] = ()
    marker_tips: dict[int, str] = field(default_factory=dict)
    width: float = 2.0


def step_at(steps: Sequence[tuple[int, float]], day: int) -> float | None:
    """The curve's value on `day`: its last step on or before it (None before day 0 or past its last step)."""
    value = None
    for d, v in steps:
        if d > day:
            break
        value = v
    return value if steps and day <= steps[-1][0] else None


def _step_vertices(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The corners of a step line through pixel points: level until the next point's x, then straight down
    (or up) to it."""
    vertices = [points[0]]
    for (_, py_previous), (px, py) in zip(points, points[1:]):
        vertices.append((px, py_previous))
        if py != py_previous:
            vertices.append((px, py))
    return vertices


def _path(vertices: Sequence[tuple[float, float]]) -> str:
    return "M" + " L".join(f"{_n(px)} {_n(py)}" for px, py in vertices)


def _wrapped_legend(x: float, y: float, right: float, items: Sequence[tuple[str, str, str]]) -> tuple[list[str], int]:
    """_legend over as many rows as the width from x to `right` needs; returns its parts and its rows."""
    rows: list[list[tuple[str, str, str]]] = [[]]
    used = 0.0
    for item in items:
        size = 24 + len(item[0]) * 12 * 0.6 + 18
        if rows[-1] and x + used + size > right:
            rows.append([])
            used = 0.0
        rows[-1].append(item)
        used += size
    parts = [p for i, row in enumerate(rows) for p in _legend(x, y + 20 * i, row)]
    return parts, len(rows)


def step_chart(chart_id: str, title: str, series: Sequence[StepSeries], x_title: str, y_title: str,
               width: int = 1080, height: int = 360, subtitle: str | None = None,
               marker_days: Sequence[int] = ()) -> str:
    """Survival curves as step lines over days (y: 0 to 100 %, class 'curve'), a shaded 95 % band where a
    series has one, a dashed line at 50 % (where a curve crosses it is its median) and, on each of
    `marker_days` a curve reaches, a point with its tooltip (class 'point'). The first series is drawn last, on
    top of the others (e.g. all customers over the channels)."""
    legend_top = 70 if subtitle else 54
    y_ticks = [0.0, 25.0, 50.0, 75.0, 100.0]
    left = _axis_margin(y_ticks, lambda v: f"{v:g}%")
    legend, legend_rows = _wrapped_legend(left, legend_top, width - 20,
                                          [(s.name, s.color, "line") for s in series] + [("half (median)", AXIS, "dash")])
    height += 20 * (legend_rows - 1)
    plot = Plot(left, legend_top + 20 * legend_rows + 6, width - 20, height - 56)
    last_day = max([s.steps[-1][0] for s in series if s.steps] + [1])
    x_ticks = nice_ticks(0.0, float(last_day), 6, integer=True)
    x = Scale(0.0, x_ticks[-1], plot.left, plot.right)
    y = Scale(0.0, 100.0, plot.bottom, plot.top)
    body = _y_axis(plot, y, y_ticks, lambda v: f"{v:g}%", y_title)
    body.append(_x_axis_baseline(plot))
    for tick in x_ticks:
        body.append(text(x(tick), plot.bottom + 18, f"{tick:,.0f}", size=11, anchor="middle", fill=MUTED,
                         class_="tick"))
    body.append(text(plot.left + plot.width / 2, plot.bottom + 40, x_title, size=12, anchor="middle", fill=MUTED,
                     class_="axis-title"))
    body.append(element("line", x1=float(plot.left), x2=float(plot.right), y1=y(50.0), y2=y(50.0), stroke=AXIS,
                        stroke_width=1.5, stroke_dasharray="5 3"))
    for s in series:
        if len(s.band) > 1:
            upper = _step_vertices([(x(d), y(100 * u)) for d, _, u in s.band])
            lower = _step_vertices([(x(d), y(100 * lo)) for d, lo, _ in s.band])
            body.append(element("path", d=_path(upper + lower[::-1]) + " Z", fill=s.color, fill_opacity="0.12",
                                stroke="none", class_="band"))
    for s in reversed(series):
        if s.steps:
            points = [(x(d), y(100 * v)) for d, v in s.steps]
            if len(points) == 1:
                points.append((points[0][0] + 1, points[0][1]))
            body.append(element("path", d=_path(_step_vertices(points)), fill="none", stroke=s.color,
                                stroke_width=s.width,
                                stroke_linejoin="round", class_="curve"))
    for s in reversed(series):
        for day in marker_days:
            value = step_at(s.steps, day)
            if value is None:
                continue
            body.append(element("circle", cx=x(day), cy=y(100 * value), r=3.5, fill="#ffffff", stroke=s.color,
                                stroke_width=2, class_="point", tabindex=0,
                                data_tip=s.marker_tips.get(day, f"{s.name} · day {day}: {100 * value:.1f}%")))
    body += legend
    description = f"{title}: " + "; ".join(
        f"{s.name} {100 * s.steps[-1][1]:.1f}% after {s.steps[-1][0]:,} days" if s.steps else f"{s.name} no data"
        for s in series)
    return svg_document(chart_id, width, height, title, description, body, subtitle)
