"""The landing directory: which files belong to which extract, in the order that decides duplicates.

Files may sit in folders, as a bucket sync or a partitioned export lays them out (`orders/2024-01.csv`,
`orders/dt=2024-01-01/part-0.parquet`): a file belongs to the extract its own name tells, else to the one
its nearest folder's name tells. It is known by its path under the landing directory (`landing_name`):
two months' `part-0.parquet` are two files.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.ingestion.compression import is_zip_archive, only_file_name
from pipelines.ingestion.contracts import EXTRACTS, Extract
from pipelines.ingestion.excel import EXCEL_SUFFIXES
from pipelines.ingestion.erasure import REQUEST_FILE_PREFIX
from pipelines.ingestion.source_config import CONFIG_FILE_NAME

SUPPORTED_SUFFIXES = (".csv", ".parquet", ".txt", ".tsv", *EXCEL_SUFFIXES, ".csv.gz", ".txt.gz", ".tsv.gz",
                      ".zip")


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
    if is_zip_archive(path) and extract_named_by(path.name) is None:
        return only_file_name(path) or path.name
    return path.name


def landing_name(path: Path, landing_dir: Path) -> str:
    """The file's name in the landing directory, `orders.csv` or `orders/2024-01.csv`: what identifies it in
    the ledger, the rows' lineage (_source_file), the parse cache and every message."""
    return path.relative_to(landing_dir).as_posix()


def landing_files(landing_dir: Path) -> list[Path]:
    """Every file under the landing directory, in its folders too, but hidden ones and those in hidden
    folders (.git, a sync tool's state), in landing-name order. A linked folder (orders -> /mnt/bucket/orders)
    is read like one in place, once even when links make a loop."""
    if not landing_dir.is_dir():
        return []
    found, walked = [], set()
    for folder, subfolders, files in os.walk(landing_dir, followlinks=True):
        walked.add(os.path.realpath(folder))
        subfolders[:] = [name for name in subfolders if not name.startswith(".")
                         and os.path.realpath(os.path.join(folder, name)) not in walked
                         and not is_retentio_output(Path(folder) / name)]
        found += [Path(folder) / name for name in files if not name.startswith(".")]
    return sorted(found, key=lambda p: landing_name(p, landing_dir))


def is_retentio_output(folder: Path) -> bool:
    """A warehouse directory (RETENTIO_WAREHOUSE_DIR set inside the landing directory), a raw layer or a
    parse cache: their Parquet files sit in folders named like extracts (raw/orders/,
    exports/customers.parquet) and must never be read back as deliveries."""
    return (any((folder / marker).exists() for marker in (
        "retentio.duckdb", "bi.duckdb", "raw/.versions", "cache/parsed",  # a warehouse
        ".versions",                                                       # a raw layer
    )) or ((folder / "meta.json").exists() and (folder / "accepted.parquet").exists()))  # a file's parse


def extract_named_by(name: str) -> Extract | None:
    """The extract a file or folder name starts with (orders_2024.csv, orders/), if any."""
    return next((e for e in EXTRACTS.values() if name.lower().startswith(e.file_prefix)), None)


def extract_of(path: Path, landing_dir: Path) -> Extract | None:
    """The extract a landing file belongs to: the one its own name tells (a zip archive's one file's name
    too), else the one its nearest folder's name tells; None for a control file or a type not read."""
    if not is_supported(path) or is_control_file(path):
        return None
    named = extract_named_by(name_telling_the_extract(path))
    if named is not None:
        return named
    folders = path.relative_to(landing_dir).parent.parts
    return next((e for e in map(extract_named_by, reversed(folders)) if e is not None), None)


def discover_files(landing_dir: Path, extract: Extract) -> list[Path]:
    """Files of one extract, in the order that decides which duplicate wins: by landing name (for a zip
    archive, its own)."""
    return [p for p in landing_files(landing_dir) if extract_of(p, landing_dir) is extract]


def extract_file_patterns() -> str:
    """customers*, orders*, survey_responses* or marketing_spend*"""
    patterns = [f"{extract.file_prefix}*" for extract in EXTRACTS.values()]
    return f"{', '.join(patterns[:-1])} or {patterns[-1]}"


def is_control_file(path: Path) -> bool:
    """retentio_sources.yml, erasure requests and hidden files: read for what they say (in the landing
    directory itself only), never as extracts."""
    return (path.name == CONFIG_FILE_NAME or path.name.startswith(".")
            or path.name.lower().startswith(REQUEST_FILE_PREFIX))


def files_matching_no_extract(landing_dir: Path) -> list[Path]:
    """The landing files, in its folders too, that are neither an extract nor a control file the run reads:
    an erasure request in a folder is named, since it is not acted on."""
    return [p for p in landing_files(landing_dir)
            if extract_of(p, landing_dir) is None and not (is_control_file(p) and p.parent == landing_dir)]
