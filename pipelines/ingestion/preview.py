"""`make check-extracts`: what the ingestion would make of the landing directory, before any run.

For every file of the landing directory: which extract it was recognised as (or that it matches none),
how it is written (separator, encoding, decimal mark, date order and why), which of its columns became
which contract column and which are ignored, whether it is one row per order or per order line, how many
rows would load and be quarantined, the first rejected rows with their reasons, and what to change
(the mapping in retentio_sources.yml, RETENTIO_CURRENCY, date_order, status mapping).

It runs the real ingestion (the same code as the pipeline, no Dagster) into a temporary directory that is
removed afterwards: nothing is written to the warehouse. Exit status 0 when every file can be read and
none would stop the run, 1 otherwise.

    python -m pipelines.ingestion.preview [--landing DIR] [--rows N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.ingestion.compression import archived_file, is_gzipped, is_zip_archive
from pipelines.ingestion.contracts import EXTRACTS, RejectReason
from pipelines.ingestion.date_order import DATE_ORDER_NAMES
from pipelines.ingestion.dialects import SECOND_HEADER_ROW
from pipelines.ingestion.errors import ExtractFileError
from pipelines.ingestion.landing import (
    SUPPORTED_SUFFIXES,
    discover_files,
    extract_file_patterns,
    files_matching_no_extract,
    is_control_file,
    landing_files,
    landing_name,
)
from pipelines.ingestion.rejection_advice import ADVICE_BY_REASON
from pipelines.ingestion.source_config import CONFIG_FILE_NAME, SourceConfigError, load_source_config
from pipelines.settings import Settings

FIRST_REJECTED_ROWS = 5
# The contract lists the extracts in the order their assets run: customers before what refers to them.
INGESTION_ORDER = tuple(EXTRACTS)
# Warnings the layout lines already say ("ignored:", "worked out:").
SAID_IN_THE_LAYOUT = ("unknown columns ignored:", "no status column:", SECOND_HEADER_ROW)


@dataclass
class FilePreview:
    name: str
    extract: str | None = None
    problem: str | None = None              # the file cannot be read at all
    layout: list[str] = field(default_factory=list)
    outcome: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    stops_the_run: bool = False
    has_dates: bool = True                  # a column read as a date (without one, the date order is moot)


def preview(landing_dir: Path, currency: str | None = None, rejected_rows: int = FIRST_REJECTED_ROWS,
            sources_config: Path | None = None,
            max_rejected_pct: float = Settings.max_rejected_pct) -> tuple[str, bool]:
    """(the report, whether every file can be read and none would stop the run). `currency`, `sources_config`
    and `max_rejected_pct` are the settings (pipelines/settings.py) the run would use."""
    landing_dir = Path(landing_dir)
    lines = [f"Landing directory: {landing_dir}"]
    if not landing_dir.is_dir():
        return "\n".join(lines + ["  does not exist: set RETENTIO_LANDING_DIR or pass --landing"]), False
    try:
        config = load_source_config(landing_dir, sources_config)
    except SourceConfigError as exc:
        return "\n".join(lines + [f"  {CONFIG_FILE_NAME}: {exc}"]), False
    previews: dict[str, FilePreview] = {}
    readable: dict[str, list[Path]] = {}
    for name in INGESTION_ORDER:
        extract = EXTRACTS[name]
        readable[name] = []
        for path in discover_files(landing_dir, extract):
            file_name = landing_name(path, landing_dir)
            file_preview = previews[file_name] = FilePreview(file_name, name)
            try:
                _describe_layout(file_preview, path, file_name, extract, config)
                readable[name].append(path)
            except ExtractFileError as exc:
                file_preview.problem = exc.problem + (f" (line {exc.line})" if exc.line else "") + \
                    (f" ({exc.columns_named})" if exc.columns else "")
                file_preview.advice += _advice_for_unreadable(exc, extract.name, file_name)
    with tempfile.TemporaryDirectory(prefix="retentio-preview-") as scratch:
        reporting, warnings = _ingest_readable(landing_dir, Path(scratch), readable, currency, previews, rejected_rows,
                                               sources_config, max_rejected_pct)
    lines.append(f"Reporting currency: {reporting}" if reporting else "Reporting currency: (no orders or spend)")
    lines += [f"  note: {w}" for w in warnings]
    unread = set(files_matching_no_extract(landing_dir))
    for path in landing_files(landing_dir):
        file_name = landing_name(path, landing_dir)
        if file_name in previews:
            lines += _render(previews[file_name])
        elif path in unread:
            from pipelines.ingestion.readers import extract_whose_columns_fit, renamed_for

            fits = extract_whose_columns_fit(path, config)
            if is_control_file(path):  # in a folder: not acted on
                change = "move it up into the landing directory itself, the only place it is read from"
            elif fits is not None:
                change = f"rename it {renamed_for(path, fits)} (its columns are the {fits.name} extract's)"
            elif is_zip_archive(path) and (problem := _archive_problem(path)):
                change = (f"{problem} (an archive is recognised by its own name or by its one file's, "
                          f"{extract_file_patterns()})")
            else:
                change = f"name it {extract_file_patterns()} ({', '.join(SUPPORTED_SUFFIXES)})"
            lines += ["", f"{file_name}: matches no extract",
                      f"  to change: {change}, or remove it from the landing directory"]
    if not previews:
        lines += ["", "No extract found: at least an orders* file (.csv, .parquet or a workbook) is needed."]
    ok = bool(previews) and not any(p.problem or p.stops_the_run for p in previews.values())
    return "\n".join(lines), ok


def _archive_problem(path: Path) -> str | None:
    """Why a zip archive named like no extract was not told by its file's name: it holds several, or none."""
    try:
        archived_file(path)
    except ExtractFileError as exc:
        return exc.problem
    return None


def _describe_layout(file_preview: FilePreview, path: Path, file_name: str, extract, config) -> None:
    from pipelines.ingestion.readers import open_extract_file

    options = config.options_for(extract.name, file_name)
    opened = open_extract_file(path, extract, options, path.stat().st_size, file_name)
    mapping = opened.mapping
    shape = "one row per order line, rolled up into orders" if mapping.line_level else extract.row_is
    file_preview.layout.append(f"recognised as: {extract.name} ({shape})")
    if opened.dialect is not None:
        d = opened.dialect
        file_preview.layout.append(
            f"dialect: separator {d.delimiter!r}, encoding {d.encoding}, decimal mark {d.decimal!r}"
            + (f", header on line {d.header_line}" if d.header_line != 1 else "")
            + (f", second header row on line {d.header_line + 1} skipped (sub-headers: not data)"
               if d.header_rows == 2 else "")
            + (", gzip-compressed" if is_gzipped(path) else "")
            + (f", zip archive of {archived_file(path).filename}" if is_zip_archive(path) else ""))
    elif opened.workbook is not None:
        sheets = ", ".join(f"'{name}'" for name in opened.workbook.sheets)
        file_preview.layout.append(f"format: Excel workbook, worksheet(s) {sheets}, header on row "
                                   f"{opened.workbook.header_rows[opened.workbook.sheets[0]] + 1}"
                                   + (", second header row under it skipped (sub-headers: not data)"
                                      if opened.workbook.sub_header_sheets else ""))
    else:
        file_preview.layout.append("format: Parquet")
    mapped = ", ".join(f"{header} -> {column}" for column, header in
                       sorted(mapping.headers.items(), key=lambda item: mapping.positions[item[0]]))
    file_preview.layout.append(f"columns: {mapped}")
    for column, (value, source) in mapping.constants.items():
        file_preview.layout.append(f"{column}: {value} on every row, as {source} says")
    file_preview.has_dates = bool(mapping.date_columns(extract))
    if mapping.unknown_columns:
        file_preview.layout.append(f"ignored: {', '.join(mapping.unknown_columns)}")
    for column in mapping.absent_derived(extract):
        file_preview.layout.append(f"worked out: {column} ({extract.derived_when_absent[column].description})")


def _ingest_readable(landing_dir: Path, scratch: Path, readable: dict[str, list[Path]], currency: str | None,
                     previews: dict[str, FilePreview], rejected_rows: int, sources_config: Path | None,
                     max_rejected_pct: float) -> tuple[str | None, list[str]]:
    """The real ingestion of the readable files into `scratch`; fills each file's outcome and advice."""
    from pipelines.ingestion.loader import ingest_extract

    landing = scratch / "landing"
    landing.mkdir()
    for path in [p for paths in readable.values() for p in paths] + [
            p for p in landing_dir.iterdir()
            if p.is_file() and is_control_file(p) and not p.name.startswith(".")]:
        mirrored = landing / landing_name(path, landing_dir)  # in the same folder: its name is its identity
        mirrored.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(path.resolve(), mirrored)
    raw, cache = scratch / "raw", scratch / "cache"
    reporting, warnings = None, []
    for name in INGESTION_ORDER:
        try:
            result = ingest_extract(name, landing, raw, cache, currency=currency, sources_config=sources_config,
                                    customers_dir=raw / "customers" if EXTRACTS[name].references_customers else None)
        except ExtractFileError as exc:  # became unreadable since it was opened above
            if exc.name in previews:
                previews[exc.name].problem = exc.problem
            continue
        if result.reporting_currency is not None:
            reporting = result.reporting_currency.explanation()
        delivered = any(p.extract == name for p in previews.values())
        for warning in (w.replace(str(landing), str(landing_dir)) for w in result.warnings):
            owner = next((p for f, p in previews.items() if warning.startswith((f"{f}:", f"{f} "))), None)
            if owner is None:
                if not (delivered and warning.startswith("no ")):  # its files are there, but unreadable
                    warnings.append(warning)
                continue
            said = warning.removeprefix(f"{owner.name}: ")
            if said.startswith(SAID_IN_THE_LAYOUT):
                continue
            # What names a setting to change is advice; the rest is what the ingestion noticed.
            (owner.advice if "RETENTIO_" in said or CONFIG_FILE_NAME in said else owner.notes).append(said)
        _outcomes(result, previews, rejected_rows, cache / name, max_rejected_pct)
    return reporting, list(dict.fromkeys(warnings))


def _parse_meta(parses: Path, version_dir: Path) -> dict[str, dict]:
    """The parse's meta.json of each file of a version (date order and why), by file name."""
    from pipelines.ingestion.raw_layer import VersionState

    state = VersionState.read(version_dir)
    metas = {}
    for entry in state.files if state else []:
        meta = parses / entry.parse / "meta.json"
        if entry.parse and meta.exists():
            metas[entry.source_file] = json.loads(meta.read_text())
    return metas


def _outcomes(result, previews: dict[str, FilePreview], rejected_rows: int, parses: Path, limit: float) -> None:
    import duckdb

    con = duckdb.connect()
    try:
        quarantine = f"read_parquet('{result.version_dir / 'quarantine.parquet'}')"
        by_reason = defaultdict(list)
        for source_file, reason, count in con.execute(
                f"select source_file, reason, count(*) from {quarantine} group by all order by 1, 3 desc, 2").fetchall():
            by_reason[source_file].append((reason, count))
        first = defaultdict(list)
        for row in con.execute(f"""
                select source_file, source_row, reason, column_name, detail, raw_record from {quarantine}
                qualify row_number() over (partition by source_file order by source_row) <= {int(rejected_rows)}
                order by source_file, source_row""").fetchall():
            first[row[0]].append(row[1:])
        statuses = defaultdict(list)
        for source_file, word, count in con.execute(f"""
                select source_file, json_extract_string(raw_record, '$.status'), count(*) from {quarantine}
                where reason = '{RejectReason.UNKNOWN_STATUS.value}' group by all order by 1, 3 desc""").fetchall():
            statuses[source_file].append((word, count))
    finally:
        con.close()
    metas = _parse_meta(parses, result.version_dir)
    for ledger in result.files:
        file_preview = previews.get(ledger["source_file"])
        if file_preview is None:
            continue
        dialect = json.loads(ledger["dialect"] or "{}")
        basis = metas.get(ledger["source_file"], {}).get("date_order_basis")
        if basis and basis.startswith("no date with"):
            file_preview.layout.append(f"dates: {basis}: the order of day and month does not matter")
        elif dialect.get("date_order") and file_preview.has_dates:
            file_preview.layout.append(f"dates: {DATE_ORDER_NAMES[dialect['date_order']]}"
                                       + (f"; {basis}" if basis else ""))
        if ledger["status"] != "loaded":
            file_preview.outcome.append(f"not loaded: {ledger['status']}"
                                        + (f" (same content as {ledger['duplicate_of']})" if ledger["duplicate_of"] else ""))
            continue
        read, quarantined = ledger["rows_read"], ledger["rows_quarantined"]
        share = 100.0 * quarantined / read if read else 0.0
        unit = "lines" if file_preview.layout and "order line" in file_preview.layout[0] else "rows"
        file_preview.outcome.append(f"{unit}: {read:,} read, {ledger['rows_loaded']:,} would load, "
                                    f"{quarantined:,} quarantined ({share:.1f} %)")
        if by_reason[ledger["source_file"]]:
            file_preview.outcome.append("quarantined: " + ", ".join(
                f"{reason} {count:,}" for reason, count in by_reason[ledger["source_file"]]))
        for source_row, reason, column, detail, raw in first[ledger["source_file"]]:
            file_preview.outcome.append(f"  row {source_row}: {reason}" + (f" ({column})" if column else "")
                                        + f": {detail}; values {raw}")
        if share > limit:
            file_preview.stops_the_run = True
            file_preview.advice.insert(0, f"more than {limit:g} % of its rows would be quarantined: "
                                          "the run would stop (RETENTIO_MAX_REJECTED_PCT)")
        file_preview.advice += _advice_for_reasons(ledger["source_file"], dict(by_reason[ledger["source_file"]]),
                                                   statuses[ledger["source_file"]], dialect)


def _advice_for_unreadable(exc: ExtractFileError, extract: str, file_name: str) -> list[str]:
    if exc.problem.startswith("required column") and exc.columns:
        mapping = (f'"<its header>": {exc.column}' if len(exc.columns) == 1 else
                   ", ".join(f'"<its header for {column}>": {column}' for column in exc.columns))
        return [f"map the file's column{'s' if len(exc.columns) > 1 else ''} holding "
                f"{_and_list(exc.columns)} in {CONFIG_FILE_NAME}: "
                f"extracts: {{{extract}: {{columns: {{{mapping}}}}}}}"]
    if "header not recognised" in exc.problem:
        return [f"check the separator (files: - match: \"{file_name}\", delimiter: \";\") or map the headers in "
                f"{CONFIG_FILE_NAME} (extracts: {extract}: columns:)"]
    return []


def _and_list(words: tuple[str, ...]) -> str:
    return " and ".join(words) if len(words) < 3 else f"{', '.join(words[:-1])} and {words[-1]}"


def _advice_for_reasons(file_name: str, reasons: dict[str, int], statuses: list[tuple[str, int]],
                        dialect: dict) -> list[str]:
    advice = []
    if RejectReason.INVALID_DATE.value in reasons and dialect.get("date_order"):
        other = "mdy" if dialect["date_order"] == "dmy" else "dmy"
        advice.append(f"if its dates are {DATE_ORDER_NAMES[other]}, pin it in {CONFIG_FILE_NAME}: "
                      f"files: [{{match: \"{file_name}\", date_order: {other}}}]")
    if statuses:
        words = ", ".join(f"{word}: <completed|refunded|cancelled>" for word, _ in statuses[:5])
        advice.append(f"map the shop's statuses in {CONFIG_FILE_NAME}: extracts: {{orders: {{statuses: {{{words}}}}}}}")
    if RejectReason.UNKNOWN_CUSTOMER.value in reasons:
        advice.append("rows refer to customers no customers* file holds: deliver them (or no customers file at "
                      "all: customers are then derived from the orders)")
    for reason in (RejectReason.INVALID_IDENTIFIER, RejectReason.DUPLICATE_ROW, RejectReason.DUPLICATE_KEY):
        if reason.value in reasons and reasons[reason.value] * 2 > sum(reasons.values()):
            advice.append(ADVICE_BY_REASON[reason.value])  # the run's words, when it is what stops it
    if RejectReason.INVALID_NUMBER.value in reasons and dialect.get("decimal"):  # a text file's decimal mark
        other = "." if dialect["decimal"] == "," else ","
        advice.append(f"if amounts use the other decimal mark than {dialect['decimal']!r}, pin it in "
                      f"{CONFIG_FILE_NAME}: files: [{{match: \"{file_name}\", decimal: \"{other}\"}}]")
    return advice


def _render(file_preview: FilePreview) -> list[str]:
    lines = ["", f"{file_preview.name}:"]
    if file_preview.problem:
        lines.append(f"  cannot be read ({file_preview.extract} extract): {file_preview.problem}")
    lines += [f"  {line}" for line in file_preview.layout + file_preview.outcome]
    lines += [f"  note: {line}" for line in dict.fromkeys(file_preview.notes)]
    lines += [f"  to change: {line}" for line in dict.fromkeys(file_preview.advice)]
    return lines


def main(argv: list[str] | None = None) -> int:
    from pipelines.settings import SettingsError

    parser = argparse.ArgumentParser(prog="python -m pipelines.ingestion.preview",
                                     description="Show what the ingestion would make of the landing directory, "
                                                 "without running the pipeline or writing to the warehouse.")
    parser.add_argument("--landing", type=Path, default=None, help="landing directory (default RETENTIO_LANDING_DIR)")
    parser.add_argument("--rows", type=int, default=FIRST_REJECTED_ROWS, help="rejected rows shown per file")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report, ok = preview(args.landing or settings.landing_dir, settings.currency, args.rows,
                         settings.sources_config_file, settings.max_rejected_pct)
    print(report)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
