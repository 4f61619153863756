"""Load every file of one extract into the raw layer, losing nothing.

Two stages: parse each file (parsing.py: typed and checked row by row, once per distinct content; a file
of order lines rolled up into orders, order_lines.py), then reconcile them across files into a version of
the raw layer (reconcile.py; raw_layer.py describes the layout). An extract with a currency is checked
against the reporting currency, resolved and recorded on the way (currency.py). A version is an immutable
directory swapped in by renaming a symlink; its token is a hash of everything it depends on, so a run
with unchanged inputs reuses it.

Everything is built in a dot-named `.tmp` directory and renamed into place, so a run killed half-way
leaves only such directories behind: nothing reads them, and the next ingestion of the extract removes
them (it holds a lock per extract, so they cannot belong to a run still going).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.ingestion import currency as reporting
from pipelines.ingestion.contracts import EXTRACTS, Extract, RejectReason
from pipelines.ingestion.erasure import read_erasure_requests
from pipelines.ingestion.errors import ExtractFileError
from pipelines.ingestion.landing import SUPPORTED_SUFFIXES, discover_files
from pipelines.ingestion.parsing import PARSER_VERSION, FileOutcome, connect, parse_files
from pipelines.ingestion.raw_layer import VersionState, data_glob, holds_loaded_files
from pipelines.ingestion.reconcile import (
    CannotAppend,
    Upstream,
    can_append,
    file_entries,
    reconcile_by_appending,
    reconcile_in_full,
)
from pipelines.ingestion.row_checks import stated_currency_of_raw_record_sql
from pipelines.ingestion.source_config import SourceConfig, load_source_config
from pipelines.shared import applied_state, record_state

__all__ = ["IngestionResult", "discover_files", "ingest_extract"]

# Said once, by the customers' ingestion, when there is no CRM extract: the orders stand in for it.
NO_CUSTOMERS_EXTRACT = ("no customers*.csv: customers are derived from the orders (signup = first order day, "
                        "country from the orders, channel unknown, no consent)")


@dataclass
class IngestionResult:
    extract: str
    version_dir: Path
    files: list[dict]
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    quarantined_by_reason: dict[str, int]
    warnings: list[str]
    reused: bool
    appended: bool = False   # only new rows, in a new batch (else a new generation, or reused)
    batch: int = 0
    reporting_currency: reporting.ReportingCurrency | None = None  # for an extract with a currency

    @property
    def data_glob(self) -> str:
        return data_glob(self.version_dir)


def _version_token(extract: Extract, outcomes: list[FileOutcome], upstream: str | None) -> str:
    payload = json.dumps({"v": PARSER_VERSION, "extract": extract.name, "upstream": upstream,
                          "files": [(o.source_file, o.checksum, o.status, str(o.parsed_path.name if o.parsed_path else ""))
                                    for o in outcomes]})
    return hashlib.blake2b(payload.encode(), digest_size=8).hexdigest()


def _swap_symlink(link: Path, target_name: str) -> None:
    tmp_link = link.with_name(f".{link.name}.{uuid.uuid4().hex}.link")
    os.symlink(target_name, tmp_link)
    os.replace(tmp_link, link)


@contextlib.contextmanager
def _extract_lock(raw_dir: Path, extract: Extract):
    """One ingestion of an extract at a time, so whatever `.tmp` it finds was left by a run that died."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    with open(raw_dir / f".{extract.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _remove_leftovers(raw_dir: Path, cache_dir: Path, extract: Extract) -> None:
    """What a killed run of this extract left half-built: parses, versions and symlinks never swapped in."""
    half_built = [*(cache_dir / extract.name).glob(".*.tmp"), *(raw_dir / ".versions").glob(f".{extract.name}-*.tmp")]
    for stale in half_built:
        shutil.rmtree(stale, ignore_errors=True)
    for stale_link in raw_dir.glob(f".{extract.name}.*.link"):
        stale_link.unlink(missing_ok=True)
    for stale_file in reporting.half_written(raw_dir, cache_dir, extract):
        stale_file.unlink(missing_ok=True)


def _collect_garbage(versions_dir: Path, extract: Extract, keep: set[str]) -> None:
    for old in versions_dir.glob(f"{extract.name}-*"):
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def _collect_cache_garbage(cache_dir: Path, extract: Extract, outcomes: list[FileOutcome]) -> None:
    """Parses of file contents no longer in the landing directory are never read again."""
    used = {o.parsed_path.name for o in outcomes if o.parsed_path is not None}
    for old in (cache_dir / extract.name).iterdir():
        if not old.name.startswith(".") and old.name not in used:
            shutil.rmtree(old, ignore_errors=True)


def ingest_extract(
    extract_name: str,
    landing_dir: Path,
    raw_dir: Path,
    cache_dir: Path,
    currency: str | None = None,
    customers_dir: Path | None = None,
    now: datetime | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    sources_config: Path | None = None,
) -> IngestionResult:
    """Parse, reconcile and publish one extract into `raw_dir/<extract>`.

    `currency` is RETENTIO_CURRENCY; None resolves the reporting currency from the extracts (currency.py).
    `customers_dir` is the raw layer's customers (`raw_dir/customers`), which orders and answers are
    checked against when a customers extract was delivered. `sources_config` is RETENTIO_SOURCES_CONFIG (None:
    retentio_sources.yml in the landing directory).
    """
    extract = EXTRACTS[extract_name]
    if extract.references_customers and customers_dir is None:
        raise ValueError(f"{extract_name} refers to customers: pass the raw layer's customers directory")
    config = load_source_config(landing_dir, sources_config)
    with _extract_lock(raw_dir, extract):
        _remove_leftovers(raw_dir, cache_dir, extract)
        return _ingest_locked(extract, landing_dir, raw_dir, cache_dir, config, currency, customers_dir, now,
                              memory_limit, threads)


def _upstream(customers_dir: Path | None) -> Upstream | None:
    if customers_dir is None:
        return None
    state = VersionState.read(customers_dir)
    if state is None:
        raise ValueError(f"{customers_dir} holds no ingested customers: ingest them first")
    return Upstream(customers_dir, state.generation, delivered=holds_loaded_files(customers_dir))


def _parse_in_reporting_currency(
    extract: Extract, landing_dir: Path, raw_dir: Path, cache_dir: Path, config: SourceConfig,
    setting: str | None, now: datetime | None, erasures,
) -> tuple[list[FileOutcome], list[str], reporting.ReportingCurrency]:
    """Parse the files in the reporting currency, resolving it on the way when `setting` is None.

    A parse counts the currencies its file states, so the files are parsed first in the currency resolved
    last time (EUR the first time), which is nearly always the one resolved now; only when it is not are
    they parsed again.
    """
    previous = reporting.recorded(raw_dir)
    guess = setting or (previous.code if previous else reporting.DEFAULT_CURRENCY)
    outcomes, warnings = parse_files(extract, landing_dir, cache_dir, config, guess, now, erasures)
    reporting.remember_parsed(cache_dir, extract, landing_dir, outcomes)
    resolved = reporting.resolve(extract, reporting.stated_in_outcomes(outcomes), setting, landing_dir,
                                 cache_dir, config)
    if resolved.code != guess:
        outcomes, warnings = parse_files(extract, landing_dir, cache_dir, config, resolved.code, now, erasures)
    reporting.record(raw_dir, resolved)
    return outcomes, warnings + resolved.warnings(extract), resolved


def _ingest_locked(
    extract: Extract, landing_dir: Path, raw_dir: Path, cache_dir: Path, config: SourceConfig,
    currency: str | None, customers_dir: Path | None, now: datetime | None, memory_limit: str | None,
    threads: int | None,
) -> IngestionResult:
    erasures = read_erasure_requests(landing_dir)
    resolved = None
    if extract in reporting.CURRENCY_EXTRACTS:
        outcomes, warnings, resolved = _parse_in_reporting_currency(
            extract, landing_dir, raw_dir, cache_dir, config, currency, now, erasures)
    else:
        outcomes, warnings = parse_files(extract, landing_dir, cache_dir, config, currency or "", now, erasures)
    if not discover_files(landing_dir, extract):
        warnings.append(NO_CUSTOMERS_EXTRACT if extract.name == "customers"
                        else f"no {extract.file_prefix}* file ({', '.join(SUPPORTED_SUFFIXES)}) in "
                             f"{landing_dir}")
    if not extract.references_customers:
        customers_dir = None
    upstream = _upstream(customers_dir)
    token = _version_token(extract, outcomes, customers_dir.resolve().name if customers_dir is not None else None)
    versions_dir = raw_dir / ".versions"
    versions_dir.mkdir(parents=True, exist_ok=True)
    version_name = f"{extract.name}-{token}"
    version_dir = versions_dir / version_name
    link = raw_dir / extract.name
    if link.exists() and not link.is_symlink():
        raise ExtractFileError(link, "the raw layer path is not a symlink managed by Retentio; move it away")
    previous_dir = link.resolve() if link.is_symlink() and link.exists() else None
    previous = VersionState.read(previous_dir) if previous_dir is not None else None
    reused = (version_dir / "_SUCCESS").exists()
    appended = False
    if not reused:
        appended = can_append(previous, outcomes, upstream, erasures.fingerprint)
        state = VersionState(
            batch=(previous.batch + 1) if previous else 1,
            generation=previous.generation if appended else token,
            files=file_entries(outcomes),
            customers_generation=upstream.generation if upstream else "",
            erasures=erasures.fingerprint,
        )
        building = versions_dir / f".{version_name}.{uuid.uuid4().hex[:8]}.tmp"
        building.mkdir()
        try:
            con = connect(memory_limit, threads)
            try:
                if appended:
                    try:
                        reconcile_by_appending(con, extract, outcomes, building, upstream, previous_dir, previous,
                                               state)
                    except CannotAppend:
                        appended = False
                        state.generation = token
                        shutil.rmtree(building)
                        building.mkdir()
                if not appended:
                    reconcile_in_full(con, extract, outcomes, building, upstream, state)
            finally:
                con.close()
            record_state(building, erasures.fingerprint)
            (building / "_SUCCESS").write_text("")
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        if version_dir.exists():
            shutil.rmtree(version_dir)
        os.rename(building, version_dir)
    previous_link = os.readlink(link) if link.is_symlink() else None
    _swap_symlink(link, f".versions/{version_name}")
    # The previous version stays for a reader still on it, unless it holds data of someone since erased.
    keep = {version_name}
    if previous_link and applied_state(versions_dir / Path(previous_link).name) == erasures.fingerprint:
        keep.add(Path(previous_link).name)
    _collect_garbage(versions_dir, extract, keep)
    _collect_cache_garbage(cache_dir, extract, outcomes)
    result = summarise(extract.name, version_dir, warnings, reused)
    result.appended = appended
    result.batch = VersionState.read(version_dir).batch
    if resolved is not None:
        result.reporting_currency = resolved
        result.warnings.extend(currency_mismatch_warnings(version_dir, resolved))
    return result


def currency_mismatch_warnings(version_dir: Path, resolved: reporting.ReportingCurrency) -> list[str]:
    """One line per file and foreign currency quarantined as currency_mismatch, saying what to change."""
    con = connect()
    try:
        rows = con.execute(f"""
            select source_file, {stated_currency_of_raw_record_sql()} as found, count(*)
            from read_parquet('{version_dir / "quarantine.parquet"}')
            where reason = '{RejectReason.CURRENCY_MISMATCH.value}'
            group by all order by 1, 2""").fetchall()
    finally:
        con.close()
    return [f"{source_file}: {count:,} row(s) in {found}, not the reporting currency {resolved.code} "
            f"({resolved.explanation()}): quarantined as currency_mismatch; if {found} is your reporting "
            f"currency, set RETENTIO_CURRENCY={found}, else convert them upstream"
            for source_file, found, count in rows]


def summarise(extract_name: str, version_dir: Path, warnings: list[str], reused: bool) -> IngestionResult:
    files = pq.read_table(version_dir / "files.parquet").to_pylist()
    reasons: dict[str, int] = {}
    quarantine = pq.read_table(version_dir / "quarantine.parquet", columns=["reason"])
    for reason in quarantine.column("reason").to_pylist():
        reasons[reason] = reasons.get(reason, 0) + 1
    return IngestionResult(
        extract=extract_name,
        version_dir=version_dir,
        files=files,
        rows_read=sum(f["rows_read"] for f in files),
        rows_loaded=sum(f["rows_loaded"] for f in files),
        rows_quarantined=sum(f["rows_quarantined"] for f in files),
        quarantined_by_reason=dict(sorted(reasons.items())),
        warnings=warnings,
        reused=reused,
    )
