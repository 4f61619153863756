"""`generate`: simulate customers chunk by chunk and stream the extracts and the truth to disk.

Memory stays bounded by one chunk of customers. Each chunk draws from its own random stream, derived
from the seed and the chunk number, and the dirty rows, the spend and the order lines from streams of
their own: the same arguments always give byte-identical files, and dirty mode leaves the valid rows
untouched.

Two other shapes of the same shop: `lines` writes the orders one row per order line (quantity, unit
price), as shop systems export them; `without_customers` leaves the CRM extract out (the orders then
carry the country), as for a shop that has only its orders. Either way the truth is the same.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from pipelines.ingestion.contracts import CUSTOMERS, EXTRACTS, MARKETING_SPEND, ORDERS, SURVEY_RESPONSES
from pipelines.sample_data import parameters as story
from pipelines.sample_data import tables
from pipelines.sample_data.acquisition import AcquisitionCalendar
from pipelines.sample_data.behaviour import CHANNELS, COUNTRIES, simulate_chunk
from pipelines.sample_data.dirty import make_bad_rows, plan_bad_rows, tally
from pipelines.sample_data.formats import TEXT_DIALECTS
from pipelines.sample_data.writers import ExtractFile, FilesByYear, ParquetExtractFile, TextExtractFile

FORMATS = ("csv", "french", "parquet")
CUSTOMERS_PER_CHUNK = 50_000
DEFAULT_END_DATE = date(2026, 6, 30)
DEFAULT_MONTHS = 36

TRUTH_FILE = "customer_truth.parquet"
GENERATION_FILE = "generation.json"
DIRTY_MANIFEST_FILE = "dirty_manifest.json"

# Independent random streams, so that adding one kind of output never shifts another.
_CHUNK_STREAM, _SPEND_STREAM, _DIRTY_STREAM, _LINES_STREAM = 1, 2, 3, 4

# Files this generator writes into the landing directory; older ones are removed before a run, or a
# previous run in another format or over other years would be ingested too.
_OWN_FILE = re.compile(r"^(customers|orders_\d{4}|survey_responses|marketing_spend)\.(csv|parquet)$")


@dataclass(frozen=True)
class GenerationSummary:
    out_dir: Path
    truth_dir: Path
    customers: int
    leads: int
    orders: int
    survey_responses: int
    marketing_spend_rows: int
    order_lines: int                         # rows of the order files: one per order, or per line
    rows_per_file: dict[str, int]            # data rows (bad ones included), header excluded
    bad_rows: dict[str, dict[str, int]]      # extract -> reject reason -> rows; empty unless dirty


def generate(
    out_dir: Path | str,
    customers: int,
    seed: int,
    fmt: str = "csv",
    end_date: date = DEFAULT_END_DATE,
    months: int = DEFAULT_MONTHS,
    dirty: bool = False,
    truth_dir: Path | str | None = None,
    progress: bool = True,
    *,
    chunk_size: int = CUSTOMERS_PER_CHUNK,
    lines: bool = False,
    without_customers: bool = False,
) -> GenerationSummary:
    """Write the four extracts into `out_dir`, the truth into `truth_dir` (default `<out_dir>/../truth`)."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if dirty and (lines or without_customers):
        raise ValueError("dirty rows are planned for order-level orders with a customers extract: "
                         "--dirty cannot be combined with --lines or --without-customers")
    if customers <= 0 or chunk_size <= 0:
        raise ValueError("customers and chunk_size must be greater than zero")
    if seed < 0:
        raise ValueError(f"seed {seed}: must be zero or more")
    out_dir = Path(out_dir).resolve()
    truth_dir = Path(truth_dir).resolve() if truth_dir is not None else out_dir.parent / "truth"
    if truth_dir == out_dir or out_dir in truth_dir.parents:
        raise ValueError(f"truth directory {truth_dir} is inside the landing directory {out_dir}: "
                         "the pipeline would ingest it")
    calendar = AcquisitionCalendar.build(customers, months, end_date)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.iterdir():
        if _OWN_FILE.match(stale.name):
            stale.unlink()
    (truth_dir / DIRTY_MANIFEST_FILE).unlink(missing_ok=True)

    chunks = math.ceil(customers / chunk_size)
    dialect = TEXT_DIALECTS.get(fmt)
    planned = plan_bad_rows(_stream(seed, _DIRTY_STREAM), chunks, dialect is not None) if dirty else []
    bad_counts: dict[str, Counter] = {}
    files = _open_extract_files(out_dir, fmt, lines, without_customers)

    def write(extract: str, chunk_index: int, table: pa.Table) -> None:
        if extract not in files:
            return  # the customers extract, left out
        mine = [p for p in planned if p.extract == extract and p.chunk == chunk_index]
        bad_rows = make_bad_rows(mine, table, dialect, end_date)
        tally(bad_rows, extract, bad_counts)
        files[extract].write(table, bad_rows)

    truth = pq.ParquetWriter(truth_dir / TRUTH_FILE, tables.TRUTH_SCHEMA)
    signups = np.zeros((months, len(CHANNELS)), dtype=np.int64)
    leads = orders = responses = order_rows = 0
    bar = tqdm(total=customers, unit=" customers", unit_scale=True, disable=not progress, desc="sample data")
    with bar:
        for chunk_index in range(chunks):
            rng = _stream(seed, _CHUNK_STREAM, chunk_index)
            numbers = np.arange(chunk_index * chunk_size, min((chunk_index + 1) * chunk_size, customers))
            chunk = simulate_chunk(numbers, calendar, rng)
            write(CUSTOMERS.name, chunk_index, tables.customers_table(chunk, rng))
            order_table = tables.orders_table(chunk, first_order_number=orders + 1,
                                              with_country=lines or without_customers)
            if lines:
                countries = pa.array(COUNTRIES).take(chunk.countries[chunk.order_customers])
                order_table = tables.order_lines_table(order_table, countries,
                                                       _stream(seed, _LINES_STREAM, chunk_index))
            write(ORDERS.name, chunk_index, order_table)
            order_rows += order_table.num_rows
            write(SURVEY_RESPONSES.name, chunk_index,
                  tables.survey_responses_table(chunk, first_response_number=responses + 1, rng=rng))
            truth.write_table(tables.truth_table(chunk))
            np.add.at(signups, (chunk.signup_months, chunk.channels), 1)
            leads += int(chunk.is_lead.sum())
            orders += len(chunk.order_customers)
            responses += len(chunk.response_customers)
            bar.update(len(numbers))
    spend = tables.marketing_spend_table(calendar, signups, _stream(seed, _SPEND_STREAM))
    write(MARKETING_SPEND.name, 0, spend)

    truth.close()
    rows_per_file: dict[str, int] = {}
    for extract_file in files.values():
        rows_per_file |= extract_file.close()
    bad_rows = {extract: dict(sorted(counts.items())) for extract, counts in bad_counts.items() if counts}
    _write_json(truth_dir / GENERATION_FILE, {
        "seed": seed,
        "arguments": {"customers": customers, "format": fmt, "end_date": end_date.isoformat(),
                      "months": months, "dirty": dirty, "chunk_size": chunk_size, "lines": lines,
                      "without_customers": without_customers},
        "end_date": end_date.isoformat(),
        "parameters": _story_record(),
        "rows_per_file": rows_per_file,
        "totals": {"customers": customers, "leads": leads, "orders": orders, "order_lines": order_rows,
                   "survey_responses": responses, "marketing_spend": spend.num_rows},
    })
    if dirty:
        _write_json(truth_dir / DIRTY_MANIFEST_FILE, bad_rows)
    return GenerationSummary(
        out_dir=out_dir, truth_dir=truth_dir, customers=customers, leads=leads, orders=orders,
        survey_responses=responses, marketing_spend_rows=spend.num_rows, order_lines=order_rows,
        rows_per_file=rows_per_file, bad_rows=bad_rows,
    )


def _open_extract_files(out_dir: Path, fmt: str, lines: bool, without_customers: bool) -> dict[str, ExtractFile]:
    """The files to write, by extract (no customers extract when it is left out)."""
    dialect = TEXT_DIALECTS.get(fmt)
    suffix = ".csv" if dialect else ".parquet"

    def open_file(file_stem: str, extract_name: str) -> ExtractFile:
        extract = EXTRACTS[extract_name]
        schema = (tables.arrow_schema(extract, line_level=lines, with_country=lines or without_customers)
                  if extract is ORDERS else tables.arrow_schema(extract))
        path = out_dir / f"{file_stem}{suffix}"
        return TextExtractFile(path, schema, dialect) if dialect else ParquetExtractFile(path, schema)

    files = {} if without_customers else {CUSTOMERS.name: open_file(CUSTOMERS.file_prefix, CUSTOMERS.name)}
    return files | {
        ORDERS.name: FilesByYear(
            "ordered_at", lambda year: open_file(f"{ORDERS.file_prefix}_{year}", ORDERS.name)
        ),
        SURVEY_RESPONSES.name: open_file(SURVEY_RESPONSES.file_prefix, SURVEY_RESPONSES.name),
        MARKETING_SPEND.name: open_file(MARKETING_SPEND.file_prefix, MARKETING_SPEND.name),
    }


def _stream(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _story_record() -> dict:
    return {
        "purchases": story.PURCHASES.as_record(),
        "order_value": story.ORDER_VALUE.as_record(),
        "lead_share": story.LEAD_SHARE,
        "refunded_share": story.REFUNDED_SHARE,
        "cancelled_share": story.CANCELLED_SHARE,
        "channel_shares": story.CHANNEL_SHARES,
        "channel_cac_eur": story.CHANNEL_CAC_EUR,
        "spend_noise_sigma": story.SPEND_NOISE_SIGMA,
        "monthly_growth": story.MONTHLY_GROWTH,
        "survey_share": story.SURVEY_SHARE,
        "comment_share": story.COMMENT_SHARE,
    }


def _write_json(path: Path, content: dict) -> None:
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")
