"""Stage 2 of ingestion: reconcile the parsed files of one extract into a version of the raw layer.

In file-name then row order, the first row with a key wins and later ones are quarantined; orders and
survey answers of customers no customer extract holds wait in quarantine (`pending.parquet`) and are
loaded by a later run once the customer arrives. Without any customer extract delivered there is nothing
to wait for: customers are derived from the orders downstream, and every order and answer loads.

An order rolled up from lines (order_lines.py) is one row here but stands for its lines (`_line_count`):
when it is rejected across files, each of its lines goes to quarantine, and the counts are in lines.

The outcome is the same whichever way a version is built:

- in full, from every parsed file, as a new generation;
- by appending, when the previous version's files are the first files of this one, unchanged, and the
  customers it was checked against only gained rows: the previous parts are kept (hard links), the new
  files are checked against the keys already taken, waiting rows whose customer arrived are loaded, and
  everything new goes into one new batch. The cost is that of the new rows, not of the history.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ingestion.contracts import Extract, RejectReason
from pipelines.ingestion.order_lines import lines_json_sql
from pipelines.ingestion.parsing import FileOutcome, null_columns_sql, sql_string
from pipelines.ingestion.raw_layer import (
    DATA_DIR,
    LINE_COUNT_COLUMN,
    FileEntry,
    VersionState,
    batch_dir,
    data_glob,
    part_columns,
    source_rows_sql,
)
from pipelines.ingestion.row_checks import SQL_TYPES

FILE_LEDGER_SCHEMA = pa.schema([
    ("extract", pa.string()), ("source_file", pa.string()), ("checksum", pa.string()),
    ("size_bytes", pa.int64()), ("file_format", pa.string()), ("dialect", pa.string()),
    ("status", pa.string()), ("duplicate_of", pa.string()), ("unknown_columns", pa.string()),
    ("rows_read", pa.int64()), ("rows_loaded", pa.int64()), ("rows_quarantined", pa.int64()),
    ("loaded_at", pa.timestamp("us")),
])
PENDING_FILE = "pending.parquet"


def file_entries(outcomes: list[FileOutcome]) -> list[FileEntry]:
    return [FileEntry(o.source_file, o.checksum, o.status, o.parsed_path.name if o.parsed_path else "")
            for o in outcomes]


@dataclass(frozen=True)
class Upstream:
    """The customers a referring extract is checked against."""

    extract_dir: Path
    generation: str
    delivered: bool = True   # a customers extract was delivered; without one, no row waits for its customer


def can_append(previous: VersionState | None, outcomes: list[FileOutcome], upstream: Upstream | None,
               erasures: str) -> bool:
    """Whether this version may only add to `previous`: every file of it is still here, unchanged and in
    the same order, and the erasures and the customers' generation are the same. (A new file that sorts
    before an old one is an append too, unless it repeats a key an old file took: see reconcile_by_appending.)

    A version built from no delivered file is never appended to: the first customers extract changes
    what every order and answer is checked against (until then, customers came from the orders), so the
    extracts that refer to customers are checked again, from scratch, against its new generation."""
    if previous is None or previous.erasures != erasures:
        return False
    if upstream is not None and previous.customers_generation != upstream.generation:
        return False
    if not any(entry.status == "loaded" for entry in previous.files) and \
            any(o.status == "loaded" for o in outcomes):
        return False
    return _is_subsequence(previous.files, file_entries(outcomes))


def _is_subsequence(old: list[FileEntry], new: list[FileEntry]) -> bool:
    remaining = iter(new)
    return all(any(entry == candidate for candidate in remaining) for entry in old)


class CannotAppend(Exception):
    """A new file sorting before an old one repeats one of its keys: which row wins may change."""


def _columns_sql(extract: Extract) -> str:
    return ", ".join(extract.column_names)


def _part_columns_sql(extract: Extract) -> str:
    """The columns of a raw part: the extract's, then the lineage."""
    return ", ".join(part_columns(extract))


def _line_count_sql(extract: Extract, alias: str = "") -> str:
    """The landing-file records a row stands for: its lines for an order of lines, else 1."""
    return f"{alias}{LINE_COUNT_COLUMN}" if extract.lines else "1"


def _empty_rows_sql(extract: Extract) -> str:
    line_count = f", cast(null as bigint) as {LINE_COUNT_COLUMN}" if extract.lines else ""
    return (f"select {null_columns_sql(extract)}, cast(null as varchar) as _source_file, "
            f"cast(null as bigint) as _source_row, cast(null as timestamp) as _loaded_at{line_count} where false")


def _order_lines_view(con: duckdb.DuckDBPyConnection, extract: Extract, files: list[tuple[int, FileOutcome]],
                      rows: str) -> None:
    """order_lines: the lines of the files of order lines among `files` (position, outcome) that `rows` (with
    _file_order) has rows of, by order_id in their file (_file_order), with their own values; empty when
    there are none. Only those files are read: a day's run reads the lines of the files it rejects from."""
    if extract.lines is None:
        return
    needed = {position for (position,) in con.execute(f"select distinct _file_order from {rows}").fetchall()}
    own = extract.lines.column_names
    scans = [f"select {position} as _file_order, _source_row, order_id, {', '.join(own)} "
             f"from read_parquet({sql_string(str(o.lines_path))})"
             for position, o in files if o.line_level and position in needed]
    empty = ", ".join(f"cast(null as {SQL_TYPES[extract.column(c).type]}) as {c}" for c in own)
    body = "\nunion all\n".join(scans) if scans else (
        f"select cast(null as integer) as _file_order, cast(null as bigint) as _source_row, "
        f"cast(null as varchar) as order_id, {empty} where false")
    con.execute(f"create or replace temp view order_lines as\n{body}")


def _landing_rows_sql(extract: Extract, rows: str) -> str:
    """`rows` (with _file_order, _source_file, _source_row), one row per landing-file record: an order of
    lines becomes its lines (source_row, and line_json with the line's values); other rows stay as they are
    (line_json null)."""
    if extract.lines is None:
        return f"select v.*, v._source_row as source_row, cast(null as varchar) as line_json from {rows} as v"
    return f"""
        select v.*, coalesce(l._source_row, v._source_row) as source_row,
               case when l._source_row is not null then {lines_json_sql(extract, 'l', order_alias='v')} end as line_json
        from {rows} as v
        left join order_lines as l on l._file_order = v._file_order and l.order_id = v.order_id"""


# A row `v` of the accepted rows that waits for its customer (pending.parquet).
_WAITS_FOR_ITS_CUSTOMER = f"""exists (
    select 1 from cross_row_rejects as d where d.reason = '{RejectReason.UNKNOWN_CUSTOMER.value}'
    and d._file_order = v._file_order and d._source_row = v._source_row)"""


def _accepted_view(con: duckdb.DuckDBPyConnection, extract: Extract, name: str,
                   files: list[tuple[int, FileOutcome]]) -> None:
    """`name`: the accepted rows of `files` (position, outcome), each with its position as _file_order.

    A union of one scan per file keeps the rows in file then row order without sorting them.
    """
    scans = [f"select *, {position} as _file_order from read_parquet({sql_string(str(o.accepted_path))})"
             for position, o in files]
    body = "\nunion all\n".join(scans) if scans else f"select *, 0 as _file_order from ({_empty_rows_sql(extract)})"
    con.execute(f"create or replace temp view {name} as\n{body}")


def _rank_repeated_keys(con: duckdb.DuckDBPyConnection, extract: Extract, rows: str) -> None:
    """Duplicates among `rows` into cross_row_rejects: the first row (file, then row order) per key wins.

    Only the few rows whose key repeats pay for the window; the rest are never sorted.
    """
    key = ", ".join(extract.key)
    over_key = f"partition by {key} order by _file_order, _source_row"
    row_hash = f"hash({_columns_sql(extract)})"
    con.execute(f"""
        insert into cross_row_rejects
        with repeated as (
            select * from {rows}
            where ({key}) in (select ({key}) from {rows} group by all having count(*) > 1)
        ),
        ranked as (
            select _file_order, _source_row, {_line_count_sql(extract)} as lines,
                row_number() over ({over_key}) as key_rank,
                {row_hash} as row_hash,
                first_value({row_hash}) over ({over_key}) as first_hash,
                first_value(_source_file) over ({over_key}) as first_file,
                first_value(_source_row) over ({over_key}) as first_row
            from repeated
        )
        select _file_order, _source_row, {_duplicate_columns(extract)}, lines
        from ranked where key_rank > 1
    """)


def _duplicate_columns(extract: Extract) -> str:
    """reason, column_name, detail of a row whose key was taken by (first_file, first_row, first_hash)."""
    return f"""
        case when row_hash = first_hash then '{RejectReason.DUPLICATE_ROW.value}'
             else '{RejectReason.DUPLICATE_KEY.value}' end as reason,
        '{" + ".join(extract.key)}' as column_name,
        'same key as row ' || first_row || ' of ' || first_file
          || case when row_hash = first_hash then ' (identical values)'
                  else ' (different values; the first is kept)' end as detail"""


def _reject_unknown_customers(con: duckdb.DuckDBPyConnection, extract: Extract, rows: str,
                              upstream: Upstream | None) -> None:
    """Rows whose customer no delivered customer extract holds wait for it; without a customers extract at
    all, customers come from the orders, and nothing waits."""
    if upstream is None or not upstream.delivered:
        return
    con.execute(f"""
        insert into cross_row_rejects
        select _file_order, _source_row, '{RejectReason.UNKNOWN_CUSTOMER.value}', 'customer_id',
               'customer ' || customer_id || ' is in no customer extract (yet)', {_line_count_sql(extract)}
        from {rows} as v
        where v.customer_id is not null  -- an anonymous survey answer names no customer to wait for
          and not exists (select 1 from read_parquet({sql_string(data_glob(upstream.extract_dir))}) as c
                          where c.customer_id = v.customer_id)
          and not exists (select 1 from cross_row_rejects as d
                          where d._file_order = v._file_order and d._source_row = v._source_row)
    """)


def _link_or_copy(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, destination)
    except OSError:  # another file system, or one without hard links
        shutil.copyfile(source, destination)


def _write_parts(con: duckdb.DuckDBPyConnection, extract: Extract, files: list[tuple[int, FileOutcome]],
                 target: Path) -> dict[str, int]:
    """One part per file into `target`: its parse's accepted rows, minus those rejected across files.

    Returns the rows rejected across files per file name.
    """
    rejected = dict(con.execute(
        "select _file_order, sum(lines) from cross_row_rejects group by all").fetchall())
    columns = _part_columns_sql(extract)
    counts = {}
    for position, outcome in files:
        part = target / f"{position:05d}.parquet"
        counts[outcome.source_file] = rejected.get(position, 0)
        if not rejected.get(position):
            _link_or_copy(outcome.accepted_path, part)
            continue
        part.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"""
            copy (
                select {columns} from read_parquet({sql_string(str(outcome.accepted_path))}) as v
                where not exists (select 1 from cross_row_rejects as d
                                  where d._file_order = {position} and d._source_row = v._source_row)
            ) to '{part}' (format parquet, compression zstd)""")
    return counts


def _write_empty_part_if_none(con: duckdb.DuckDBPyConnection, extract: Extract, version_dir: Path, batch: int) -> None:
    """Readers glob the parts: an extract with no row still has one (empty) part, with the schema."""
    if any((version_dir / DATA_DIR).glob("*/*.parquet")):
        return
    part = batch_dir(version_dir, batch) / "empty.parquet"
    part.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"copy ({_empty_rows_sql(extract)}) to '{part}' (format parquet)")


def _stage_one_rejects_sql(files: list[tuple[int, FileOutcome]]) -> str:
    """The rows stage 1 rejected in `files`, in the quarantine's columns plus _file_order."""
    scans = []
    for position, outcome in files:
        for path in outcome.reject_paths():
            scans.append(f"""
                select {position} as _file_order, {sql_string(outcome.source_file)} as source_file,
                       _source_row as source_row, _reject_column as column_name, _reject_reason as reason,
                       _reject_detail as detail, _raw_record as raw_record,
                       cast('{outcome.loaded_at.isoformat(sep=' ')}' as timestamp) as loaded_at
                from read_parquet({sql_string(str(path))})""")
    if not scans:
        return ("select 0 as _file_order, null::varchar as source_file, null::bigint as source_row, "
                "null::varchar as column_name, null::varchar as reason, null::varchar as detail, "
                "null::varchar as raw_record, null::timestamp as loaded_at where false")
    return "\nunion all\n".join(scans)


def _cross_rejects_sql(extract: Extract, rows: str) -> str:
    """The rows of `rows` rejected across files, in the quarantine's columns plus _file_order: for an order
    of lines, each of its lines with its own row number and values."""
    raw_json = ("cast(to_json(struct_pack(" + ", ".join(f"{c} := cast(v.{c} as varchar)" for c in extract.column_names)
                + ")) as varchar)")
    rejected = f"""(
        select v.* from {rows} as v
        where exists (select 1 from cross_row_rejects as d
                      where d._file_order = v._file_order and d._source_row = v._source_row))"""
    return f"""
        select v._file_order, v._source_file, v.source_row, d.column_name, d.reason, d.detail,
               coalesce(v.line_json, {raw_json}), v._loaded_at
        from cross_row_rejects as d
        join ({_landing_rows_sql(extract, rejected)}) as v
          on v._file_order = d._file_order and v._source_row = d._source_row"""


def _write_pending(con: duckdb.DuckDBPyConnection, extract: Extract, rows_sql: str, path: Path) -> None:
    con.execute(f"copy ({rows_sql}) to '{path}' (format parquet, compression zstd)")


def _ledger_rows(extract: Extract, outcomes: list[FileOutcome], cross_rejected: dict[str, int],
                 previous: dict[str, dict] | None = None, resolved: dict[str, int] | None = None) -> list[dict]:
    rows = []
    for o in outcomes:
        if previous is not None and o.source_file in previous:
            row = dict(previous[o.source_file])
            moved = (resolved or {}).get(o.source_file, 0)
            row["rows_loaded"] += moved
            row["rows_quarantined"] -= moved
            rows.append(row)
            continue
        loaded = o.status == "loaded"
        later_rejected = cross_rejected.get(o.source_file, 0) if loaded else 0
        rows.append({
            "extract": extract.name, "source_file": o.source_file, "checksum": o.checksum,
            "size_bytes": o.size_bytes, "file_format": o.file_format, "dialect": json.dumps(o.dialect),
            "status": o.status, "duplicate_of": o.duplicate_of,
            "unknown_columns": ", ".join(o.unknown_columns) or None, "rows_read": o.rows_read,
            "rows_loaded": (o.rows_accepted - later_rejected) if loaded else 0,
            "rows_quarantined": (o.rows_rejected + later_rejected) if loaded else 0,
            "loaded_at": o.loaded_at,
        })
    return rows


def _write_ledger(rows: list[dict], target_dir: Path) -> None:
    pq.write_table(pa.Table.from_pylist(rows, schema=FILE_LEDGER_SCHEMA), target_dir / "files.parquet")


def _start(con: duckdb.DuckDBPyConnection, outcomes: list[FileOutcome]) -> None:
    con.execute("""
        create or replace temp table cross_row_rejects (
            _file_order integer, _source_row bigint, reason varchar, column_name varchar, detail varchar,
            lines bigint)""")
    # Every file's position in name order, which orders the quarantine and the waiting rows.
    con.register("file_position_rows", pa.table({"source_file": [o.source_file for o in outcomes],
                                                 "_file_order": list(range(len(outcomes)))}))
    con.execute("create or replace temp table file_positions as select * from file_position_rows")
    con.unregister("file_position_rows")


def reconcile_in_full(con: duckdb.DuckDBPyConnection, extract: Extract, outcomes: list[FileOutcome],
                      target_dir: Path, upstream: Upstream | None, state: VersionState) -> None:
    """Every parsed file into a new generation: all parts in `state.batch`."""
    _start(con, outcomes)
    loaded = [(position, o) for position, o in enumerate(outcomes) if o.status == "loaded"]
    _accepted_view(con, extract, "accepted", loaded)
    _rank_repeated_keys(con, extract, "accepted")
    _reject_unknown_customers(con, extract, "accepted", upstream)
    cross_rejected = _write_parts(con, extract, loaded, batch_dir(target_dir, state.batch))
    _order_lines_view(con, extract, loaded, "cross_row_rejects")
    _write_empty_part_if_none(con, extract, target_dir, state.batch)
    columns = _part_columns_sql(extract)
    _write_pending(con, extract, f"""
        select {columns} from accepted as v where {_WAITS_FOR_ITS_CUSTOMER}
        order by _file_order, _source_row""", target_dir / PENDING_FILE)
    _write_quarantine(con, extract, target_dir, f"""
        {_stage_one_rejects_sql(loaded)}
        union all
        {_cross_rejects_sql(extract, "accepted")}""")
    _write_ledger(_ledger_rows(extract, outcomes, cross_rejected), target_dir)
    state.write(target_dir)


def _write_quarantine(con: duckdb.DuckDBPyConnection, extract: Extract, target_dir: Path, rows_sql: str,
                      kept_sql: str | None = None) -> None:
    """quarantine.parquet in file and row order: `rows_sql` (with _file_order) and `kept_sql` (rows of the
    previous version still quarantined, in the quarantine's own columns)."""
    kept = (f"""
        union all
        select p._file_order, q.source_file, q.source_row, q.column_name, q.reason, q.detail, q.raw_record,
               q.loaded_at
        from ({kept_sql}) as q join file_positions as p on p.source_file = q.source_file""" if kept_sql else "")
    con.execute(f"""
        copy (
            select '{extract.name}' as extract, source_file, source_row, column_name, reason, detail, raw_record,
                   loaded_at
            from ({rows_sql}{kept}) order by _file_order, source_row
        ) to '{target_dir / 'quarantine.parquet'}' (format parquet, compression zstd)""")


def reconcile_by_appending(con: duckdb.DuckDBPyConnection, extract: Extract, outcomes: list[FileOutcome],
                           target_dir: Path, upstream: Upstream | None, previous_dir: Path,
                           previous: VersionState, state: VersionState) -> None:
    """The previous version plus the files after its own, and the waiting rows whose customer arrived."""
    _start(con, outcomes)
    for part in sorted((previous_dir / DATA_DIR).glob("*/*.parquet")):
        _link_or_copy(part, target_dir / part.relative_to(previous_dir))
    old_entries = set(previous.files)
    entries = file_entries(outcomes)
    new_files = [(position, o) for position, o in enumerate(outcomes)
                 if entries[position] not in old_entries and o.status == "loaded"]
    last_old = max((position for position, entry in enumerate(entries) if entry in old_entries), default=-1)
    _accepted_view(con, extract, "accepted", new_files)
    loaded = [(position, o) for position, o in enumerate(outcomes) if o.status == "loaded"]
    columns = _part_columns_sql(extract)
    key = ", ".join(extract.key)
    previous_data = sql_string(data_glob(previous_dir))
    previous_pending = sql_string(str(previous_dir / PENDING_FILE))
    # The keys already taken by an earlier file, for the new rows that repeat one of them.
    con.execute(f"""
        create or replace temp table taken as
        select {key}, _source_file as first_file, _source_row as first_row,
               hash({_columns_sql(extract)}) as first_hash
        from (select {columns} from read_parquet({previous_data}, hive_partitioning = false)
              union all
              select {columns} from read_parquet({previous_pending}))
        where ({key}) in (select ({key}) from accepted)""")
    # An optional key column (a spend's channel or campaign) may be empty: empty equals empty, as in the
    # partition by of _rank_repeated_keys.
    join_on = " and ".join(f"t.{k} is not distinct from v.{k}" for k in extract.key)
    earlier = con.execute(f"select count(*) from accepted as v join taken as t on {join_on} "
                          f"where v._file_order < {last_old}").fetchall()[0][0]
    if earlier:
        raise CannotAppend
    con.execute(f"""
        insert into cross_row_rejects
        select _file_order, _source_row, {_duplicate_columns(extract)}, lines
        from (select v._file_order, v._source_row, hash({", ".join(f"v.{c}" for c in extract.column_names)}) as row_hash,
                     t.first_hash, t.first_file, t.first_row, {_line_count_sql(extract, "v.")} as lines
              from accepted as v join taken as t on {join_on})""")
    con.execute(f"""
        create or replace temp view accepted_untaken as
        select * from accepted as v
        where not exists (select 1 from taken as t where {join_on})""")
    _rank_repeated_keys(con, extract, "accepted_untaken")
    _reject_unknown_customers(con, extract, "accepted", upstream)
    cross_rejected = _write_parts(con, extract, new_files, batch_dir(target_dir, state.batch))
    resolved = _load_rows_whose_customer_arrived(con, extract, loaded, previous_pending, columns, upstream,
                                                 target_dir, state.batch)
    _order_lines_view(con, extract, loaded, "cross_row_rejects")
    _write_empty_part_if_none(con, extract, target_dir, state.batch)
    _write_pending(con, extract, f"""
        select {columns} from (
            select p.*, f._file_order from read_parquet({previous_pending}) as p
            join file_positions as f on f.source_file = p._source_file
            where not exists (select 1 from resolved as r
                              where r._source_file = p._source_file and r._source_row = p._source_row)
            union all
            select * exclude (_file_order), _file_order from accepted as v where {_WAITS_FOR_ITS_CUSTOMER}
        ) order by _file_order, _source_row""", target_dir / PENDING_FILE)
    _write_quarantine(con, extract, target_dir, f"""
        {_stage_one_rejects_sql(new_files)}
        union all
        {_cross_rejects_sql(extract, "accepted")}""", kept_sql=f"""
        select * from read_parquet({sql_string(str(previous_dir / 'quarantine.parquet'))}) as q
        where not (q.reason = '{RejectReason.UNKNOWN_CUSTOMER.value}' and exists (
            select 1 from resolved_landing_rows as r
            where r._source_file = q.source_file and r.source_row = q.source_row))""")
    previous_ledger = {row["source_file"]: row for row in pq.read_table(previous_dir / "files.parquet").to_pylist()}
    _write_ledger(_ledger_rows(extract, outcomes, cross_rejected, previous_ledger, resolved), target_dir)
    state.write(target_dir)


def _load_rows_whose_customer_arrived(con: duckdb.DuckDBPyConnection, extract: Extract,
                                      loaded: list[tuple[int, FileOutcome]], previous_pending: str, columns: str,
                                      upstream: Upstream | None, target_dir: Path, batch: int) -> dict[str, int]:
    """Waiting rows whose customer is now known, as a part of this batch; returns how many landing-file
    records per file (lines, for orders of lines). resolved_landing_rows: those records, to take out of
    the quarantine."""
    known = ("true" if upstream is None or not upstream.delivered else
             f"exists (select 1 from read_parquet({sql_string(data_glob(upstream.extract_dir))}) as c "
             "where c.customer_id = p.customer_id)")
    con.execute(f"""
        create or replace temp table resolved as
        select {columns} from read_parquet({previous_pending}) as p where {known}""")
    resolved_rows = ("(select r.*, f._file_order from resolved as r "
                     "join file_positions as f on f.source_file = r._source_file)")
    _order_lines_view(con, extract, loaded, resolved_rows)
    con.execute(f"""
        create or replace temp table resolved_landing_rows as
        select _source_file, source_row from ({_landing_rows_sql(extract, resolved_rows)})""")
    per_file = dict(con.execute(
        f"select _source_file, {source_rows_sql(extract)} from resolved group by all").fetchall())
    if per_file:
        part = batch_dir(target_dir, batch) / "resolved.parquet"
        part.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"copy (select * from resolved) to '{part}' (format parquet, compression zstd)")
    return per_file
