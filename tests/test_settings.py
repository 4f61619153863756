"""Settings: one door in (pipelines/settings.py), one default each, the same defaults for dbt run by hand."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from pipelines.settings import PROJECT_ROOT, Settings, SettingsError, as_environment

DBT_SETTINGS_MACROS = PROJECT_ROOT / "dbt_project" / "macros" / "settings.sql"


def dbt_defaults() -> dict[str, str]:
    """{variable: default} of every env_var(...) in dbt_project/macros/settings.sql, the alert thresholds'
    defaults (one table, looked up by name) included."""
    text = DBT_SETTINGS_MACROS.read_text()
    defaults = dict(re.findall(r"env_var\('(RETENTIO_[A-Z_]+)', '([^']*)'\)", text))
    alerts = re.search(r"set defaults = \{(.*?)\}", text, re.S).group(1)
    defaults |= {f"RETENTIO_ALERT_{name.upper()}": value for name, value in re.findall(r"'(\w+)': '([^']*)'", alerts)}
    return defaults


def test_dbt_run_by_hand_has_the_defaults_of_a_pipeline_run():
    defaults = dbt_defaults()
    assert {"RETENTIO_ACTIVITY_WINDOW_DAYS", "RETENTIO_AS_OF_DATE", "RETENTIO_BACKTEST_HOLDOUT_DAYS",
            "RETENTIO_COMPARISON_GRAIN", "RETENTIO_ALERT_CHURN_RISE_PCT"} <= set(defaults)
    exported = as_environment(Settings())
    for variable, default in defaults.items():
        assert variable in exported, f"{variable} is read by dbt but not handed to it by as_environment"
        assert exported[variable] == default, f"{variable}: {default!r} in macros/settings.sql, " \
                                              f"{exported[variable]!r} in pipelines/settings.py"


def test_unset_or_blank_variables_give_the_defaults(monkeypatch):
    for variable in as_environment(Settings()):
        monkeypatch.setenv(variable, "  ")
    assert Settings.from_env() == Settings()


def test_every_setting_is_read_from_its_variable(monkeypatch, tmp_path):
    values = {
        "RETENTIO_LANDING_DIR": str(tmp_path / "in"), "RETENTIO_AS_OF_DATE": "2025-06-30",
        "RETENTIO_CURRENCY": "gbp", "RETENTIO_ORDER_DAYS_START": "2019-01-01", "RETENTIO_MAX_REJECTED_PCT": "12.5",
        "RETENTIO_SOURCES_CONFIG": "config/sources.yml", "RETENTIO_PSEUDONYM_KEY": " a key with spaces ",
        "RETENTIO_ENV": "Production", "RETENTIO_ALERT_WEBHOOK_URL": "https://hooks.example.com/x",
        "RETENTIO_SPARK_TABLES_DIR": "/mnt/spark", "RETENTIO_COMPARISON_GRAIN": "Quarter",
        "RETENTIO_ALERT_TRAILING_PERIODS": "6", "RETENTIO_ALERT_CRR_DROP_POINTS": "2.5",
    }
    for variable, value in values.items():
        monkeypatch.setenv(variable, value)
    settings = Settings.from_env()
    assert settings.landing_dir == tmp_path / "in" and settings.as_of_date == date(2025, 6, 30)
    assert settings.currency == "GBP" and settings.order_days_start == date(2019, 1, 1)
    assert settings.max_rejected_pct == 12.5 and settings.sources_config_file == PROJECT_ROOT / "config/sources.yml"
    assert settings.pseudonym_key == " a key with spaces ", "a secret is used exactly as given"
    assert "a key with spaces" not in repr(settings)
    assert settings.is_production and settings.alert_webhook_url == "https://hooks.example.com/x"
    assert settings.spark_tables_dir == Path("/mnt/spark") and settings.comparison_grain == "quarter"
    exported = as_environment(settings)
    assert exported["RETENTIO_ALERT_TRAILING_PERIODS"] == "6" and exported["RETENTIO_ALERT_CRR_DROP_POINTS"] == "2.5"
    assert exported["RETENTIO_AS_OF_DATE"] == "2025-06-30" and exported["RETENTIO_COMPARISON_GRAIN"] == "quarter"


@pytest.mark.parametrize(("variable", "value", "said"), [
    ("RETENTIO_ACTIVITY_WINDOW_DAYS", "a year", "is not a whole number"),
    ("RETENTIO_BACKTEST_HOLDOUT_DAYS", "0", "must be greater than zero"),
    ("RETENTIO_AS_OF_DATE", "30/06/2025", "is not a date in YYYY-MM-DD form"),
    ("RETENTIO_ORDER_DAYS_START", "2020-13-01", "is not a date in YYYY-MM-DD form"),
    ("RETENTIO_CURRENCY", "euro", "is not an ISO 4217 code"),
    ("RETENTIO_MAX_REJECTED_PCT", "150", "must be between 0 and 100"),
    ("RETENTIO_MAX_REJECTED_PCT", "half", "is not a number"),
    ("RETENTIO_COMPARISON_GRAIN", "week", "must be one of month, quarter, year"),
    ("RETENTIO_ALERT_CHURN_RISE_PCT", "-5", "must be zero or more"),
    ("RETENTIO_ALERT_TRAILING_PERIODS", "1.5", "is not a whole number"),
])
def test_an_unusable_value_is_named_with_its_variable(monkeypatch, variable, value, said):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=re.escape(f"{variable}={value!r} {said}")):
        Settings.from_env()


def python_files_reading(pattern: str) -> list[str]:
    found = []
    for path in sorted((PROJECT_ROOT / "pipelines").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(pattern, line):
                found.append(f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}")
    return found


def test_only_the_settings_module_reads_retentio_variables():
    reads = python_files_reading(r"(os\.environ|getenv).*RETENTIO_")
    assert [read for read in reads if not read.startswith("pipelines/settings.py")] == []


def test_dbt_reads_retentio_variables_only_in_its_settings_macros_profile_and_source_locations():
    project = PROJECT_ROOT / "dbt_project"
    reads = [(path.relative_to(project).as_posix(), line.strip())
             for path in [*project.glob("models/**/*"), *project.glob("macros/**/*"), *project.glob("tests/**/*"),
                          *project.glob("*.yml")] if path.is_file()
             for line in path.read_text().splitlines() if "env_var('RETENTIO_" in line]
    elsewhere = [(file, line) for file, line in reads
                 if file not in ("macros/settings.sql", "profiles.yml") and not line.startswith("external_location:")]
    assert elsewhere == []
