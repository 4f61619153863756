"""The README's Markdown, as the report shows it: a section of the README, converted to HTML.

The metric definitions are written once, in the README; the report's "Definitions" section is that text.
Only the Markdown the definitions use is converted: paragraphs, nested '-' lists, **bold** and `code`.
"""

from __future__ import annotations

import re
from html import escape


def _inline_markdown(text: str) -> str:
    """One line of Markdown as HTML: escaped, with `code` and **bold**."""
    html = escape(text, quote=False)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    html = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", html)
    return html


def readme_section(readme: str, heading: str) -> str:
    """The body of the README's `## heading` section ('' when there is none)."""
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", readme, flags=re.MULTILINE | re.DOTALL)
    return match.group(1).strip() if match else ""


def readme_list_item(markdown: str, bold_term: str) -> str:
    """The text of the top-level list item that starts with `- **bold_term**` (its continuation lines
    joined; nested items left out), '' when there is none: one definition quoted where it is used."""
    lines = markdown.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"- **{bold_term}**")), None)
    if start is None:
        return ""
    item = [lines[start][2:].strip()]
    for line in lines[start + 1:]:
        if not line.strip() or not line.startswith(" ") or line.lstrip().startswith("- "):
            break
        item.append(line.strip())
    return " ".join(item)


def markdown_to_html(markdown: str) -> str:
    """The Markdown the README's definitions use: paragraphs, nested '-' lists, **bold** and `code`."""
    blocks: list[str] = []
    items: list[tuple[int, list[str]]] = []     # (indent, lines) of each list item, in order
    paragraph: list[str] = []

    def flush_paragraph():
        if paragraph:
            blocks.append(f"<p>{_inline_markdown(' '.join(paragraph))}</p>")
            paragraph.clear()

    def flush_list():
        if not items:
            return
        html, depth_stack = [], []
        for indent, lines in items:
            while depth_stack and depth_stack[-1] > indent:
                html.append("</li></ul>")
                depth_stack.pop()
            if depth_stack and depth_stack[-1] == indent:
                html.append("</li>")
            else:
                html.append("<ul>")
                depth_stack.append(indent)
            html.append(f"<li>{_inline_markdown(' '.join(lines))}")
        while depth_stack:
            html.append("</li></ul>")
            depth_stack.pop()
        blocks.append("".join(html))
        items.clear()

    for line in markdown.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if not stripped:
            flush_paragraph()
            flush_list()
        elif stripped.startswith("- "):
            flush_paragraph()
            items.append((indent, [stripped[2:]]))
        elif items:
            items[-1][1].append(stripped)
        else:
            paragraph.append(stripped)
    flush_paragraph()
    flush_list()
    return "".join(blocks)
