"""The small HTML pieces the report page is made of: escaping, tables, figures, notes, and `Section`.

Every function returns a str of HTML; text is escaped here, once, where it enters the markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Section:
    """One card of the page: its anchor (the id the table of contents links to), title and body."""

    anchor: str
    title: str
    html: str


def esc(value) -> str:
    """`value` as text safe inside HTML elements and attribute values."""
    return escape(str(value), quote=True)


def table_html(headers: Sequence[str], rows: Sequence[Sequence[str]], kinds: Sequence[bool | str],
               caption: str = "", css_class: str = "data") -> str:
    """A table of already-formatted (not yet escaped) cells. kinds, per column: True or "num" (right-aligned
    number), "wrap" (long text that may wrap), False or "" (text)."""
    classes = ["num" if k is True else (k or "") for k in kinds]
    attr = [f' class="{c}"' if c else "" for c in classes]
    head = "".join(f'<th scope="col"{a}>{esc(h)}</th>' for h, a in zip(headers, attr))
    body = "".join(
        "<tr>" + "".join(f"<td{a}>{esc(c)}</td>" for c, a in zip(row, attr)) + "</tr>"
        for row in rows
    )
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f'<div class="table-wrap"><table class="{css_class}">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def figure_html(svg: str, caption: str = "") -> str:
    """A chart with an optional caption (HTML, not escaped)."""
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f'<figure class="chart-figure">{svg}{cap}</figure>'


def note_html(text: str) -> str:
    """A muted, italic remark (HTML, not escaped): what the reader sees instead of missing data."""
    return f'<p class="note">{text}</p>'
