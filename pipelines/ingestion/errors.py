"""File-level ingestion failures: a whole file cannot be read, so the asset fails with a message naming it."""

from __future__ import annotations

from pathlib import Path


class ExtractFileError(Exception):
    """A file that cannot be loaded at all (unreadable, undecodable, a required column missing, ...).

    The message always names the file, and the column or line when one is to blame, because the person
    reading it is usually not the one who wrote the code: they need to know which delivery to fix.
    """

    def __init__(self, path: Path | str, problem: str, *, column: str | None = None, line: int | None = None):
        self.path = Path(path)
        self.problem = problem
        self.column = column
        self.line = line
        where = [f"file {self.path.name}"]
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {problem} (full path: {self.path})")
