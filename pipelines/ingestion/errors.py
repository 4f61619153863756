"""File-level ingestion failures: a whole file cannot be read, so the asset fails with a message naming it."""

from __future__ import annotations

from pathlib import Path


class ExtractFileError(Exception):
    """A file that cannot be loaded at all (unreadable, undecodable, a required column missing, ...).

    The message always names the file, and the column or line when one is to blame, because the person
    reading it is usually not the one who wrote the code: they need to know which delivery to fix.
    """

    def __init__(self, path: Path | str, problem: str, *, column: str | None = None, line: int | None = None,
                 columns: tuple[str, ...] = (), name: str = ""):
        self.path = Path(path)
        self.name = name or self.path.name  # its landing name (orders/2024-01.csv), once known
        self.problem = problem
        # Every column to blame (all the required ones a file lacks, so that one delivery fixes them all);
        # `column` is the first of them.
        self.columns = columns or ((column,) if column is not None else ())
        self.column = self.columns[0] if self.columns else None
        self.line = line
        where = [f"file {self.name}"]
        if line is not None:
            where.append(f"line {line}")
        if self.columns:
            where.append(self.columns_named)
        super().__init__(f"{', '.join(where)}: {problem} (full path: {self.path})")

    def named(self, name: str) -> ExtractFileError:
        """The same error, naming the file by its landing name (raised where only its path is known)."""
        return ExtractFileError(self.path, self.problem, line=self.line, columns=self.columns, name=name)

    @property
    def columns_named(self) -> str:
        """`column 'order_id'`, or `columns 'order_id', 'ordered_at'`; empty when no column is to blame."""
        if len(self.columns) > 1:
            return f"columns {', '.join(repr(c) for c in self.columns)}"
        return f"column {self.column!r}" if self.column else ""
