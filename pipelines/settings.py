"""Run settings, read from environment variables with working defaults (documented in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting has a value Retentio cannot use; the message names the variable."""


def _path(name: str, default: str) -> Path:
    raw = os.environ.get(name) or default
    path = Path(raw).expanduser()
    return path if path.is_absolute() else (PROJECT_ROOT / path)


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise SettingsError(f"{name}={raw!r} must be greater than zero")
    return value


def _optional_date(name: str) -> date | None:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a date in YYYY-MM-DD form") from None


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_dir: Path
    as_of_date: date | None          # None: the latest order date in the data
    activity_window_days: int
    backtest_holdout_days: int       # H: the back-test fits on history up to as-of - H days
    currency: str | None             # RETENTIO_CURRENCY; None: resolved from the extracts (ingestion/currency.py)
    duckdb_memory_limit: str
    duckdb_threads: int
    dbt_target: str
    max_wait_seconds: int = 3600     # how long a run waits for another one using the warehouse

    @classmethod
    def from_env(cls) -> "Settings":
        # Unset, the reporting currency is the one the extracts state (EUR when they state none): the
        # ingestion resolves it once and records it; later steps ask pipelines.ingestion.currency.
        currency = (os.environ.get("RETENTIO_CURRENCY") or "").strip().upper() or None
        if currency is not None and (len(currency) != 3 or not currency.isalpha()):
            raise SettingsError(f"RETENTIO_CURRENCY={currency!r} is not an ISO 4217 code")
        return cls(
            landing_dir=_path("RETENTIO_LANDING_DIR", "data/landing"),
            warehouse_dir=_path("RETENTIO_WAREHOUSE_DIR", "data/warehouse"),
            as_of_date=_optional_date("RETENTIO_AS_OF_DATE"),
            activity_window_days=_positive_int("RETENTIO_ACTIVITY_WINDOW_DAYS", 365),
            backtest_holdout_days=_positive_int("RETENTIO_BACKTEST_HOLDOUT_DAYS", 91),
            currency=currency,
            duckdb_memory_limit=os.environ.get("RETENTIO_DUCKDB_MEMORY_LIMIT") or "3GB",
            duckdb_threads=_positive_int("RETENTIO_DUCKDB_THREADS", os.cpu_count() or 2),
            dbt_target=os.environ.get("RETENTIO_DBT_TARGET") or "duckdb",
            max_wait_seconds=_positive_int("RETENTIO_MAX_WAIT_SECONDS", 3600),
        )

    @property
    def raw_dir(self) -> Path:
        """Engine-neutral raw layer: Parquet that dbt reads as sources."""
        return self.warehouse_dir / "raw"

    @property
    def parse_cache_dir(self) -> Path:
        return self.warehouse_dir / "cache" / "parsed"

    @property
    def warehouse_db(self) -> Path:
        return self.warehouse_dir / "retentio.duckdb"

    @property
    def bi_db(self) -> Path:
        return self.warehouse_dir / "bi.duckdb"

    @property
    def exports_dir(self) -> Path:
        return self.warehouse_dir / "exports"


def as_environment(settings: Settings) -> dict[str, str]:
    """The resolved settings as environment variables, paths absolute, for subprocesses (dbt) that read them."""
    return {
        "RETENTIO_LANDING_DIR": str(settings.landing_dir),
        "RETENTIO_WAREHOUSE_DIR": str(settings.warehouse_dir),
        "RETENTIO_ACTIVITY_WINDOW_DAYS": str(settings.activity_window_days),
        "RETENTIO_BACKTEST_HOLDOUT_DAYS": str(settings.backtest_holdout_days),
        "RETENTIO_AS_OF_DATE": settings.as_of_date.isoformat() if settings.as_of_date else "",
        "RETENTIO_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit,
        "RETENTIO_DUCKDB_THREADS": str(settings.duckdb_threads),
    }


def export_to_environment(settings: Settings) -> None:
    """Write the resolved settings back into this process's environment, which dbt's subprocesses inherit."""
    os.environ.update(as_environment(settings))
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
