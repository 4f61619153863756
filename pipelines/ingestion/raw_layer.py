"""Where the raw layer keeps an extract, and what a version of it records.

    raw/<extract>            -> .versions/<extract>-<token>/
        data/_batch=<n>/*.parquet   accepted rows, typed, with lineage (_source_file, _source_row, _loaded_at;
                                    orders also _line_count, the landing file's records rolled into the order:
                                    its lines, or 1); one part per landing file (hard links to the parse, when
                                    every row of it was accepted), in the batch that first accepted them
        pending.parquet      rows waiting for their customer (unknown_customer), typed, for a later run
        quarantine.parquet   rejected rows with file, row, column, reason, detail and raw values
        files.parquet        one row per file: checksum, dialect, rows read / loaded / quarantined
        version.json         batch, generation, the files it holds, the customers version it was checked against
    raw/reporting_currency.json  the reporting currency the rows were checked against, and why
                                 (pipelines/ingestion/currency.py)

A version that only adds rows to the previous one (new landing files after the old ones, customers who
arrived for waiting rows) keeps the previous parts as they are and adds a batch: readers find what is new
by `_batch`. Anything else (a file changed or removed, an erasure request, a new file sorting before the
old ones, customers changed) rebuilds every part in a new *generation*; dbt's incremental models rebuild
from scratch when the generation they were built from is gone (pipelines/transform/incremental.py).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines.ingestion.contracts import Extract

DATA_DIR = "data"
BATCH_COLUMN = "_batch"
VERSION_FILE = "version.json"
LINEAGE_COLUMNS = ("_source_file", "_source_row", "_loaded_at")
LINE_COUNT_COLUMN = "_line_count"


def lineage_columns(extract: Extract) -> list[str]:
    """The columns a raw part has after the extract's own: where each row came from."""
    return [*LINEAGE_COLUMNS, *([LINE_COUNT_COLUMN] if extract.lines else [])]


def part_columns(extract: Extract) -> list[str]:
    """Every column of a raw part, in order."""
    return [*extract.column_names, *lineage_columns(extract)]


def source_rows_sql(extract: Extract) -> str:
    """SQL counting the landing-file records a set of raw rows stands for (an order of lines stands for each)."""
    return f"sum({LINE_COUNT_COLUMN})" if extract.lines else "count(*)"


def data_glob(extract_dir: Path) -> str:
    """Every part of an extract's accepted rows, for read_parquet (which adds the `_batch` column)."""
    return f"{extract_dir}/{DATA_DIR}/{BATCH_COLUMN}=*/*.parquet"


def batch_dir(version_dir: Path, batch: int) -> Path:
    return version_dir / DATA_DIR / f"{BATCH_COLUMN}={batch}"


def batch_numbers(version_dir: Path) -> list[int]:
    """The batches a version's accepted rows are in, oldest first."""
    return sorted(int(d.name.split("=", 1)[1]) for d in (version_dir / DATA_DIR).glob(f"{BATCH_COLUMN}=*"))


@dataclass(frozen=True)
class FileEntry:
    """What a version holds of one landing file; two versions hold the same file when these are equal."""

    source_file: str
    checksum: str
    status: str
    parse: str          # name of the parse directory in the cache ('' when not parsed)


@dataclass
class VersionState:
    batch: int                      # the batch this version added (every part of a new generation is in it)
    generation: str                 # stays the same while versions only add rows
    files: list[FileEntry] = field(default_factory=list)
    customers_generation: str = ""  # of the customers the rows were checked against (extracts that refer to them)
    erasures: str = ""              # fingerprint of the erasure requests applied

    def write(self, version_dir: Path) -> None:
        (version_dir / VERSION_FILE).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def read(cls, version_dir: Path) -> "VersionState | None":
        path = version_dir / VERSION_FILE
        if not path.exists():
            return None
        state = json.loads(path.read_text())
        state["files"] = [FileEntry(**entry) for entry in state["files"]]
        return cls(**state)


def holds_loaded_files(extract_dir: Path) -> bool:
    """Whether an extract's current version was built from at least one delivered file (customers: a CRM
    extract exists, so orders and answers must refer to its customers)."""
    state = VersionState.read(extract_dir) if extract_dir.exists() else None
    return bool(state and any(entry.status == "loaded" for entry in state.files))


def current_generation(extract_dir: Path) -> str | None:
    """The generation of the version an extract's symlink points at (None before the first ingestion)."""
    state = VersionState.read(extract_dir) if extract_dir.exists() else None
    return state.generation if state else None
