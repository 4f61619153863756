"""What each published column holds (count, money, percent, …), as the marts' dbt yml declares it once.

A column's kind is `config: {meta: {kind: money}}` beside its description in
`dbt_project/models/marts/<model>.yml`; the report and `make run`'s summary (pipelines/run_summary.py) read
the kinds from dbt's manifest (`dbt_project/target/manifest.json`, which `make prepare` builds before any
run or test), never guess them from a column's name. A column whose rows hold different metrics
(retention_drivers, alerts) declares `kind: {by: metric}`: each row takes the kind of the
`retention_metrics` column its `metric` names, or of `kinds: {<metric>: <kind>}` when given. Undeclared
columns are written by their type: integers as counts, other numbers as plain decimals, dates as dates, the
rest as text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from pipelines.report.formatting import MISSING, money, number, percent, ratio
from pipelines.settings import PROJECT_ROOT

MANIFEST_PATH = PROJECT_ROOT / "dbt_project" / "target" / "manifest.json"

COUNT = "count"        # customers, purchases, comments: whole numbers (a fractional share of one, e.g. a
                       # mix effect, keeps one decimal)
MONEY = "money"        # in the reporting currency
PERCENT = "percent"    # already in percent (CRR, churn, shares), or percentage points for their changes
RATIO = "ratio"        # CLV:CAC, written 26.6×
SCORE = "score"        # NPS (−100 .. 100), health (0 .. 100): one decimal
DECIMAL = "decimal"    # any other number: parameters, errors, probabilities
DATE = "date"
TEXT = "text"
KINDS = (COUNT, MONEY, PERCENT, RATIO, SCORE, DECIMAL, DATE, TEXT)
# The model whose columns name the metrics of `kind: {by: metric}`.
METRICS_MODEL = "retention_metrics"


@dataclass(frozen=True)
class KindOfMetric:
    """The kind of a column whose rows hold different metrics, named by the row's `metric` column."""

    kinds: Mapping[str, str]
    column: str = "metric"

    def of(self, row: Mapping[str, object]) -> str:
        return self.kinds.get(str(row.get(self.column)), DECIMAL)


ColumnKind = str | KindOfMetric
TableKinds = Mapping[str, ColumnKind]


def _checked(kind: object, where: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"{where}: kind {kind!r} is none of {', '.join(KINDS)} (meta.kind in the model's yml)")
    return str(kind)


def kinds_from_manifest(manifest: Mapping) -> dict[str, dict[str, ColumnKind]]:
    """{model: {column: kind}} of every model column declaring `meta.kind`."""
    declared: dict[str, dict[str, object]] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model":
            continue
        for column, spec in node.get("columns", {}).items():
            meta = spec.get("config", {}).get("meta") or spec.get("meta") or {}
            if "kind" in meta:
                declared.setdefault(node["name"], {})[column] = meta["kind"]
    metric_kinds = {c: _checked(k, f"{METRICS_MODEL}.{c}")
                    for c, k in declared.get(METRICS_MODEL, {}).items() if isinstance(k, str)}
    kinds: dict[str, dict[str, ColumnKind]] = {}
    for model, columns in sorted(declared.items()):
        for column, kind in sorted(columns.items()):
            where = f"{model}.{column}"
            if isinstance(kind, Mapping):
                by = kind.get("by", "metric")
                own = {m: _checked(k, f"{where} ({m})") for m, k in (kind.get("kinds") or {}).items()}
                kinds.setdefault(model, {})[column] = KindOfMetric(own or metric_kinds, by)
            else:
                kinds.setdefault(model, {})[column] = _checked(kind, where)
    return kinds


@cache
def _load(path: Path, modified_ns: int) -> dict[str, dict[str, ColumnKind]]:
    return kinds_from_manifest(json.loads(path.read_text(encoding="utf-8")))


def declared_kinds(manifest_path: Path = MANIFEST_PATH) -> dict[str, dict[str, ColumnKind]]:
    """The kinds the marts declare, from dbt's manifest (read once per manifest version)."""
    if not manifest_path.exists():
        raise FileNotFoundError(f"{manifest_path} does not exist: run `make prepare` (dbt parse) first; the "
                                "report formats each column by the kind its dbt yml declares")
    return _load(manifest_path, manifest_path.stat().st_mtime_ns)


def kind_of(kinds: TableKinds, column: str, row: Mapping[str, object]) -> str | None:
    kind = kinds.get(column)
    return kind.of(row) if isinstance(kind, KindOfMetric) else kind


def format_value(value, kind: str | None, currency: str, data_type: str = "") -> str:
    """One value written as its declared kind, else by its type."""
    if value is None:
        return MISSING
    if data_type.upper() == "BOOLEAN" or isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    if kind == MONEY:
        return money(float(value), currency)
    if kind == PERCENT:
        return percent(float(value))
    if kind == RATIO:
        return ratio(float(value))
    if kind == SCORE:
        return number(float(value), 1)
    if kind == COUNT or isinstance(value, int):
        return number(value, 0 if float(value).is_integer() else 1)
    if isinstance(value, (float, Decimal)):
        return number(float(value), 3 if abs(float(value)) < 10 else 2)
    return str(value)
