"""The landing directory: which files belong to which extract, in the order that decides duplicates."""

from __future__ import annotations

from pathlib import Path

from pipelines.ingestion.compression import is_zip_archive, only_file_name
from pipelines.ingestion.contracts import EXTRACTS, Extract
from pipelines.ingestion.erasure import REQUEST_FILE_PREFIX
from pipelines.ingestion.source_config import CONFIG_FILE_NAME

SUPPORTED_SUFFIXES = (".csv", ".parquet", ".txt", ".tsv", ".xlsx", ".csv.gz", ".txt.gz", ".tsv.gz", ".zip")


def type_suffix(path: Path) -> str:
    """What says how a file is read: .csv for orders.csv, .csv.gz for orders.csv.gz, .gz for orders.gz."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return Path(path.stem).suffix.lower() + suffix
    return suffix


def is_supported(path: Path) -> bool:
    return type_suffix(path) in SUPPORTED_SUFFIXES


def name_telling_the_extract(path: Path) -> str:
    """The file's name; for a zip archive named like no extract (export.zip, as a shop's admin names its
    downloads), the name of the one file it holds, when it holds one."""
    named_like_one = any(path.name.lower().startswith(e.file_prefix) for e in EXTRACTS.values())
    if is_zip_archive(path) and not named_like_one:
        return only_file_name(path) or path.name
    return path.name


def discover_files(landing_dir: Path, extract: Extract) -> list[Path]:
    """Files of one extract, in the order that decides which duplicate wins: by name (a zip archive's own)."""
    if not landing_dir.is_dir():
        return []
    found = [
        p for p in landing_dir.iterdir()
        if p.is_file() and is_supported(p) and not p.name.startswith(".")
        and name_telling_the_extract(p).lower().startswith(extract.file_prefix)
    ]
    return sorted(found, key=lambda p: p.name)


def extract_file_patterns() -> str:
    """customers*, orders*, survey_responses* or marketing_spend*"""
    patterns = [f"{extract.file_prefix}*" for extract in EXTRACTS.values()]
    return f"{', '.join(patterns[:-1])} or {patterns[-1]}"


def is_control_file(path: Path) -> bool:
    """retentio_sources.yml, erasure requests and hidden files: read for what they say, never as extracts."""
    return (path.name == CONFIG_FILE_NAME or path.name.startswith(".")
            or path.name.lower().startswith(REQUEST_FILE_PREFIX))


def folders_in(landing_dir: Path) -> list[Path]:
    """The landing directory's folders but hidden ones: never read (an extract is a file in the directory
    itself), so they are named to whoever put files there."""
    if not landing_dir.is_dir():
        return []
    return sorted(p for p in landing_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def files_matching_no_extract(landing_dir: Path) -> list[Path]:
    """The landing directory's files that are neither an extract nor a control file, by name."""
    if not landing_dir.is_dir():
        return []
    extracts = {path for extract in EXTRACTS.values() for path in discover_files(landing_dir, extract)}
    return sorted(p for p in landing_dir.iterdir()
                  if p.is_file() and p not in extracts and not is_control_file(p))
