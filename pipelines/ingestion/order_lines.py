"""Roll a file's order lines up into orders: set-based SQL over the lines stage 1 typed and checked.

One order per `order_id` of the file:

- amount = the sum of quantity x unit_price over its lines, exact (decimal(38, 10) products and sum),
  rounded to the cent once, at the end, half away from zero;
- ordered_at = its earliest line; customer, currency, status and country = what its lines state (a line
  may leave them empty, as Shopify does after an order's first line); country = the first line's;
- status = the one stated, mapped (contracts.STATUS_SYNONYMS, retentio_sources.yml); when no line states
  one, refunded if the order nets below zero (a credit note), else completed.

An order is loaded whole or not at all: when one of its lines was rejected, when its lines name different
customers or statuses, when none names a customer or a date, or when it nets below zero on a stated
completed status, every line of it is quarantined, each with its own row number and values, so lines
read = lines loaded + lines quarantined. A file with a line key (line_id) also quarantines a repeated
(order_id, line_id) as a duplicate, the first one counting; without one, two equal lines are two lines
(the same item scanned twice).

An order's lines are expected in one file: the same order_id in a later file is a duplicate order there
(reconcile.py), whose lines are quarantined as such.

Writes, beside what parsing.py writes for any file: `lines.parquet`, each line's row, order and own values
(quantity, unit price, line id), so that stage 2 can quarantine an order's lines, not only the order; the
rest of a line is its order's.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.ingestion.contracts import ColumnType, Extract, RejectReason
from pipelines.ingestion.raw_layer import LINE_COUNT_COLUMN
from pipelines.ingestion.row_checks import SQL_TYPES

LINES_FILE = "lines.parquet"
AMOUNT_SQL_TYPE = SQL_TYPES[ColumnType.DECIMAL]


def line_columns(extract: Extract) -> list[str]:
    """The typed columns of a line, as a quarantined line's raw values hold them."""
    return [c.name for c in extract.file_columns(line_level=True)]


def lines_json_sql(extract: Extract, alias: str, order_alias: str | None = None) -> str:
    """A line's values as the quarantine's raw_record JSON; with `order_alias`, what the line leaves to its
    order (customer, date, status, ...) is taken from the order's row."""
    own = set(extract.lines.column_names)
    return ("cast(to_json(struct_pack(" + ", ".join(
        f"{c} := cast({alias if order_alias is None or c in own else order_alias}.{c} as varchar)"
        for c in line_columns(extract)) + ")) as varchar)")


def roll_up(con: duckdb.DuckDBPyConnection, extract: Extract, has_line_key: bool, lineage_sql: str,
            accepted_path: Path, rejected_path: Path, lines_path: Path,
            malformed: list[tuple[str, int, str]] = ()) -> tuple[int, int]:
    """From the temp table `typed` (one row per line), write the orders, the rejected lines and the loaded
    orders' lines; returns (lines in loaded orders, lines rejected besides `malformed`).

    `malformed`: (order_id, row, reason) of the records the reader could not take but which still name their
    order (a line with a field too many): their orders are incomplete too.
    """
    columns = line_columns(extract)
    con.execute("create or replace temp table malformed_lines (order_id varchar, _source_row bigint, reason varchar)")
    if malformed:
        con.executemany("insert into malformed_lines values (?, ?, ?)", [list(m) for m in malformed])
    _rank_repeated_lines(con, extract, columns, has_line_key)
    con.execute("""
        create or replace temp view lines_in_play as
        select * from typed as t
        where _reject_reason is null
          and not exists (select 1 from repeated_lines as r where r._source_row = t._source_row)""")
    # An order that lost a line would load with a wrong total: the first rejected line says why.
    con.execute("""
        create or replace temp table broken_orders as
        select order_id, min(_source_row) as first_rejected_row,
               arg_min(_reject_reason, _source_row) as first_rejected_reason
        from (select order_id, _source_row, _reject_reason from typed
              where _reject_reason is not null and order_id is not null
              union all
              select order_id, _source_row, reason from malformed_lines)
        group by all""")
    con.execute(f"""
        create or replace temp table rolled_orders as
        with per_order as (
            select order_id,
                   count(*) as {LINE_COUNT_COLUMN},
                   min(_source_row) as _source_row,
                   min(customer_id) as customer_id, max(customer_id) as other_customer_id,
                   min(ordered_at) as ordered_at,
                   sum(quantity * unit_price) as exact_amount,
                   min(currency) as currency,
                   min(status) as stated_status, max(status) as other_status,
                   arg_min(country, _source_row) filter (where country is not null) as country
            from lines_in_play
            group by order_id
        ),
        rolled as (
            select o.*,
                   try_cast(o.exact_amount as {AMOUNT_SQL_TYPE}) as amount,
                   coalesce(o.stated_status,
                            case when o.exact_amount < 0 then 'refunded' else 'completed' end) as status,
                   b.first_rejected_row, b.first_rejected_reason
            from per_order as o left join broken_orders as b using (order_id)
        )
        select *, {_verdict_sql()} from rolled""")
    con.execute(f"""
        copy (
            select {", ".join(extract.column_names)}, {lineage_sql}, {LINE_COUNT_COLUMN}
            from rolled_orders where reason is null order by _source_row
        ) to '{accepted_path}' (format parquet, compression zstd)""")
    # Every line counted into an order (those of orders rejected here are never looked up), in file order.
    con.execute(f"""
        copy (select _source_row, order_id, {", ".join(extract.lines.column_names)} from lines_in_play)
        to '{lines_path}' (format parquet, compression zstd)""")
    con.execute(f"""
        copy (
            select _source_row, _reject_reason, _reject_column, _reject_detail, _raw_record from (
                select _source_row, _reject_reason, _reject_column, _reject_detail, _raw_record
                from typed where _reject_reason is not null
                union all
                select r._source_row, r.reason, r.column_name, r.detail, {lines_json_sql(extract, 't')}
                from repeated_lines as r join typed as t using (_source_row)
                union all
                select l._source_row, o.reason, o.column_name, o.detail, {lines_json_sql(extract, 'l')}
                from lines_in_play as l
                join (select order_id, reason, column_name, detail from rolled_orders where reason is not null) as o
                  using (order_id)
            ) order by _source_row
        ) to '{rejected_path}' (format parquet, compression zstd)""")
    loaded, rejected_orders_lines = con.execute(f"""
        select coalesce(sum({LINE_COUNT_COLUMN}) filter (where reason is null), 0),
               coalesce(sum({LINE_COUNT_COLUMN}) filter (where reason is not null), 0)
        from rolled_orders""").fetchall()[0]
    rejected = con.execute("select (select count(*) from typed where _reject_reason is not null) "
                           "+ (select count(*) from repeated_lines)").fetchall()[0][0] + rejected_orders_lines
    for name in ("rolled_orders", "broken_orders", "repeated_lines", "malformed_lines"):
        con.execute(f"drop table {name}")
    con.execute("drop view lines_in_play")
    return int(loaded), int(rejected)


def _rank_repeated_lines(con: duckdb.DuckDBPyConnection, extract: Extract, columns: list[str],
                         has_line_key: bool) -> None:
    """repeated_lines: (_source_row, reason, column_name, detail) of a line whose (order_id, line_id) an
    earlier line of the file has; empty when the file has no line key."""
    key = extract.lines.line_key
    if not has_line_key:
        con.execute("create or replace temp table repeated_lines (_source_row bigint, reason varchar, "
                    "column_name varchar, detail varchar)")
        return
    row_hash = f"hash({', '.join(columns)})"
    window = f"partition by order_id, {key} order by _source_row"
    con.execute(f"""
        create or replace temp table repeated_lines as
        with keyed as (
            select * from typed where _reject_reason is null and {key} is not null and order_id is not null
        ),
        repeated as (
            select * from keyed
            where (order_id, {key}) in (select (order_id, {key}) from keyed group by all having count(*) > 1)
        ),
        ranked as (
            select _source_row, row_number() over ({window}) as key_rank, {row_hash} as row_hash,
                   first_value({row_hash}) over ({window}) as first_hash,
                   first_value(_source_row) over ({window}) as first_row
            from repeated
        )
        select _source_row,
               case when row_hash = first_hash then '{RejectReason.DUPLICATE_ROW.value}'
                    else '{RejectReason.DUPLICATE_KEY.value}' end as reason,
               'order_id + {key}' as column_name,
               'same order and line as row ' || first_row
                 || case when row_hash = first_hash then ' (identical values)'
                         else ' (different values; the first is kept)' end as detail
        from ranked where key_rank > 1""")


def _verdict_sql() -> str:
    """reason, column_name, detail for a whole order (null reason: the order loads), first failing first."""
    failures = [
        ("first_rejected_row is not null", RejectReason.INCOMPLETE_ORDER, "null",
         "'line ' || first_rejected_row || ' of order ' || order_id || ' was rejected (' || first_rejected_reason "
         "|| '): loading the other lines would understate the order'"),
        ("customer_id is null", RejectReason.MISSING_VALUE, "'customer_id'",
         "'no line of order ' || order_id || ' names its customer'"),
        ("customer_id <> other_customer_id", RejectReason.INCONSISTENT_LINES, "'customer_id'",
         "'lines of order ' || order_id || ' name different customers (' || customer_id || ', ' "
         "|| other_customer_id || ')'"),
        ("ordered_at is null", RejectReason.MISSING_VALUE, "'ordered_at'",
         "'no line of order ' || order_id || ' has a date'"),
        ("stated_status <> other_status", RejectReason.INCONSISTENT_LINES, "'status'",
         "'lines of order ' || order_id || ' state different statuses (' || stated_status || ', ' "
         "|| other_status || ')'"),
        ("amount is null", RejectReason.INVALID_NUMBER, "'quantity'",
         "'the lines of order ' || order_id || ' add up to ' || cast(exact_amount as varchar) "
         "|| ', beyond what an amount can hold'"),
        ("status = 'completed' and amount < 0", RejectReason.NEGATIVE_AMOUNT, "'status'",
         "'the lines of order ' || order_id || ' net to ' || cast(amount as varchar) "
         "|| ', negative on a completed order'"),
    ]
    reason = "case " + " ".join(f"when {cond} then '{r.value}'" for cond, r, _, _ in failures) + " end"
    column = "case " + " ".join(f"when {cond} then {col}" for cond, _, col, _ in failures) + " end"
    detail = "case " + " ".join(f"when {cond} then {det}" for cond, _, _, det in failures) + " end"
    return f"{reason} as reason, {column} as column_name, {detail} as detail"
