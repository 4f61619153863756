{#-
  Run settings: the one place dbt reads a RETENTIO_* variable besides profiles.yml and the sources' locations.
  A run gives dbt every setting through the environment (pipelines.settings.as_environment); the defaults
  here are for `dbt build` by hand and equal those of pipelines/settings.py (tests/test_settings.py checks).
  A --vars given by hand wins.
-#}

{#- A customer is active at the end of day d when d - (latest purchase on or before d) < this many days. -#}
{% macro activity_window_days() -%}
    {{ var('activity_window_days', env_var('RETENTIO_ACTIVITY_WINDOW_DAYS', '365')) | int }}
{%- endmacro %}

{#- The as-of date setting as given ('YYYY-MM-DD'), or '' for the latest order date: int_run_settings resolves
    it into the run's as-of date, which every other model reads from there. -#}
{% macro as_of_date_setting() -%}
    {{ var('as_of_date', env_var('RETENTIO_AS_OF_DATE', '')) }}
{%- endmacro %}

{#- The back-test holdout horizon H in days: models are also fitted on history up to as-of - H and scored on the last H. -#}
{% macro backtest_holdout_days() -%}
    {{ var('backtest_holdout_days', env_var('RETENTIO_BACKTEST_HOLDOUT_DAYS', '91')) | int }}
{%- endmacro %}

{#- The grain retention_drivers and alerts compare the last complete period of (month, quarter or year). -#}
{% macro comparison_grain() -%}
    {{ var('comparison_grain', env_var('RETENTIO_COMPARISON_GRAIN', 'month')) }}
{%- endmacro %}

{#- Alert thresholds: how far the last complete period may move from its trailing average before it alerts. -#}
{% macro alert_setting(name) -%}
    {%- set defaults = {
        'trailing_periods': '3',
        'churn_rise_pct': '20',
        'crr_drop_points': '2',
        'nps_drop_points': '10',
        'cac_rise_pct': '20',
    } -%}
    {{ var('alert_' ~ name, env_var('RETENTIO_ALERT_' ~ (name | upper), defaults[name])) }}
{%- endmacro %}
