"""One Dagster multi-asset per extract: landing files in; raw table, quarantine and file ledger out.

See loader.py for how rows are typed, checked and reconciled.
"""

from typing import TYPE_CHECKING

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from pipelines.ingestion.contracts import EXTRACTS, Extract
from pipelines.ingestion.erasure import ErasureRequestError
from pipelines.ingestion.errors import ExtractFileError
from pipelines.ingestion.source_config import SourceConfigError
from pipelines.partitions import IN_ONE_RUN
from pipelines.shared import RetentioSettings, raw_asset_key

if TYPE_CHECKING:
    from pipelines.ingestion.loader import IngestionResult


def quarantine_asset_key(extract_name: str) -> AssetKey:
    return AssetKey(["raw", f"{extract_name}_quarantine"])


def ledger_asset_key(extract_name: str) -> AssetKey:
    return AssetKey(["raw", f"{extract_name}_files"])


def _files_table(result: "IngestionResult") -> str:
    lines = ["| file | status | read | loaded | quarantined | dialect |", "|---|---|---:|---:|---:|---|"]
    for f in result.files:
        lines.append(f"| {f['source_file']} | {f['status']} | {f['rows_read']} | {f['rows_loaded']} | "
                     f"{f['rows_quarantined']} | {f['dialect']} |")
    return "\n".join(lines)


# Marketing spend is checked against the reporting currency, which the orders nearly always decide when
# RETENTIO_CURRENCY is unset (pipelines/ingestion/currency.py): ingested after them, it finds what the order
# files state already counted instead of reading them for it.
_INGESTED_AFTER = {"marketing_spend": ["orders"]}


def _build_raw_assets(extract: Extract) -> AssetsDefinition:
    deps = [raw_asset_key("customers")] if extract.references_customers else []
    deps += [raw_asset_key(name) for name in _INGESTED_AFTER.get(extract.name, [])]
    pattern = f"`{extract.file_prefix}*.csv|parquet|xlsx|xls|ods`"

    @multi_asset(
        name=f"ingest_{extract.name}",
        group_name="ingestion",
        specs=[
            AssetSpec(raw_asset_key(extract.name), deps=deps, kinds={"python", "parquet"},
                      description=f"{extract.description} Accepted rows of every {pattern} landing file, typed."),
            AssetSpec(quarantine_asset_key(extract.name), deps=deps, kinds={"python", "parquet"},
                      description=f"Rows of {pattern} files that broke the input contract, with file, row, "
                                  "column, reason and raw values."),
            AssetSpec(ledger_asset_key(extract.name), deps=deps, kinds={"python", "parquet"},
                      description=f"One row per {pattern} file read: checksum, dialect, rows read, loaded "
                                  "and quarantined."),
        ],
        backfill_policy=IN_ONE_RUN,
    )
    def _ingest(context: AssetExecutionContext, retentio_settings: RetentioSettings):
        from pipelines.ingestion.loader import ingest_extract  # pyarrow and DuckDB load when a step runs

        settings = retentio_settings.get()
        customers_dir = settings.raw_dir / "customers" if extract.references_customers else None
        try:
            result = ingest_extract(
                extract.name, settings.landing_dir, settings.raw_dir, settings.parse_cache_dir,
                currency=settings.currency, customers_dir=customers_dir, sources_config=settings.sources_config_file,
                memory_limit=settings.duckdb_memory_limit, threads=settings.duckdb_threads,
            )
        except (ExtractFileError, SourceConfigError, ErasureRequestError) as exc:
            # The message names the file and column; a stack trace would only hide it.
            raise Failure(description=str(exc), allow_retries=False) from None
        for warning in result.warnings:
            context.log.warning(warning)
        yield MaterializeResult(asset_key=raw_asset_key(extract.name), metadata={
            "dagster/row_count": result.rows_loaded,
            "rows_read": result.rows_read,
            "rows_loaded": result.rows_loaded,
            "rows_quarantined": result.rows_quarantined,
            "warnings": MetadataValue.json(result.warnings),
            "path": MetadataValue.path(result.data_glob),
            "batch": result.batch,
            "appended_to_previous_version": result.appended,
            "reused_previous_version": result.reused,
        })
        yield MaterializeResult(asset_key=quarantine_asset_key(extract.name), metadata={
            "dagster/row_count": result.rows_quarantined,
            "quarantined_by_reason": MetadataValue.json(result.quarantined_by_reason),
            "path": MetadataValue.path(str(result.version_dir / "quarantine.parquet")),
        })
        yield MaterializeResult(asset_key=ledger_asset_key(extract.name), metadata={
            "dagster/row_count": len(result.files),
            "files": MetadataValue.md(_files_table(result)),
            "checksums": MetadataValue.json({f["source_file"]: f["checksum"] for f in result.files}),
            "path": MetadataValue.path(str(result.version_dir / "files.parquet")),
        })

    return _ingest


raw_extract_assets = [_build_raw_assets(extract) for extract in EXTRACTS.values()]
