"""Fixtures of the report tests: small hand-made BI files (see bi_fixture.py), built once per session.

Tests only read them; a test that changes a BI file makes its own with `make_bi_file`.
"""

from __future__ import annotations

import pytest

from tests.report.bi_fixture import make_bi_file


@pytest.fixture(scope="session")
def bi_file(tmp_path_factory):
    """A run whose purchase models could not be fitted: no predicted CLV, no health bands."""
    return make_bi_file(tmp_path_factory.mktemp("today") / "warehouse" / "bi.duckdb")


@pytest.fixture(scope="session")
def full_bi_file(tmp_path_factory):
    """A run with fitted purchase models: predicted CLV and health bands."""
    return make_bi_file(tmp_path_factory.mktemp("full") / "warehouse" / "bi.duckdb", predictions=True)
