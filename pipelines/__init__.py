"""Retentio's Dagster package: ingestion, dbt, models, checks and publish, wired in `definitions.py`."""
