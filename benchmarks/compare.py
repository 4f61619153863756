"""Two `retention_metrics` tables side by side: same periods, same values on the floor's columns."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

KEY = ("period_grain", "period_start")
COLUMNS = (
    "period_end",
    "is_complete",
    "customers_at_start",
    "customers_at_end",
    "new_customers",
    "retention_rate_pct",
    "churned_customers",
    "churn_rate_pct",
    "retained_customers",
    "reactivated_customers",
    "new_customers_inactive_at_end",
    "revenue",
    "nps",
    "nps_responses",
    "marketing_spend",
    "cac",
)
RELATIVE_TOLERANCE = 1e-9


def published_metrics(bi_db: Path) -> list[dict]:
    con = duckdb.connect(str(bi_db), read_only=True)
    try:
        result = con.execute(f"select {', '.join(KEY + COLUMNS)} from main.retention_metrics")
        names = [d[0] for d in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]
    finally:
        con.close()


def parquet_metrics(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _day(value):
    """Dates compare as dates whether a reader gave a date or a midnight timestamp."""
    return value.date() if isinstance(value, datetime) else value


def _same(expected, actual) -> bool:
    if _missing(expected) or _missing(actual):
        return _missing(expected) and _missing(actual)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return bool(expected) == bool(actual)
    if isinstance(expected, (float, Decimal)) or isinstance(actual, (float, Decimal)):
        e, a = float(expected), float(actual)
        return abs(e - a) <= RELATIVE_TOLERANCE * max(abs(e), abs(a)) or e == a
    if isinstance(expected, int) and isinstance(actual, int):
        return expected == actual
    return _day(expected) == _day(actual)


def compare(expected: list[dict], actual: list[dict]) -> dict:
    """{'equal': bool, 'rows': n, 'mismatches': [first few differences]} on KEY and COLUMNS."""

    def by_key(rows):
        return {(r["period_grain"], _day(r["period_start"])): r for r in rows}

    want, got = by_key(expected), by_key(actual)
    mismatches = [{"period": list(map(str, k)), "problem": "missing"} for k in sorted(set(want) - set(got))]
    mismatches += [
        {"period": list(map(str, k)), "problem": "unexpected"} for k in sorted(set(got) - set(want))
    ]
    checked = 0
    for key in sorted(set(want) & set(got)):
        for column in COLUMNS:
            if column not in got[key]:
                mismatches.append(
                    {"period": list(map(str, key)), "column": column, "problem": "no such column"}
                )
                continue
            checked += 1
            if not _same(want[key][column], got[key][column]):
                mismatches.append(
                    {
                        "period": list(map(str, key)),
                        "column": column,
                        "expected": str(want[key][column]),
                        "actual": str(got[key][column]),
                    }
                )
    return {
        "equal": not mismatches,
        "rows": len(want),
        "values_compared": checked,
        "mismatches": mismatches[:20],
        "mismatch_count": len(mismatches),
    }


def published_tables_identical(expected_bi: Path, actual_bi: Path) -> dict:
    """Every published table of two BI files, row for row (ordered by all columns), exactly; the
    `publication` table (when and by which run) aside. {'equal': bool, 'tables': n, 'different': [...]}"""
    expected, actual = (duckdb.connect(str(p), read_only=True) for p in (expected_bi, actual_bi))
    try:
        tables = [t for (t,) in expected.execute(
            "select table_name from information_schema.tables where table_schema = 'main' "
            "and table_name <> 'publication' order by 1").fetchall()]
        different = []
        for table in tables:
            query = f"select * from main.{table} order by all"
            try:
                same = expected.execute(query).fetchall() == actual.execute(query).fetchall()
            except duckdb.Error:
                same = False
            if not same:
                different.append(table)
        return {"equal": not different, "tables": len(tables), "different": different}
    finally:
        expected.close()
        actual.close()
