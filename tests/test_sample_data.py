"""The sample-data generator: formats, determinism, the story's numbers, the truth and the dirty rows.

The dirty-row test re-implements the ingestion rules in a few lines and checks that they find exactly
what the generator's manifest claims, so a bad row with two problems, or a valid row disturbed by a bad
one, shows up as a count mismatch.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pipelines.ingestion.contracts import EXTRACTS, ORDER_STATUSES, RejectReason
from pipelines.sample_data import generate
from pipelines.sample_data.__main__ import main

END_DATE = date(2026, 6, 30)
TEXT_FORMATS = {"csv": (",", "utf-8"), "french": (";", "latin-1")}


def _run(tmp_path_factory, name: str, **kwargs):
    root = tmp_path_factory.mktemp(name)
    arguments = {"customers": 2000, "seed": 7, "progress": False} | kwargs
    return generate(root / "landing", **arguments)


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    return _run(tmp_path_factory, "csv", customers=3000)


@pytest.fixture(scope="module", params=["csv", "french", "parquet"])
def dirty_run(request, tmp_path_factory):
    # Small chunks, so that bad rows land in several chunks and several order files.
    fmt = request.param
    return fmt, _run(tmp_path_factory, f"dirty_{fmt}", fmt=fmt, dirty=True, chunk_size=700)


def _files(directory: Path, prefix: str) -> list[Path]:
    return sorted(p for p in directory.iterdir()
                  if p.name.startswith(prefix) and p.suffix in (".csv", ".parquet"))


def _text_rows(path: Path, fmt: str) -> list[list[str]]:
    delimiter, encoding = TEXT_FORMATS[fmt]
    with open(path, encoding=encoding, newline="") as f:
        return list(csv.reader(f, delimiter=delimiter))


def _dict_rows(directory: Path, prefix: str, fmt: str) -> list[dict]:
    rows = []
    for path in _files(directory, prefix):
        if fmt == "parquet":
            rows += pq.read_table(path).to_pylist()
        else:
            header, *records = _text_rows(path, fmt)
            rows += [dict(zip(header, r)) | ({"__extra__": r[len(header):]} if len(r) != len(header) else {})
                     for r in records]
    return rows


def _orders(landing: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(p) for p in _files(landing, "orders"))


# --- files and formats ----------------------------------------------------------------------------

def test_writes_the_four_extracts_with_one_orders_file_per_year(csv_run):
    names = sorted(p.name for p in csv_run.out_dir.iterdir())
    assert names == ["customers.csv", "marketing_spend.csv", "orders_2023.csv", "orders_2024.csv",
                     "orders_2025.csv", "orders_2026.csv", "survey_responses.csv"]
    for path in _files(csv_run.out_dir, "orders"):
        year = path.stem.split("_")[1]
        assert all(row[2].startswith(year) for row in _text_rows(path, "csv")[1:])


@pytest.mark.parametrize("fmt", ["csv", "french", "parquet"])
def test_columns_are_exactly_the_contract(tmp_path, fmt):
    summary = generate(tmp_path / "landing", customers=300, seed=1, fmt=fmt, progress=False)
    for extract in EXTRACTS.values():
        for path in _files(summary.out_dir, extract.file_prefix):
            names = pq.read_schema(path).names if fmt == "parquet" else _text_rows(path, fmt)[0]
            # Orders leave out their country (the CRM extract holds the customer's), spend its campaign (one
            # row per month and channel).
            left_out = {("orders", "country"), ("marketing_spend", "campaign")}
            assert names == [c for c in extract.column_names if (extract.name, c) not in left_out], path.name


def test_csv_values_are_iso_and_rfc4180(csv_run):
    customers = _text_rows(csv_run.out_dir / "customers.csv", "csv")
    assert {r[6] for r in customers[1:]} == {"true", "false", ""}
    datetime.strptime(customers[1][3], "%Y-%m-%d")
    order = _text_rows(csv_run.out_dir / "orders_2025.csv", "csv")[1]
    datetime.strptime(order[2], "%Y-%m-%d %H:%M:%S")
    assert order[3].count(".") == 1 and len(order[3].split(".")[1]) == 2
    raw = (csv_run.out_dir / "survey_responses.csv").read_bytes()
    assert b'""' in raw  # embedded quotes doubled
    raw.decode("utf-8")


def test_french_format_is_excel_like(tmp_path):
    summary = generate(tmp_path / "landing", customers=5000, seed=3, fmt="french", progress=False)
    raw = (summary.out_dir / "customers.csv").read_bytes()
    assert raw.startswith(b"customer_id;email;")
    assert b"\xe9" in raw and b"\xc3\xa9" not in raw  # é as one Latin-1 byte, not UTF-8
    assert b"\r\n" in raw
    customers = _text_rows(summary.out_dir / "customers.csv", "french")
    assert {r[6] for r in customers[1:]} == {"oui", "non", ""}
    datetime.strptime(customers[1][3], "%d/%m/%Y")
    datetime.strptime(_text_rows(summary.out_dir / "orders_2025.csv", "french")[1][2], "%d/%m/%Y %H:%M")
    amounts = [r[3] for p in _files(summary.out_dir, "orders") for r in _text_rows(p, "french")[1:]]
    amounts += [r[2] for r in _text_rows(summary.out_dir / "marketing_spend.csv", "french")[1:]]
    assert all("," in a and "." not in a for a in amounts)
    large = [a for a in amounts if float(a.replace(" ", "").replace(",", ".")) >= 1000]
    assert large and all(" " in a and a.index(" ") <= 3 for a in large)  # 1 234,50
    survey = (summary.out_dir / "survey_responses.csv").read_bytes()
    survey.decode("latin-1")
    assert "’".encode() not in survey


def test_parquet_types(tmp_path):
    summary = generate(tmp_path / "landing", customers=300, seed=1, fmt="parquet", progress=False)
    customers = pq.read_schema(summary.out_dir / "customers.parquet")
    assert customers.field("customer_id").type == pa.string()
    assert customers.field("signup_date").type == pa.date32()
    assert customers.field("marketing_consent").type == pa.bool_()
    orders = pq.read_schema(_files(summary.out_dir, "orders")[0])
    assert orders.field("ordered_at").type == pa.timestamp("us")
    assert orders.field("amount").type == pa.decimal128(18, 2)
    survey = pq.read_schema(summary.out_dir / "survey_responses.parquet")
    assert survey.field("nps_score").type in (pa.int8(), pa.int16())
    assert pq.read_schema(summary.out_dir / "marketing_spend.parquet").field("spend_date").type == pa.date32()


# --- determinism ----------------------------------------------------------------------------------

def _all_bytes(summary) -> dict[str, bytes]:
    return {f"{d.name}/{p.name}": p.read_bytes()
            for d in (summary.out_dir, summary.truth_dir) for p in sorted(d.iterdir())}


@pytest.mark.parametrize("fmt", ["csv", "french", "parquet"])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, fmt):
    first = generate(tmp_path / "a" / "landing", customers=300, seed=11, fmt=fmt, dirty=True, progress=False)
    again = generate(tmp_path / "b" / "landing", customers=300, seed=11, fmt=fmt, dirty=True, progress=False)
    other = generate(tmp_path / "c" / "landing", customers=300, seed=12, fmt=fmt, dirty=True, progress=False)
    assert _all_bytes(first) == _all_bytes(again)
    differing = [name for name, data in _all_bytes(first).items() if _all_bytes(other).get(name) != data]
    assert any(name.startswith("landing/customers") for name in differing)


def test_dirty_mode_leaves_valid_rows_and_truth_untouched(tmp_path):
    clean = generate(tmp_path / "clean" / "landing", customers=800, seed=5, progress=False)
    spoiled = generate(tmp_path / "dirty" / "landing", customers=800, seed=5, dirty=True, progress=False)
    assert (clean.truth_dir / "customer_truth.parquet").read_bytes() == \
        (spoiled.truth_dir / "customer_truth.parquet").read_bytes()
    classified = _classify_landing(spoiled.out_dir, "csv")
    for extract in EXTRACTS.values():
        rows, reasons = classified[extract.name]
        kept = [row for row, reason in zip(rows, reasons) if reason is None]
        assert kept == _dict_rows(clean.out_dir, extract.file_prefix, "csv"), extract.name


# --- the story ------------------------------------------------------------------------------------

def test_story_averages(csv_run):
    truth = pq.read_table(csv_run.truth_dir / "customer_truth.parquet")
    buyers = truth.filter(pc.invert(truth.column("is_lead")))
    orders = _dict_rows(csv_run.out_dir, "orders", "csv")
    assert 8.0 < len(orders) / buyers.num_rows < 12.5  # about 10 orders per purchasing customer
    assert 0.05 < 1 - buyers.num_rows / truth.num_rows < 0.11  # about 8% leads
    assert 50 < np.mean([float(o["amount"]) for o in orders]) < 70  # about 60 EUR per basket
    statuses = Counter(o["status"] for o in orders)
    assert set(statuses) == set(ORDER_STATUSES)
    assert 0.03 < statuses["refunded"] / len(orders) < 0.05
    scores = np.array([int(r["nps_score"]) for r in _dict_rows(csv_run.out_dir, "survey_responses", "csv")])
    nps = 100 * (np.mean(scores >= 9) - np.mean(scores <= 6))
    assert 5 < nps < 35


def test_first_orders_refunded_and_only_orders_failed_exist(csv_run):
    by_customer: dict[str, list[tuple[str, str]]] = {}
    for o in _dict_rows(csv_run.out_dir, "orders", "csv"):
        by_customer.setdefault(o["customer_id"], []).append((o["ordered_at"], o["status"]))
    histories = [sorted(h) for h in by_customer.values()]
    assert sum(h[0][1] == "refunded" for h in histories) >= 5
    assert sum(len(h) == 1 and h[0][1] != "completed" for h in histories) >= 1
    assert any(len({t[:10] for t, _ in h}) < len(h) for h in histories)  # two orders on one day


def test_spend_follows_acquisitions_and_organic_is_free(csv_run):
    spend = _dict_rows(csv_run.out_dir, "marketing_spend", "csv")
    assert len(spend) == 36 * 6
    assert {s["spend_date"][8:] for s in spend} == {"01"}
    assert all(float(s["amount"]) == 0 for s in spend if s["channel"] == "organic")
    per_channel = Counter()
    for s in spend:
        per_channel[s["channel"]] += float(s["amount"])
    assert per_channel["paid_search"] > per_channel["email"] > 0


def test_nps_is_higher_for_loyal_customers(csv_run):
    truth_rows = pq.read_table(csv_run.truth_dir / "customer_truth.parquet").to_pylist()
    truth = {r["customer_id"]: r for r in truth_rows}
    responses = _dict_rows(csv_run.out_dir, "survey_responses", "csv")
    dropout = np.array([truth[r["customer_id"]]["dropout_probability"] for r in responses])
    scores = np.array([int(r["nps_score"]) for r in responses])
    assert np.corrcoef(dropout, scores)[0, 1] < -0.3


def test_comments_are_awkward_and_vocabulary_follows_the_score(csv_run):
    responses = _dict_rows(csv_run.out_dir, "survey_responses", "csv")
    comments = [r["comment"] for r in responses if r["comment"]]
    assert 0.5 < len(comments) / len(responses) < 0.7
    text = "".join(comments)
    for character in (";", '"', "\n", ",", "é", "à"):
        assert character in text, repr(character)
    detractors = " ".join(r["comment"].lower() for r in responses if int(r["nps_score"]) <= 6)
    promoters = " ".join(r["comment"].lower() for r in responses if int(r["nps_score"]) >= 9)
    assert "injoignable" in detractors or "unreachable" in detractors
    assert "injoignable" not in promoters and "unreachable" not in promoters
    assert "qualité excellente" in promoters and "qualité excellente" not in detractors


# --- the truth ------------------------------------------------------------------------------------

def test_truth_is_consistent_with_the_orders(tmp_path):
    summary = generate(tmp_path / "landing", customers=2000, seed=9, fmt="parquet", progress=False)
    truth = pq.read_table(summary.truth_dir / "customer_truth.parquet").to_pandas()
    orders = _orders(summary.out_dir).to_pandas()
    orders["day"] = orders["ordered_at"].dt.date
    per_customer = orders.groupby("customer_id")
    last_day, first_day = per_customer["day"].max(), per_customer["day"].min()
    first_completed = orders[orders.status == "completed"].groupby("customer_id")["day"].min()

    assert set(orders.customer_id) == set(truth.customer_id[~truth.is_lead])
    assert (orders["ordered_at"] < datetime(2026, 7, 1)).all()
    dropped = truth[truth.dropped_out_on.notna()].set_index("customer_id")
    assert len(dropped) > 100
    # Nothing is bought after the purchase the customer dropped out after.
    assert (last_day[dropped.index] == dropped.dropped_out_on).all()
    buyers = truth[~truth.is_lead].set_index("customer_id")
    assert (first_day[buyers.index] == buyers.first_ordered_on).all()
    acquired = buyers[buyers.acquired_on.notna()]
    assert (first_completed[acquired.index] == acquired.acquired_on).all()
    assert set(first_completed.index) == set(acquired.index)
    assert (buyers.is_alive_at_end == buyers.dropped_out_on.isna()).all()
    generation = json.loads((summary.truth_dir / "generation.json").read_text())
    assert generation["parameters"]["purchases"]["time_unit"] == "day"
    assert generation["rows_per_file"]["customers.parquet"] == 2000


def test_truth_lands_beside_the_landing_dir_never_inside(tmp_path):
    summary = generate(tmp_path / "data" / "landing", customers=300, seed=1, progress=False)
    assert summary.truth_dir == (tmp_path / "data" / "truth").resolve()
    assert not any(p.suffix == ".json" or "truth" in p.name for p in summary.out_dir.iterdir())
    with pytest.raises(ValueError, match="inside the landing directory"):
        generate(tmp_path / "data" / "landing", customers=300, seed=1, progress=False,
                 truth_dir=tmp_path / "data" / "landing" / "truth")


def test_a_rerun_in_another_format_removes_the_old_extracts(tmp_path):
    generate(tmp_path / "landing", customers=300, seed=1, fmt="csv", progress=False)
    generate(tmp_path / "landing", customers=300, seed=1, fmt="parquet", progress=False)
    assert {p.suffix for p in (tmp_path / "landing").iterdir()} == {".parquet"}


def test_chunks_continue_each_other(tmp_path):
    summary = generate(tmp_path / "landing", customers=1000, seed=2, fmt="parquet", chunk_size=300,
                       progress=False)
    customers = pq.read_table(summary.out_dir / "customers.parquet")
    ids = customers.column("customer_id").to_pylist()
    assert ids == [f"C-{i:07d}" for i in range(1, 1001)]
    signups = customers.column("signup_date").to_pylist()
    assert signups[0] < signups[-1] and signups[-1] <= END_DATE
    order_ids = _orders(summary.out_dir).column("order_id").to_pylist()
    assert len(order_ids) == len(set(order_ids)) == summary.orders


def test_command_line(tmp_path, capsys):
    assert main(["--customers", "300", "--seed", "4", "--out", str(tmp_path / "landing"), "--quiet",
                 "--format", "french", "--months", "24", "--end-date", "2025-12-31"]) == 0
    assert capsys.readouterr().out == ""
    assert sorted(p.name for p in (tmp_path / "landing").iterdir())[1:] == [
        "marketing_spend.csv", "orders_2024.csv", "orders_2025.csv", "survey_responses.csv"]
    assert (tmp_path / "truth" / "generation.json").exists()


# --- dirty rows -----------------------------------------------------------------------------------

_ISO_CURRENCIES = {"EUR", "USD", "GBP", "CHF", "SEK", "JPY", "DKK", "NOK", "PLN", "CAD"}
_BOOLEANS = {"yes", "no", "true", "false", "1", "0", "oui", "non"}
_LOAD_DAY = date(2030, 1, 1)


def _parsed_date(value, fmt: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    day = value.split(" ")[0]
    return datetime.strptime(day, "%d/%m/%Y" if fmt == "french" else "%Y-%m-%d").date()


def _parsed_number(value, fmt: str) -> float:
    if not isinstance(value, str):
        return float(value)
    return float(value.replace(" ", "").replace(",", ".") if fmt == "french" else value)


def _row_problem(extract: str, row: dict, fmt: str) -> RejectReason | None:
    """The ingestion's row-level checks, as the brief describes them."""
    contract = EXTRACTS[extract]
    if "__extra__" in row:
        return RejectReason.MALFORMED_ROW
    empty = lambda v: v is None or v == ""  # noqa: E731
    if any(empty(row[c.name]) for c in contract.columns if c.required):
        return RejectReason.MISSING_VALUE
    for column in contract.columns:
        value = row.get(column.name)
        if empty(value):
            continue
        if column.type in ("date", "timestamp"):
            try:
                if _parsed_date(value, fmt) > _LOAD_DAY:
                    return RejectReason.FUTURE_DATE
            except ValueError:
                return RejectReason.INVALID_DATE
        elif column.type in ("decimal", "integer"):
            try:
                number = _parsed_number(value, fmt)
            except ValueError:
                return RejectReason.INVALID_NUMBER
            if column.name == "nps_score" and not 0 <= number <= 10:
                return RejectReason.OUT_OF_RANGE
            if column.name == "amount" and number < 0 and row.get("status", "completed") == "completed":
                return RejectReason.NEGATIVE_AMOUNT
        elif column.type == "boolean" and isinstance(value, str) and value.strip().lower() not in _BOOLEANS:
            return RejectReason.INVALID_BOOLEAN
        elif column.type == "currency":
            if value not in _ISO_CURRENCIES:
                return RejectReason.UNKNOWN_CURRENCY
            if value != "EUR":
                return RejectReason.CURRENCY_MISMATCH
    if "status" in row and row["status"].strip().lower() not in ORDER_STATUSES:
        return RejectReason.UNKNOWN_STATUS
    return None


def _classified(landing: Path, extract: str, fmt: str, known_customers: set | None = None):
    contract = EXTRACTS[extract]
    rows = _dict_rows(landing, contract.file_prefix, fmt)
    reasons, seen = [], {}
    for row in rows:
        reason = _row_problem(extract, row, fmt)
        if reason is None:
            key = tuple(row.get(k) for k in contract.key)  # an optional key column may be absent
            if key in seen:
                reason = RejectReason.DUPLICATE_ROW if seen[key] == row else RejectReason.DUPLICATE_KEY
            else:
                seen[key] = row
        if reason is None and known_customers is not None and contract.references_customers \
                and row["customer_id"] not in known_customers:
            reason = RejectReason.UNKNOWN_CUSTOMER
        reasons.append(reason)
    return rows, reasons


def _classify_landing(landing: Path, fmt: str) -> dict[str, tuple[list[dict], list]]:
    """Every row of every extract with the reason it would be rejected (None: loaded)."""
    classified = {"customers": _classified(landing, "customers", fmt)}
    loaded = {row["customer_id"] for row, reason in zip(*classified["customers"]) if reason is None}
    for extract in ("orders", "survey_responses", "marketing_spend"):
        classified[extract] = _classified(landing, extract, fmt, known_customers=loaded)
    return classified


def test_dirty_manifest_matches_the_rows_in_the_files(dirty_run):
    fmt, summary = dirty_run
    manifest = json.loads((summary.truth_dir / "dirty_manifest.json").read_text())
    found = {extract: dict(Counter(str(r) for r in reasons if r))
             for extract, (_, reasons) in _classify_landing(summary.out_dir, fmt).items()}
    assert found == manifest
    assert manifest == summary.bad_rows
    for counts in manifest.values():
        assert all(1 <= n <= 5 for n in counts.values())
    text_only = {"invalid_date", "invalid_number", "invalid_boolean", "malformed_row"}
    expected_kinds = {"customers": 7, "orders": 12, "survey_responses": 9, "marketing_spend": 10}
    for extract, kinds in expected_kinds.items():
        if fmt == "parquet":  # typed columns cannot hold text-only problems
            assert not text_only & set(manifest[extract]) and manifest[extract]
        else:
            assert len(manifest[extract]) == kinds, extract


# --- other shapes of the same shop ------------------------------------------------------------------

def test_order_lines_add_up_to_the_orders_to_the_cent(tmp_path):
    orders = generate(tmp_path / "orders" / "landing", customers=1500, seed=8, fmt="parquet", progress=False)
    lines = generate(tmp_path / "lines" / "landing", customers=1500, seed=8, fmt="parquet", lines=True,
                     progress=False)
    line_rows = _orders(lines.out_dir).to_pandas()
    order_rows = _orders(orders.out_dir).to_pandas().set_index("order_id")

    assert pq.read_schema(_files(lines.out_dir, "orders")[0]).names == [
        "order_id", "customer_id", "ordered_at", "currency", "status", "country", "quantity", "unit_price", "line_id"]
    assert lines.order_lines == len(line_rows) > 1.5 * lines.orders and lines.orders == orders.orders
    line_rows["value"] = [q * p for q, p in zip(line_rows.quantity, line_rows.unit_price)]
    rolled = line_rows.groupby("order_id").agg(amount=("value", "sum"), customer_id=("customer_id", "first"),
                                               ordered_at=("ordered_at", "min"), status=("status", "first"),
                                               lines=("line_id", "count"))
    assert (rolled.amount == order_rows.amount[rolled.index]).all()
    assert (rolled.customer_id == order_rows.customer_id[rolled.index]).all()
    assert (rolled.status == order_rows.status[rolled.index]).all()
    assert rolled.lines.max() <= 6 and (line_rows.quantity > 0).all() and (line_rows.unit_price >= 0).all()
    first = line_rows.line_id == "1"
    assert line_rows.status[~first].isna().all() and line_rows.status[first].notna().all(), "stated on line 1 only"
    assert (pq.read_table(lines.truth_dir / "customer_truth.parquet") == pq.read_table(
        orders.truth_dir / "customer_truth.parquet"))


def test_order_lines_as_text_and_the_ingestion_rolls_them_up_into_the_same_orders(tmp_path):
    from pipelines.ingestion.loader import ingest_extract
    from pipelines.ingestion.raw_layer import data_glob

    def loaded(landing: Path) -> list[tuple]:
        import duckdb

        raw, cache = landing.parent / "raw", landing.parent / "cache"
        ingest_extract("customers", landing, raw, cache)
        result = ingest_extract("orders", landing, raw, cache, customers_dir=raw / "customers")
        assert result.rows_quarantined == 0 and result.rows_read == result.rows_loaded
        return duckdb.sql(f"select * exclude (_source_file, _source_row, _loaded_at, _line_count) "
                          f"from read_parquet('{data_glob(raw / 'orders')}') order by order_id").fetchall()

    lines = generate(tmp_path / "lines" / "landing", customers=400, seed=6, lines=True, progress=False)
    orders = generate(tmp_path / "orders" / "landing", customers=400, seed=6, progress=False)
    header = _text_rows(_files(lines.out_dir, "orders")[0], "csv")[0]
    assert header[-3:] == ["quantity", "unit_price", "line_id"]
    assert [row[:6] for row in loaded(lines.out_dir)] == [row[:6] for row in loaded(orders.out_dir)]


def test_a_shop_without_customers_extract_has_the_country_on_its_orders(tmp_path, capsys):
    assert main(["--customers", "300", "--seed", "4", "--out", str(tmp_path / "landing"), "--quiet",
                 "--without-customers"]) == 0
    names = sorted(p.name for p in (tmp_path / "landing").iterdir())
    assert not any(name.startswith("customers") for name in names) and "survey_responses.csv" in names
    header, *rows = _text_rows(_files(tmp_path / "landing", "orders")[0], "csv")
    assert header == ["order_id", "customer_id", "ordered_at", "amount", "currency", "status", "country"]
    assert all(row[6] for row in rows)
    with pytest.raises(SystemExit):
        main(["--customers", "300", "--seed", "4", "--out", str(tmp_path / "x"), "--lines", "--dirty"])
    assert "cannot be combined" in capsys.readouterr().err
