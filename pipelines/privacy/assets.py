"""The pseudonym table: CRM customer_id -> customer_key, kept in the warehouse, never published."""

import os
import uuid

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import AssetExecutionContext, AssetKey, Failure, MaterializeResult, asset

from pipelines.ingestion.assets import raw_asset_key
from pipelines.ingestion.raw_layer import data_glob
from pipelines.partitions import IN_ONE_RUN
from pipelines.privacy.pseudonyms import PseudonymKeyError, customer_keys, pseudonym_key
from pipelines.settings import Settings

PSEUDONYMS_KEY = AssetKey(["private", "customer_pseudonyms"])


@asset(
    key=PSEUDONYMS_KEY,
    group_name="privacy",
    deps=[raw_asset_key("customers")],
    kinds={"python", "parquet"},
    description="Keyed-hash pseudonym (customer_key) of every customer; published tables use it instead of the "
                "CRM id. Kept under RETENTIO_WAREHOUSE_DIR/private, never published.",
    backfill_policy=IN_ONE_RUN,
)
def customer_pseudonyms(context: AssetExecutionContext) -> MaterializeResult:
    settings = Settings.from_env()
    try:
        key, is_development_key = pseudonym_key()
    except PseudonymKeyError as exc:
        raise Failure(description=str(exc), allow_retries=False) from None
    if is_development_key:
        context.log.warning("RETENTIO_PSEUDONYM_KEY is not set: using the development key; set your own secret "
                            "before publishing real customers")
    ids = duckdb.sql(f"select customer_id from read_parquet('{data_glob(settings.raw_dir / 'customers')}') "
                     "order by customer_id").fetchnumpy()["customer_id"].tolist()
    table = pa.table({"customer_id": pa.array(ids, pa.string()),
                      "customer_key": pa.array(customer_keys(ids, key), pa.string())})
    target = settings.warehouse_dir / "private" / "customer_pseudonyms.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, target)
    return MaterializeResult(metadata={"dagster/row_count": len(ids), "development_key": is_development_key})
