"""Optional per-file reading overrides and column-name mappings, from `retentio_sources.yml`.

Most files need none of this: the dialect (separator, encoding, decimal mark) is detected and common
header names are recognised. The file is for the CRM that calls `amount` "Total TTC", or the export
whose dates are month-first. It lives in the landing directory (or at RETENTIO_SOURCES_CONFIG):

    extracts:
      orders:
        columns: {"Total TTC": amount}      # header in the file -> canonical column
    files:
      - match: "orders_legacy_*.csv"        # glob on the file name
        delimiter: ";"
        encoding: cp1252
        decimal: ","
        date_order: mdy                      # dd/mm/yyyy (dmy, the default) or mm/dd/yyyy
        columns: {"Montant": amount}
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipelines.ingestion.contracts import EXTRACTS

CONFIG_FILE_NAME = "retentio_sources.yml"
_FILE_OPTIONS = {"match", "delimiter", "encoding", "decimal", "date_order", "columns"}


class SourceConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ReadOptions:
    """What is known about one file before it is sniffed; None means 'detect it'."""

    delimiter: str | None = None
    encoding: str | None = None
    decimal: str | None = None
    date_order: str = "dmy"
    column_mapping: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceConfig:
    extract_columns: dict[str, dict[str, str]] = field(default_factory=dict)
    file_rules: tuple[dict, ...] = ()

    def options_for(self, extract_name: str, file_name: str) -> ReadOptions:
        mapping = dict(self.extract_columns.get(extract_name, {}))
        merged: dict = {}
        for rule in self.file_rules:
            if fnmatch.fnmatch(file_name, rule["match"]):
                merged.update({k: v for k, v in rule.items() if k not in ("match", "columns")})
                mapping.update(rule.get("columns") or {})
        return ReadOptions(
            delimiter=merged.get("delimiter"),
            encoding=merged.get("encoding"),
            decimal=merged.get("decimal"),
            date_order=merged.get("date_order", "dmy"),
            column_mapping=mapping,
        )


def load_source_config(landing_dir: Path) -> SourceConfig:
    path = Path(os.environ.get("RETENTIO_SOURCES_CONFIG") or landing_dir / CONFIG_FILE_NAME)
    if not path.exists():
        return SourceConfig()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SourceConfigError(f"{path}: not valid YAML: {exc}") from None
    extract_columns: dict[str, dict[str, str]] = {}
    for name, spec in (raw.get("extracts") or {}).items():
        if name not in EXTRACTS:
            raise SourceConfigError(f"{path}: unknown extract {name!r}; expected one of {sorted(EXTRACTS)}")
        extract_columns[name] = _checked_mapping(path, name, (spec or {}).get("columns") or {})
    rules = []
    for i, rule in enumerate(raw.get("files") or [], start=1):
        unknown = set(rule) - _FILE_OPTIONS
        if "match" not in rule or unknown:
            raise SourceConfigError(
                f"{path}: files entry {i} needs 'match' and only these keys: {sorted(_FILE_OPTIONS)}"
                + (f" (unknown: {sorted(unknown)})" if unknown else "")
            )
        if rule.get("decimal") not in (None, ".", ","):
            raise SourceConfigError(f"{path}: files entry {i}: decimal must be '.' or ','")
        if rule.get("date_order") not in (None, "dmy", "mdy"):
            raise SourceConfigError(f"{path}: files entry {i}: date_order must be 'dmy' or 'mdy'")
        rules.append(rule | {"columns": _checked_mapping(path, rule["match"], rule.get("columns") or {})})
    return SourceConfig(extract_columns=extract_columns, file_rules=tuple(rules))


def _checked_mapping(path: Path, where: str, mapping: dict) -> dict[str, str]:
    known = {c for e in EXTRACTS.values() for c in e.column_names}
    for header, canonical in mapping.items():
        if canonical not in known:
            raise SourceConfigError(f"{path}: {where}: {header!r} maps to unknown column {canonical!r}")
    return {str(k): str(v) for k, v in mapping.items()}
