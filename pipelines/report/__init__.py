"""The retention report: a self-contained HTML page of the published marts.

queries.py reads the BI file, charts.py draws SVG, page.py assembles the page, build.py writes it; only
assets.py imports Dagster.
"""
