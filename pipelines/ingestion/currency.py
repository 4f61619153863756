"""The reporting currency: what every amount is checked against, published in, and reported with.

RETENTIO_CURRENCY when it is set. Otherwise the currency the extracts state (orders, marketing spend):
the only one, or, when they state several, the one stated on most rows (with a warning naming them);
an amount written with £ or € and no currency code states GBP or EUR (row_checks.stated_currency_sql);
EUR when none is stated, with a warning naming the setting. An empty currency cell beside a plain amount
states nothing: it means "the reporting currency".

It is resolved where the rows are checked, by the ingestion of each extract with a currency column, and
recorded in the raw layer (`raw/reporting_currency.json`, with the currencies each file states), so every
later step reads the same value: call `reporting_currency(settings)`.

What a file states is counted when it is parsed (parsing.py, `stated_currencies`), at no extra cost, and
kept in a small index per extract (by file name, size and modification time), so the ingestion of one
extract finds what the other's files state without reading them again. A file no parse has seen yet is
read for its currency column only.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.ingestion.contracts import EXTRACTS, ColumnType, Extract
from pipelines.ingestion.landing import discover_files, landing_name

if TYPE_CHECKING:
    from pipelines.ingestion.parsing import FileOutcome
    from pipelines.ingestion.source_config import SourceConfig
    from pipelines.settings import Settings

DEFAULT_CURRENCY = "EUR"
RECORD_FILE = "reporting_currency.json"
SETTING = "RETENTIO_CURRENCY"
CENSUS_DIR = "stated_currencies"
CENSUS_VERSION = 2  # bump when what a file states is counted differently (2: the amounts' symbols count)
CURRENCY_EXTRACTS = tuple(e for e in EXTRACTS.values() if any(c.type is ColumnType.CURRENCY for c in e.columns))


@dataclass(frozen=True)
class ReportingCurrency:
    code: str
    source: str                                   # RETENTIO_CURRENCY | extracts | default
    stated: dict[str, dict[str, int]] = field(default_factory=dict)   # code -> file -> rows stating it

    def explanation(self) -> str:
        if self.source == SETTING:
            return f"{self.code}, set by {SETTING}"
        if self.source == "default":
            return f"{self.code}: no extract states a currency and {SETTING} is not set"
        if len(self.stated) == 1:
            return f"{self.code}: the only currency the extracts state ({_where(self.stated[self.code])})"
        others = ", ".join(f"{code} on {sum(files.values()):,} rows" for code, files in sorted(self.stated.items())
                           if code != self.code)
        return (f"{self.code}: the currency stated on most rows ({sum(self.stated[self.code].values()):,}); "
                f"the extracts also state {others}, quarantined as currency_mismatch; set {SETTING} to choose")

    def warnings(self, extract: Extract) -> list[str]:
        if self.source == "extracts" and len(self.stated) > 1:
            return [f"the extracts state several currencies: reporting currency {self.explanation()}"]
        # A shop exporting no currency (the UCI Online Retail file, a till) is as likely to count in pounds as
        # in euros: say which one the amounts will be reported in. Said once, by the orders' ingestion (the
        # spend's resolves the same currency).
        if self.source == "default" and extract.name == "orders":
            return [no_currency_stated_warning(self.code)]
        return []


def no_currency_stated_warning(code: str) -> str:
    return (f"no extract states a currency and {SETTING} is not set: amounts are reported in {code}; if they are "
            f"in another currency, set {SETTING} to its ISO 4217 code (e.g. {SETTING}=GBP), and if {code} is "
            f"right, set {SETTING}={code} to say so")


def _where(files: dict[str, int]) -> str:
    return ", ".join(sorted(files)) if len(files) <= 3 else f"{len(files)} files"


def half_written(raw_dir: Path, cache_dir: Path, extract: Extract) -> list[Path]:
    """What an ingestion of `extract` killed while writing the record or its index leaves behind."""
    return [*raw_dir.glob(f".{RECORD_FILE}.*.tmp"), *(cache_dir / CENSUS_DIR).glob(f".{extract.name}.json.*.tmp")]


def decide(setting: str | None, stated: dict[str, dict[str, int]]) -> ReportingCurrency:
    """The reporting currency for `setting` (RETENTIO_CURRENCY, None when unset) and what the extracts state."""
    stated = {code: dict(sorted(files.items())) for code, files in sorted(stated.items()) if files}
    if setting:
        return ReportingCurrency(setting, SETTING, stated)
    if not stated:
        return ReportingCurrency(DEFAULT_CURRENCY, "default", stated)
    # Most rows first, then the code's alphabetical order: the same files always give the same answer.
    code = min(stated, key=lambda c: (-sum(stated[c].values()), c))
    return ReportingCurrency(code, "extracts", stated)


def record(raw_dir: Path, currency: ReportingCurrency) -> None:
    """Write raw/reporting_currency.json, replaced whole (a reader sees the old record or the new one)."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    path = raw_dir / RECORD_FILE
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(asdict(currency) | {"explanation": currency.explanation()}, indent=1))
    os.replace(tmp, path)


def recorded(raw_dir: Path) -> ReportingCurrency | None:
    path = raw_dir / RECORD_FILE
    if not path.exists():
        return None
    content = json.loads(path.read_text())
    return ReportingCurrency(content["code"], content["source"], content["stated"])


def reporting_currency(settings: "Settings") -> str:
    """The reporting currency (ISO 4217 code) of the run: what publishing, the report and the summary show.

    RETENTIO_CURRENCY when set; else what the ingestion resolved and recorded in the raw layer; before any
    ingestion, resolved from the landing directory as the ingestion would.
    """
    if settings.currency:
        return settings.currency
    found = recorded(settings.raw_dir)
    if found is not None:
        return found.code
    from pipelines.ingestion.source_config import load_source_config

    config = load_source_config(settings.landing_dir, settings.sources_config_file)
    stated: dict[str, dict[str, int]] = {}
    for extract in CURRENCY_EXTRACTS:
        _add(stated, stated_in_files(extract, settings.landing_dir, settings.parse_cache_dir, config))
    return decide(None, stated).code


# --- what the files state -----------------------------------------------------------------------------


def _census_path(cache_dir: Path, extract: Extract) -> Path:
    return cache_dir / CENSUS_DIR / f"{extract.name}.json"


def _stat_key(path: Path) -> list[int]:
    """What says the index's entry is this file's: its size and modification time, and how it was counted."""
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns, CENSUS_VERSION]


def remember_parsed(cache_dir: Path, extract: Extract, landing_dir: Path, outcomes: list["FileOutcome"]) -> None:
    """Index what each parsed file of `extract` states, by name, size and modification time."""
    entries = {}
    for outcome in outcomes:
        if outcome.status != "loaded":
            continue
        try:
            entries[outcome.source_file] = {"stat": _stat_key(landing_dir / outcome.source_file),
                                            "stated": outcome.stated_currencies}
        except FileNotFoundError:
            continue
    _write_census(cache_dir, extract, entries)


def _write_census(cache_dir: Path, extract: Extract, entries: dict) -> None:
    path = _census_path(cache_dir, extract)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(entries, sort_keys=True))
    os.replace(tmp, path)


def stated_in_outcomes(outcomes: list["FileOutcome"]) -> dict[str, dict[str, int]]:
    stated: dict[str, dict[str, int]] = {}
    for outcome in outcomes:
        if outcome.status == "loaded":
            for code, rows in outcome.stated_currencies.items():
                stated.setdefault(code, {})[outcome.source_file] = rows
    return stated


def stated_in_files(extract: Extract, landing_dir: Path, cache_dir: Path, config: "SourceConfig") -> dict[str, dict[str, int]]:
    """What every file of `extract` in the landing directory states: from the index when the file is the
    one parsed before, else read from the file (its currency column)."""
    path = _census_path(cache_dir, extract)
    index = json.loads(path.read_text()) if path.exists() else {}
    stated: dict[str, dict[str, int]] = {}
    changed = False
    for file in discover_files(landing_dir, extract):
        name = landing_name(file, landing_dir)
        try:
            key = _stat_key(file)
        except FileNotFoundError:
            continue
        entry = index.get(name)
        if entry is None or entry["stat"] != key:
            counted = _count_stated(file, name, extract, config)
            if counted is None:
                continue  # unreadable: its own ingestion says why
            entry = index[name] = {"stat": key, "stated": counted}
            changed = True
        for code, rows in entry["stated"].items():
            stated.setdefault(code, {})[name] = rows
    if changed:
        _write_census(cache_dir, extract, index)
    return stated


def _count_stated(path: Path, name: str, extract: Extract, config: "SourceConfig") -> dict[str, int] | None:
    """Rows per valid currency code in one file, read the way its ingestion reads it."""
    import duckdb
    import pyarrow as pa

    from pipelines.ingestion.errors import ExtractFileError
    from pipelines.ingestion.readers import NeedsSlowPath, open_extract_file, read_batches
    from pipelines.ingestion.row_checks import ISO_4217_CODES, stated_currency_sql

    try:
        opened = open_extract_file(path, extract, config.options_for(extract.name, name), path.stat().st_size,
                                   name)
        stated = stated_currency_sql("currency", opened.extract.file_columns(opened.mapping.line_level))
        con = duckdb.connect()
        try:
            for slow in (False, True):
                counts: dict[str, int] = {}
                try:
                    for batch in read_batches(opened, slow=slow):
                        con.register("batch", pa.Table.from_batches([batch]))
                        for code, rows in con.execute(f"select upper({stated}), count(*) from batch as r "
                                                      "group by all").fetchall():
                            if code in ISO_4217_CODES:
                                counts[code] = counts.get(code, 0) + rows
                        con.unregister("batch")
                    return dict(sorted(counts.items()))
                except NeedsSlowPath:
                    continue  # a malformed record: read again record by record
        finally:
            con.close()
    except (ExtractFileError, OSError, duckdb.Error):
        pass
    return None


def _add(stated: dict[str, dict[str, int]], more: dict[str, dict[str, int]]) -> None:
    for code, files in more.items():
        stated.setdefault(code, {}).update(files)


def resolve(extract: Extract, own: dict[str, dict[str, int]], setting: str | None, landing_dir: Path,
            cache_dir: Path, config: "SourceConfig") -> ReportingCurrency:
    """The reporting currency, from what `extract`'s own files state (`own`, from their parses) and what
    the other extracts with a currency state."""
    if setting:
        return decide(setting, own)
    stated = {code: dict(files) for code, files in own.items()}
    for other in CURRENCY_EXTRACTS:
        if other.name != extract.name:
            _add(stated, stated_in_files(other, landing_dir, cache_dir, config))
    return decide(None, stated)
