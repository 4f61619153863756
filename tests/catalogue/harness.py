"""Run one bad extract through the real loader in a temporary landing directory, and recount what it wrote.

The recount reads the ledger (`files.parquet`), the raw table (its parts, `data/_batch=*/*.parquet`) and the quarantine
(`quarantine.parquet`) back from disk, independently of the loader's own summary, so a row lost between
the two stages shows up here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ingestion.loader import IngestionResult, ingest_extract
from pipelines.ingestion.raw_layer import data_glob

# Two customers every case can refer to; a case about customers brings its own customers*.csv.
KNOWN_CUSTOMERS = b"customer_id,signup_date\nC1,2024-01-01\nC2,2024-01-02\n"


def write_landing(landing: Path, files: dict[str, bytes | pa.Table]) -> None:
    """Write each file as given: bytes as they are, a pyarrow table as Parquet."""
    landing.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if isinstance(content, pa.Table):
            pq.write_table(content, landing / name)
        else:
            (landing / name).write_bytes(content)


def ingest(landing: Path, warehouse: Path, extract_name: str) -> IngestionResult:
    """Ingest customers (the other extracts are checked against them), then `extract_name`."""
    raw, cache = warehouse / "raw", warehouse / "cache"
    customers = ingest_extract("customers", landing, raw, cache)
    if extract_name == "customers":
        return customers
    return ingest_extract(extract_name, landing, raw, cache, customers_dir=raw / "customers")


@dataclass
class Recount:
    """What is on disk for one extract, per file."""

    ledger: dict[str, dict]                       # source_file -> ledger row
    loaded: Counter = field(default_factory=Counter)       # source_file -> records in the raw table
    quarantined: Counter = field(default_factory=Counter)  # source_file -> rows in quarantine.parquet


def recount(extract_dir: Path) -> Recount:
    """Landing-file records per file: an order rolled up from lines counts as its lines (`_line_count`)."""
    con = duckdb.connect()
    try:
        ledger = {row["source_file"]: row for row in pq.read_table(extract_dir / "files.parquet").to_pylist()}
        data = f"read_parquet('{data_glob(extract_dir)}')"
        columns = [row[0] for row in con.execute(f"describe select * from {data}").fetchall()]
        records = "sum(_line_count)" if "_line_count" in columns else "count(*)"
        loaded = Counter(dict(con.execute(
            f"select _source_file, {records} from {data} group by all"
        ).fetchall()))
        quarantined = Counter(dict(con.execute(
            f"select source_file, count(*) from read_parquet('{extract_dir / 'quarantine.parquet'}') group by all"
        ).fetchall()))
    finally:
        con.close()
    return Recount(ledger, loaded, quarantined)


def assert_every_row_accounted_for(extract_dir: Path) -> Recount:
    """For every file: rows read = rows loaded + rows quarantined, in the ledger and in the Parquet files."""
    counts = recount(extract_dir)
    for name, row in counts.ledger.items():
        assert row["rows_read"] == row["rows_loaded"] + row["rows_quarantined"], row
        assert counts.loaded[name] == row["rows_loaded"], (name, counts.loaded[name], row)
        assert counts.quarantined[name] == row["rows_quarantined"], (name, counts.quarantined[name], row)
    assert set(counts.loaded) | set(counts.quarantined) <= set(counts.ledger), "rows from a file not in the ledger"
    return counts


def query(extract_dir: Path, sql: str) -> list[tuple]:
    """Run `sql` with `data`, `quarantine` and `ledger` bound to the extract's three Parquet files."""
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"create view data as select * from read_parquet('{data_glob(extract_dir)}')")
        con.execute(f"create view quarantine as select * from read_parquet('{extract_dir / 'quarantine.parquet'}')")
        con.execute(f"create view ledger as select * from read_parquet('{extract_dir / 'files.parquet'}')")
        return con.execute(sql).fetchall()
    finally:
        con.close()
