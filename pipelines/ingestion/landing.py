"""The landing directory: which files belong to which extract, in the order that decides duplicates."""

from __future__ import annotations

from pathlib import Path

from pipelines.ingestion.contracts import Extract

SUPPORTED_SUFFIXES = (".csv", ".parquet", ".txt", ".tsv")


def discover_files(landing_dir: Path, extract: Extract) -> list[Path]:
    """Files of one extract, in the order that decides which duplicate wins: by name."""
    if not landing_dir.is_dir():
        return []
    found = [
        p for p in landing_dir.iterdir()
        if p.is_file() and p.name.lower().startswith(extract.file_prefix)
        and p.suffix.lower() in SUPPORTED_SUFFIXES and not p.name.startswith(".")
    ]
    return sorted(found, key=lambda p: p.name)
