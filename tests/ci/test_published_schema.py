"""The published-schema check and the state setting as pure functions (pipelines/ci/schema.py, settings)."""

from __future__ import annotations

from pathlib import Path

from pipelines.ci.schema import compare
from pipelines.settings import Settings

PUBLISHED = {"customers": {"customer_key": "VARCHAR", "purchases": "HUGEINT", "revenue": "DECIMAL(38,2)"}}


def test_a_removed_or_retyped_column_is_breaking_and_named():
    candidate = {"customers": {"customer_key": "VARCHAR", "purchases": "BIGINT", "region": "VARCHAR"}}
    changes = {c.describe(): c.is_breaking for c in compare(PUBLISHED, candidate)}
    assert changes == {
        "customers.revenue (DECIMAL(38,2)) removed": True,
        "customers.purchases retyped from HUGEINT to BIGINT": True,
        "customers.region (VARCHAR) added": False,
    }


def test_a_column_kept_in_a_published_previous_version_is_not_breaking():
    candidate = {"customers": {"customer_key": "VARCHAR", "purchases": "HUGEINT", "revenue_eur": "DECIMAL(38,2)"},
                 "customers_v1": PUBLISHED["customers"]}
    removed = [c for c in compare(PUBLISHED, candidate) if c.change == "removed"]
    assert [(c.column, c.kept_in, c.is_breaking) for c in removed] == [("revenue", "customers_v1", False)]


def test_an_unpublished_table_is_breaking():
    assert [c.describe() for c in compare(PUBLISHED, {}) if c.is_breaking] == ["customers is no longer published"]


def test_the_state_defaults_to_what_the_last_publish_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("RETENTIO_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.delenv("RETENTIO_CI_STATE_DIR", raising=False)
    assert Settings.from_env().ci_state_dir == tmp_path / "warehouse" / "dbt_state"
    monkeypatch.setenv("RETENTIO_CI_STATE_DIR", str(tmp_path / "production"))
    assert Settings.from_env().ci_state_dir == Path(tmp_path / "production")
