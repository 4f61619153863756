"""Backfills: re-derive the customer histories of a range of order days from the raw layer.

Every run already processes whatever is new (dbt's incremental histories, macros/incremental.sql). A
backfill is for the days that must be derived again anyway, after fixing data or a rule upstream:
materializing partitions of `rebuilds/order_days` (UI: select the days, Materialize, with downstream;
CLI: `dagster asset materialize --select 'rebuilds/order_days*' --partition-range A...B`) appends the range
to a request log, and the next dbt build rebuilds every customer who ordered on those days, from all of
their orders, then everything downstream.

The log (RETENTIO_WAREHOUSE_DIR/rebuilds/order_days.parquet) is a dbt source;
int_purchases_summed_by_customer_day remembers the last request it honoured, so a request is honoured once, by the first build after it.
"""


import os
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from pipelines.partitions import IN_ONE_RUN, order_day_partitions
from pipelines.shared import RetentioSettings

ORDER_DAY_REBUILDS_KEY = AssetKey(["rebuilds", "order_days"])


def _log_schema():
    import pyarrow as pa  # loads when a step runs, not with the code location

    return pa.schema([("request_number", pa.int64()), ("first_day", pa.date32()), ("last_day", pa.date32()),
                      ("requested_at", pa.timestamp("us"))])


def request_log(warehouse_dir: Path) -> Path:
    return warehouse_dir / "rebuilds" / "order_days.parquet"


def ensure_request_log(warehouse_dir: Path) -> Path:
    """The log, empty when nothing was ever requested (dbt reads it as a source)."""
    path = request_log(warehouse_dir)
    if not path.exists():
        _write(path, _log_schema().empty_table())
    return path


def request_rebuild(warehouse_dir: Path, first_day: date, last_day: date) -> int:
    """Append a request to rebuild the order days first_day..last_day; returns its number."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = ensure_request_log(warehouse_dir)
    log = pq.read_table(path)
    number = (max(log.column("request_number").to_pylist()) if log.num_rows else 0) + 1
    row = pa.table({"request_number": [number], "first_day": [first_day], "last_day": [last_day],
                    "requested_at": [datetime.now(timezone.utc).replace(tzinfo=None)]}, schema=_log_schema())
    _write(path, pa.concat_tables([log, row]))
    return number


def _write(path: Path, table) -> None:
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


@asset(
    key=ORDER_DAY_REBUILDS_KEY,
    group_name="rebuilds",
    partitions_def=order_day_partitions,
    backfill_policy=IN_ONE_RUN,
    kinds={"python", "parquet"},
    description="Order days to derive again from the raw layer. Materializing a range of days (a backfill, "
                "with its downstream assets) rebuilds the customer histories of everyone who ordered on them, "
                "then every mart; runs without a backfill process what is new and leave this alone.",
)
def order_day_rebuilds(context: AssetExecutionContext, retentio_settings: RetentioSettings) -> MaterializeResult:
    window = context.partition_time_window
    first_day, last_day = window.start.date(), date.fromordinal(window.end.date().toordinal() - 1)
    number = request_rebuild(retentio_settings.get().warehouse_dir, first_day, last_day)
    context.log.info(f"request {number}: rebuild the customers who ordered from {first_day} to {last_day}")
    return MaterializeResult(metadata={"request_number": number, "first_day": first_day.isoformat(),
                                       "last_day": last_day.isoformat()})
