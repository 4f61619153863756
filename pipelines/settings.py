"""Every setting of Retentio: the one place that reads a RETENTIO_* environment variable (README, "Settings").

Each setting has one default, on its field below. `Settings.from_env()` reads the environment and checks
every value, naming the variable when one is unusable (SettingsError). A run builds the settings once and
gives them to its steps as a Dagster resource (pipelines/shared.py); dbt gets the ones it needs from
`as_environment` (its macros/settings.sql holds the same defaults, tested, for `dbt build` by hand).

To add a setting: a field with its default here, one line in `from_env`, a row in the README's table, and, if
dbt needs it, one line in `as_environment` and a macro in dbt_project/macros/settings.sql.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMPARISON_GRAINS = ("month", "quarter", "year")


class SettingsError(ValueError):
    """A setting has a value Retentio cannot use; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    landing_dir: Path = PROJECT_ROOT / "data" / "landing"
    warehouse_dir: Path = PROJECT_ROOT / "data" / "warehouse"
    as_of_date: date | None = None          # None: the latest order date in the data (int_run_settings resolves it)
    activity_window_days: int = 365
    backtest_holdout_days: int = 91         # H: the back-test fits on history up to as-of - H days
    currency: str | None = None             # None: resolved from the extracts (ingestion/currency.py)
    duckdb_memory_limit: str = "3GB"
    duckdb_threads: int = os.cpu_count() or 2
    dbt_target: str = "duckdb"
    max_wait_seconds: int = 3600            # how long a run waits for another one using the warehouse
    order_days_start: date = date(2020, 1, 1)  # the first order day a backfill can name (pipelines/partitions.py)
    max_rejected_pct: float = 50.0          # a file losing more of its rows to quarantine stops the run
    sources_config_file: Path | None = None  # None: retentio_sources.yml in the landing directory (source_config.py)
    pseudonym_key: str | None = field(default=None, repr=False)  # None: the development key (privacy/pseudonyms.py)
    is_production: bool = False             # RETENTIO_ENV=production: no development pseudonym key
    alert_webhook_url: str | None = None
    spark_tables_location: Path | None = None  # None: the local Spark's, under the warehouse directory
    comparison_grain: str = "month"         # the period retention_drivers and alerts compare
    alert_trailing_periods: int = 3
    alert_churn_rise_pct: float = 20
    alert_crr_drop_points: float = 2
    alert_nps_drop_points: float = 10
    alert_cac_rise_pct: float = 20
    ci_state_location: Path | None = None   # None: <warehouse>/dbt_state, what the last publish kept (make ci)

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            landing_dir=_path("RETENTIO_LANDING_DIR", cls.landing_dir),
            warehouse_dir=_path("RETENTIO_WAREHOUSE_DIR", cls.warehouse_dir),
            as_of_date=_date("RETENTIO_AS_OF_DATE", cls.as_of_date),
            activity_window_days=_positive_int("RETENTIO_ACTIVITY_WINDOW_DAYS", cls.activity_window_days),
            backtest_holdout_days=_positive_int("RETENTIO_BACKTEST_HOLDOUT_DAYS", cls.backtest_holdout_days),
            currency=_currency("RETENTIO_CURRENCY", cls.currency),
            duckdb_memory_limit=_text("RETENTIO_DUCKDB_MEMORY_LIMIT", cls.duckdb_memory_limit),
            duckdb_threads=_positive_int("RETENTIO_DUCKDB_THREADS", cls.duckdb_threads),
            dbt_target=_text("RETENTIO_DBT_TARGET", cls.dbt_target),
            max_wait_seconds=_positive_int("RETENTIO_MAX_WAIT_SECONDS", cls.max_wait_seconds),
            order_days_start=_date("RETENTIO_ORDER_DAYS_START", cls.order_days_start),
            max_rejected_pct=_number("RETENTIO_MAX_REJECTED_PCT", cls.max_rejected_pct, at_most=100),
            sources_config_file=_path("RETENTIO_SOURCES_CONFIG", cls.sources_config_file),
            pseudonym_key=os.environ.get("RETENTIO_PSEUDONYM_KEY") or cls.pseudonym_key,  # a secret: kept as given
            is_production=(_text("RETENTIO_ENV", "") or "").lower() == "production",
            alert_webhook_url=_text("RETENTIO_ALERT_WEBHOOK_URL", cls.alert_webhook_url),
            spark_tables_location=_path("RETENTIO_SPARK_TABLES_DIR", cls.spark_tables_location),
            comparison_grain=_choice("RETENTIO_COMPARISON_GRAIN", cls.comparison_grain, COMPARISON_GRAINS),
            alert_trailing_periods=_positive_int("RETENTIO_ALERT_TRAILING_PERIODS", cls.alert_trailing_periods),
            alert_churn_rise_pct=_number("RETENTIO_ALERT_CHURN_RISE_PCT", cls.alert_churn_rise_pct),
            alert_crr_drop_points=_number("RETENTIO_ALERT_CRR_DROP_POINTS", cls.alert_crr_drop_points),
            alert_nps_drop_points=_number("RETENTIO_ALERT_NPS_DROP_POINTS", cls.alert_nps_drop_points),
            alert_cac_rise_pct=_number("RETENTIO_ALERT_CAC_RISE_PCT", cls.alert_cac_rise_pct),
            ci_state_location=_path("RETENTIO_CI_STATE_DIR", cls.ci_state_location),
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

    @property
    def dbt_state_dir(self) -> Path:
        """Where a publish keeps the dbt manifest it published from: production's state for `make ci`."""
        return self.warehouse_dir / "dbt_state"

    @property
    def ci_state_dir(self) -> Path:
        """The dbt state `make ci` compares a change with (state:modified) and defers to."""
        return self.ci_state_location or self.dbt_state_dir

    @property
    def spark_tables_dir(self) -> Path:
        """Where Spark writes its managed tables (pipelines/transform/spark_mirror.py)."""
        return self.spark_tables_location or self.warehouse_dir / "spark" / "warehouse"


def as_environment(settings: Settings) -> dict[str, str]:
    """Every setting dbt reads, as the environment variables profiles.yml, the sources and macros/settings.sql
    read (paths absolute). The one place settings reach dbt: through the environment rather than --vars, as dbt
    would re-parse the whole project whenever the vars differ from those of the prepared manifest."""
    return {
        "RETENTIO_LANDING_DIR": str(settings.landing_dir),
        "RETENTIO_WAREHOUSE_DIR": str(settings.warehouse_dir),
        "RETENTIO_DBT_TARGET": settings.dbt_target,
        "RETENTIO_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit,
        "RETENTIO_DUCKDB_THREADS": str(settings.duckdb_threads),
        "RETENTIO_AS_OF_DATE": settings.as_of_date.isoformat() if settings.as_of_date else "",
        "RETENTIO_ACTIVITY_WINDOW_DAYS": str(settings.activity_window_days),
        "RETENTIO_BACKTEST_HOLDOUT_DAYS": str(settings.backtest_holdout_days),
        "RETENTIO_COMPARISON_GRAIN": settings.comparison_grain,
        "RETENTIO_ALERT_TRAILING_PERIODS": str(settings.alert_trailing_periods),
        "RETENTIO_ALERT_CHURN_RISE_PCT": f"{settings.alert_churn_rise_pct:g}",
        "RETENTIO_ALERT_CRR_DROP_POINTS": f"{settings.alert_crr_drop_points:g}",
        "RETENTIO_ALERT_NPS_DROP_POINTS": f"{settings.alert_nps_drop_points:g}",
        "RETENTIO_ALERT_CAC_RISE_PCT": f"{settings.alert_cac_rise_pct:g}",
    }


def export_to_environment(settings: Settings) -> None:
    """Write the resolved settings into this process's environment, which dbt's subprocesses inherit
    (dagster-dbt starts dbt with this process's environment)."""
    os.environ.update(as_environment(settings))
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def _raw(name: str) -> str | None:
    """The variable's value, None when unset or blank (blank means 'use the default')."""
    raw = os.environ.get(name)
    return raw.strip() if raw and raw.strip() else None


def _text(name: str, default: str | None) -> str | None:
    return _raw(name) or default


def _path(name: str, default: Path | None) -> Path | None:
    raw = _raw(name)
    if raw is None:
        return default
    path = Path(raw).expanduser()
    return path if path.is_absolute() else (PROJECT_ROOT / path)


def _positive_int(name: str, default: int) -> int:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value <= 0:
        raise SettingsError(f"{name}={raw!r} must be greater than zero")
    return value


def _number(name: str, default: float, at_most: float | None = None) -> float:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if not 0 <= value <= (at_most if at_most is not None else float("inf")):
        bound = f"between 0 and {at_most:g}" if at_most is not None else "zero or more"
        raise SettingsError(f"{name}={raw!r} must be {bound}")
    return value


def _date(name: str, default: date | None) -> date | None:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a date in YYYY-MM-DD form") from None


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = _raw(name)
    if raw is None:
        return default
    if raw.lower() not in choices:
        raise SettingsError(f"{name}={raw!r} must be one of {', '.join(choices)}")
    return raw.lower()


def _currency(name: str, default: str | None) -> str | None:
    # Unset, the reporting currency is the one the extracts state (EUR when they state none): the
    # ingestion resolves it once and records it; later steps ask pipelines.ingestion.currency.
    raw = _raw(name)
    if raw is None:
        return default
    if len(raw) != 3 or not raw.isalpha():
        raise SettingsError(f"{name}={raw!r} is not an ISO 4217 code")
    return raw.upper()
