"""The pseudonym table: customer_id -> customer_key, kept in the warehouse, never published.

The customers are the CRM's; a shop without a customers extract has its customers derived from the orders
(pipelines/ingestion/reconcile.py), so their ids come from the raw orders, and from the survey answers,
which load for any customer then too.
"""

import hashlib
import hmac
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import AssetExecutionContext, AssetKey, Failure, MaterializeResult, asset

from pipelines.ingestion.raw_layer import data_glob, holds_loaded_files
from pipelines.partitions import IN_ONE_RUN
from pipelines.privacy.pseudonyms import PseudonymKeyError, customer_keys, pseudonym_key
from pipelines.shared import RetentioSettings, raw_asset_key

if TYPE_CHECKING:
    import pyarrow as pa

PSEUDONYMS_KEY = AssetKey(["private", "customer_pseudonyms"])
# Where customer ids come from without a customers extract.
CUSTOMERS_FROM_ACTIVITY = ("orders", "survey_responses")


@asset(
    key=PSEUDONYMS_KEY,
    group_name="privacy",
    deps=[raw_asset_key("customers"), *(raw_asset_key(name) for name in CUSTOMERS_FROM_ACTIVITY)],
    kinds={"python", "parquet"},
    description="Keyed-hash pseudonym (customer_key) of every customer (the CRM's, or without a customers extract "
                "those of the orders and survey answers); published tables use it instead of the customer id. "
                "Kept under RETENTIO_WAREHOUSE_DIR/private, never published.",
    backfill_policy=IN_ONE_RUN,
)
def customer_pseudonyms(context: AssetExecutionContext, retentio_settings: RetentioSettings) -> MaterializeResult:
    settings = retentio_settings.get()
    try:
        key, is_development_key = pseudonym_key(settings)
    except PseudonymKeyError as exc:
        raise Failure(description=str(exc), allow_retries=False) from None
    if is_development_key:
        context.log.warning("RETENTIO_PSEUDONYM_KEY is not set: using the development key; set your own secret "
                            "before publishing real customers")
    import pyarrow.parquet as pq

    target = settings.warehouse_dir / "private" / "customer_pseudonyms.parquet"
    table, newly_keyed = _pseudonyms(customer_id_sources(settings.raw_dir), target, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, target)
    _key_fingerprint_file(target).write_text(_key_fingerprint(key))
    return MaterializeResult(metadata={"dagster/row_count": table.num_rows, "newly_keyed": newly_keyed,
                                       "development_key": is_development_key})


def _key_fingerprint(key: bytes) -> str:
    """Tells whether the previous table was keyed with the same secret, without storing the secret."""
    return hmac.new(key, b"retentio pseudonym key fingerprint", hashlib.sha256).hexdigest()[:16]


def _key_fingerprint_file(target: Path) -> Path:
    return target.with_name(target.name + ".key")


def customer_id_sources(raw_dir: Path) -> list[str]:
    """The raw parts holding every customer id: the CRM's when a customers extract was delivered (orders and
    answers then refer to its customers only), else the orders' and the survey answers'."""
    if holds_loaded_files(raw_dir / "customers"):
        return [data_glob(raw_dir / "customers")]
    return [data_glob(raw_dir / name) for name in CUSTOMERS_FROM_ACTIVITY if (raw_dir / name).exists()]


def _pseudonyms(sources: list[str], previous: Path, key: bytes) -> tuple["pa.Table", int]:
    """Every customer's key, ordered by customer_id; the keys of customers keyed before with the same
    secret are reused (a key depends only on the id and the secret), so a day's new customers cost their
    own HMACs, not everyone's. Customers no longer in the raw layer (erased) drop out."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    try:
        # A CRM's ids are unique already; `union` leaves each id of orders and answers once.
        ids = " union ".join(f"select customer_id from read_parquet('{source}')" for source in sources) or \
            "select null::varchar as customer_id where false"
        con.execute(f"create temp table ids as select customer_id from ({ids}) where customer_id is not null")
        fingerprint = _key_fingerprint_file(previous)
        reusable = previous.exists() and fingerprint.exists() and fingerprint.read_text() == _key_fingerprint(key)
        known = f"read_parquet('{previous}')" if reusable else "(select null::varchar as customer_id, null::varchar as customer_key where false)"
        new_ids = con.execute(f"select customer_id from ids anti join {known} as k using (customer_id) "
                              "order by customer_id").fetchnumpy()["customer_id"].tolist()
        con.register("new_keys", pa.table({"customer_id": pa.array(new_ids, pa.string()),
                                           "customer_key": pa.array(customer_keys(new_ids, key), pa.string())}))
        table = con.sql(f"""
            select customer_id, customer_key from ids join {known} as k using (customer_id)
            union all
            select customer_id, customer_key from new_keys
            order by customer_id""").to_arrow_table()
    finally:
        con.close()
    return table, len(new_ids)
