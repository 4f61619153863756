"""The published-schema check: the tables a publication would write, against the last published `bi.duckdb`.

A dashboard breaks when a column it reads disappears or changes type; an added column breaks nothing.
A breaking change to a published mart goes through a dbt model version (README, "Changing the models"):
the new version takes the mart's table name, the previous one stays published as `<mart>_v<n>` until its
`deprecation_date`, and a column that left the mart but is still in a published previous version is no
longer a problem — dashboards have until then to move.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

Schema = dict[str, dict[str, str]]  # table -> column -> DuckDB type, in the tables' column order


@dataclass(frozen=True)
class SchemaChange:
    table: str
    column: str | None  # None: the whole table
    change: str         # "removed", "retyped", "added", "table removed", "table added"
    before: str | None = None
    after: str | None = None
    kept_in: str | None = None  # the published previous version that still has the column as it was

    @property
    def is_breaking(self) -> bool:
        return self.change in ("removed", "retyped", "table removed") and self.kept_in is None

    def describe(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        text = {
            "removed": f"{where} ({self.before}) removed",
            "retyped": f"{where} retyped from {self.before} to {self.after}",
            "added": f"{where} ({self.after}) added",
            "table removed": f"{where} is no longer published",
            "table added": f"{where} is newly published",
        }[self.change]
        return text + (f"; still published as it was in {self.kept_in}" if self.kept_in else "")


def read_schema(database: Path, tables: list[str], schema: str) -> Schema:
    """Columns and types of `tables` in `schema` of a DuckDB file (opened read-only; absent tables left out)."""
    import duckdb

    con = duckdb.connect(str(database), read_only=True)
    try:
        rows = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = ? order by table_name, ordinal_position", [schema]).fetchall()
    finally:
        con.close()
    found: Schema = {}
    for table, column, data_type in rows:
        if table in tables:
            found.setdefault(table, {})[column] = data_type
    return found


def compare(published: Schema, candidate: Schema) -> list[SchemaChange]:
    """What changes for a reader of each published table if `candidate` is published next."""
    changes: list[SchemaChange] = []
    for table in sorted(published.keys() - candidate.keys()):
        changes.append(SchemaChange(table, None, "table removed"))
    for table in sorted(candidate.keys() - published.keys()):
        changes.append(SchemaChange(table, None, "table added"))
    for table in sorted(published.keys() & candidate.keys()):
        before, after = published[table], candidate[table]
        for column, data_type in before.items():
            if column not in after:
                kept = _kept_in(table, column, data_type, candidate)
                changes.append(SchemaChange(table, column, "removed", before=data_type, kept_in=kept))
            elif after[column] != data_type:
                kept = _kept_in(table, column, data_type, candidate)
                changes.append(SchemaChange(table, column, "retyped", data_type, after[column], kept_in=kept))
        for column in after.keys() - before.keys():
            changes.append(SchemaChange(table, column, "added", after=after[column]))
    return changes


def _kept_in(table: str, column: str, data_type: str, candidate: Schema) -> str | None:
    """A previous version of `table` (`<table>_v<n>`) published with the column as it was."""
    for other in sorted(candidate):
        suffix = other[len(table):]
        if other.startswith(table) and suffix[:2] == "_v" and suffix[2:].isdigit():
            if candidate[other].get(column) == data_type:
                return other
    return None
