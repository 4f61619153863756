"""Privacy: pseudonymous keys, consent, and an erasure request that leaves no trace in the warehouse."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import duckdb
import pytest

from pipelines.ingestion.raw_layer import data_glob
from pipelines.privacy.pseudonyms import PseudonymKeyError, customer_key, customer_keys, pseudonym_key
from pipelines.settings import Settings
from tests.conftest import copy_workspace, failed_checks, run_pipeline


def test_customer_keys_are_a_keyed_hash_that_needs_the_key(monkeypatch):
    ids = ["C-0000001", "C-0000002", "é" * 40]
    key = b"a-secret-of-32-characters-length"
    assert customer_keys(ids, key) == [customer_key(i, key) for i in ids]
    assert customer_key(ids[0], key) == "c_" + hmac.new(key, ids[0].encode(), hashlib.sha256).hexdigest()[:20]
    assert customer_key(ids[0], key) != customer_key(ids[0], b"another-secret-key-of-some-length")
    monkeypatch.setenv("RETENTIO_ENV", "production")
    monkeypatch.delenv("RETENTIO_PSEUDONYM_KEY", raising=False)
    with pytest.raises(PseudonymKeyError, match="RETENTIO_PSEUDONYM_KEY is not set"):
        pseudonym_key(Settings.from_env())
    monkeypatch.setenv("RETENTIO_PSEUDONYM_KEY", "short")
    with pytest.raises(PseudonymKeyError, match="at least 16"):
        pseudonym_key(Settings.from_env())


def traces(root: Path, needles: list[str]) -> list[str]:
    """Every place under `root` holding one of `needles`: table cells of Parquet and DuckDB files (their
    storage may be compressed, so they are queried), raw bytes of every other file."""
    found = []
    con = duckdb.connect()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            relations = [(path.name, f"read_parquet('{path}')")]
        elif path.suffix == ".duckdb":
            alias = f"db{len(found)}_{abs(hash(str(path)))}"
            con.execute(f"attach '{path}' as {alias} (read_only)")
            relations = [(f"{path.name}:{schema}.{table}", f'{alias}."{schema}"."{table}"')
                         for schema, table in con.execute(
                             f"select schema_name, table_name from duckdb_tables() where database_name = '{alias}'"
                         ).fetchall()]
        else:
            data = path.read_bytes()
            found += [f"{path}: {n}" for n in needles if n.encode() in data]
            continue
        for name, relation in relations:
            columns = [row[0] for row in con.execute(f"describe select * from {relation}").fetchall()]
            if not columns:
                continue
            cells = " or ".join(f"contains(cast(\"{c}\" as varchar), ?)" for c in columns)
            for needle in needles:
                hits = con.execute(f"select count(*) from {relation} where {cells}", [needle] * len(columns))
                if hits.fetchall()[0][0]:
                    found.append(f"{path} ({name}): {needle}")
    con.close()
    return found


def test_an_erased_customer_leaves_no_trace_and_the_aggregates_do_not_move(published_workspace, tmp_path):
    workspace = copy_workspace(published_workspace[0], tmp_path)
    landing, warehouse = workspace.landing_dir, workspace.warehouse_dir
    con = duckdb.connect()
    raw = warehouse / "raw"
    chosen = con.execute(f"""
        with customers as (select * from read_parquet('{data_glob(raw / 'customers')}')),
        names as (select full_name, count(*) as n from customers group by all)
        select c.customer_id, c.email, c.full_name, p.customer_key
        from customers as c
        join names using (full_name)
        join read_parquet('{warehouse}/private/customer_pseudonyms.parquet') as p using (customer_id)
        where names.n = 1 and c.email is not null and c.marketing_consent
          and c.customer_id in (select customer_id from read_parquet('{data_glob(raw / 'survey_responses')}')
                                where comment is not null)
          and c.customer_id in (select customer_id from read_parquet('{data_glob(raw / 'orders')}')
                                where status = 'completed')
        order by c.customer_id limit 1
    """).fetchall()[0]
    customer_id, email, full_name, pseudonym = chosen
    needles = [customer_id, email, full_name, pseudonym]
    assert traces(warehouse, needles), "the chosen customer is in the warehouse before the request"

    def published(table: str) -> list[tuple]:
        bi = duckdb.connect(str(workspace.bi_db), read_only=True)
        try:
            return bi.execute(f"select * from {table}").fetchall()
        finally:
            bi.close()

    metrics_before, cohorts_before = published("retention_metrics"), published("customer_cohorts")
    customers_before = len(published("customers"))
    (landing / "erasure_requests.csv").write_text(f"customer_id,requested_at\n{customer_id},2026-07-01\n")

    result = run_pipeline(workspace)

    assert result.success, failed_checks(result)
    assert traces(warehouse, needles) == []
    assert published("retention_metrics") == metrics_before
    assert published("customer_cohorts") == cohorts_before
    assert len(published("customers")) == customers_before - 1
