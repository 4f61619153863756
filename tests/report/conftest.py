"""Fixtures of the report tests: small hand-made BI files (see bi_fixture.py), built once per session.

Tests only read them; a test that changes a BI file makes its own with `make_bi_file`.
"""

from __future__ import annotations

import pytest

from tests.report.bi_fixture import OPTIONAL_TABLES, make_bi_file


@pytest.fixture(scope="session")
def bi_file(tmp_path_factory):
    """Today's published tables only."""
    return make_bi_file(tmp_path_factory.mktemp("today") / "warehouse" / "bi.duckdb")


@pytest.fixture(scope="session")
def full_bi_file(tmp_path_factory):
    """With the prediction columns and every table later issues publish."""
    return make_bi_file(tmp_path_factory.mktemp("full") / "warehouse" / "bi.duckdb", predictions=True,
                        optional_tables=OPTIONAL_TABLES)
