"""Optional per-file reading overrides and column-name mappings, from `retentio_sources.yml`.

Most files need none of this: the dialect (separator, encoding, decimal mark, day or month first) is
detected and common header names are recognised. The file is for the CRM that calls `amount` "Total
TTC", the shop whose order statuses have words of their own, or the export whose dates cannot tell day
from month. It lives in the landing directory (or at RETENTIO_SOURCES_CONFIG):

    extracts:
      orders:
        columns: {"Total TTC": amount}      # header in the file -> canonical column
        statuses: {pending: cancelled}      # the shop's status -> completed | refunded | cancelled
    files:
      - match: "orders_legacy_*.csv"        # glob on the file name
        delimiter: ";"
        encoding: cp1252
        decimal: ","
        date_order: mdy                      # dd/mm/yyyy (dmy) or mm/dd/yyyy; detected from the values when unset
        columns: {"Montant": amount}
"""

from __future__ import annotations

import fnmatch
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipelines.ingestion.contracts import EXTRACTS, ORDER_STATUSES, STATUS_SYNONYMS

CONFIG_FILE_NAME = "retentio_sources.yml"
_FILE_OPTIONS = {"match", "delimiter", "encoding", "decimal", "date_order", "columns"}
_EXTRACT_OPTIONS = {"columns", "statuses"}


class SourceConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ReadOptions:
    """What is known about one file before it is sniffed; None means 'detect it'."""

    delimiter: str | None = None
    encoding: str | None = None
    decimal: str | None = None
    date_order: str | None = None       # None: detected from the file's dates (pipelines/ingestion/date_order.py)
    column_mapping: dict[str, str] = field(default_factory=dict)
    # key=value folders of its landing name (a partitioned dataset's): columns the file may leave out
    folder_values: dict[str, str] = field(default_factory=dict)


def folder_values_of(landing_name: str) -> dict[str, str]:
    """{order_date: 2024-01-01} for orders/order_date=2024-01-01/part-0.parquet: the Hive-style partition
    folders Spark, DuckDB or a bucket export write a partitioned dataset in, values %-decoded as written;
    Hive's __HIVE_DEFAULT_PARTITION__ (a null) gives none."""
    values = {}
    for folder in landing_name.split("/")[:-1]:
        key, equals, value = folder.partition("=")
        if equals and key and value != "__HIVE_DEFAULT_PARTITION__":
            values[urllib.parse.unquote(key)] = urllib.parse.unquote(value)
    return values


def status_key(word: str) -> str:
    """How a status is compared: lower case, without accents, spaces and hyphens as underscores ('Partially
    refunded', 'Remboursée'); row_checks.allowed_value_sql does the same in SQL."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    return "_".join(folded.strip().lower().replace("-", " ").split())


@dataclass(frozen=True)
class SourceConfig:
    extract_columns: dict[str, dict[str, str]] = field(default_factory=dict)
    file_rules: tuple[dict, ...] = ()
    status_mapping: dict[str, str] = field(default_factory=dict)  # the shop's word -> completed | refunded | cancelled

    def order_statuses(self) -> dict[str, str]:
        """Every status word accepted besides the three, with its meaning: the built-in synonyms, then the
        mapping in retentio_sources.yml, which wins."""
        # WooCommerce writes a status as 'wc-on-hold' in some exports and 'on-hold' in others: a word mapped
        # without the prefix maps it with the prefix too, as the built-in synonyms do.
        prefixed = {f"wc_{word}": meaning for word, meaning in self.status_mapping.items()
                    if not word.startswith("wc_")}
        return STATUS_SYNONYMS | prefixed | self.status_mapping

    def options_for(self, extract_name: str, file_name: str) -> ReadOptions:
        """The options for one file, `file_name` its landing name: a rule's glob matches that name
        (`legacy/*.csv`) or the file's own (`orders_legacy_*.csv`, wherever the file sits)."""
        mapping = dict(self.extract_columns.get(extract_name, {}))
        merged: dict = {}
        own_name = file_name.rsplit("/", 1)[-1]
        for rule in self.file_rules:
            if fnmatch.fnmatch(file_name, rule["match"]) or fnmatch.fnmatch(own_name, rule["match"]):
                merged.update({k: v for k, v in rule.items() if k not in ("match", "columns")})
                mapping.update(rule.get("columns") or {})
        return ReadOptions(
            delimiter=merged.get("delimiter"),
            encoding=merged.get("encoding"),
            decimal=merged.get("decimal"),
            date_order=merged.get("date_order"),
            column_mapping=mapping,
            folder_values=folder_values_of(file_name),
        )


def load_source_config(landing_dir: Path, configured: Path | None = None) -> SourceConfig:
    """The overrides in `configured` (RETENTIO_SOURCES_CONFIG, Settings.sources_config_file), else in the landing
    directory's retentio_sources.yml; none when there is no such file."""
    path = configured or landing_dir / CONFIG_FILE_NAME
    if not path.exists():
        return SourceConfig()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SourceConfigError(f"{path}: not valid YAML: {exc}") from None
    extract_columns: dict[str, dict[str, str]] = {}
    status_mapping: dict[str, str] = {}
    for name, spec in (raw.get("extracts") or {}).items():
        if name not in EXTRACTS:
            raise SourceConfigError(f"{path}: unknown extract {name!r}; expected one of {sorted(EXTRACTS)}")
        spec = spec or {}
        unknown = set(spec) - _EXTRACT_OPTIONS
        if unknown:
            raise SourceConfigError(f"{path}: extracts: {name}: unknown keys {sorted(unknown)}; "
                                    f"expected {sorted(_EXTRACT_OPTIONS)}")
        extract_columns[name] = _checked_mapping(path, name, spec.get("columns") or {})
        if spec.get("statuses"):
            if name != "orders":
                raise SourceConfigError(f"{path}: extracts: {name}: only orders have statuses")
            status_mapping = _checked_statuses(path, spec["statuses"])
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
    return SourceConfig(extract_columns=extract_columns, file_rules=tuple(rules), status_mapping=status_mapping)


def _checked_statuses(path: Path, mapping) -> dict[str, str]:
    if not isinstance(mapping, dict):
        raise SourceConfigError(f"{path}: extracts: orders: statuses must map a status to one of "
                                f"{', '.join(ORDER_STATUSES)}, e.g. {{pending: cancelled}}")
    checked = {}
    for word, meaning in mapping.items():
        if str(meaning).strip().lower() not in ORDER_STATUSES:
            raise SourceConfigError(f"{path}: extracts: orders: statuses: {word!r} maps to {meaning!r}; "
                                    f"expected one of {', '.join(ORDER_STATUSES)}")
        checked[status_key(str(word))] = str(meaning).strip().lower()
    return checked


def _checked_mapping(path: Path, where: str, mapping: dict) -> dict[str, str]:
    known = {c for e in EXTRACTS.values() for c in e.input_column_names}
    for header, canonical in mapping.items():
        if canonical not in known:
            raise SourceConfigError(f"{path}: {where}: {header!r} maps to unknown column {canonical!r}")
    return {str(k): str(v) for k, v in mapping.items()}
