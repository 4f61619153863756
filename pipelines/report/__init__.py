"""The retention report: a self-contained HTML page of the published marts.

queries.py reads the BI file; sections.py turns it into the report's sections and table_sections.py shows
published tables as they are (each column formatted as its declared kind), with formatting.py writing the
numbers, charts.py drawing SVG and markup.py the HTML pieces; page.py assembles the page, with
readme_markdown.py (the README's definitions), report.css and report.js; build.py writes it. Only
assets.py imports Dagster.
"""
