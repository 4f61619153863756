{#-
  Run settings, one definition each, read from the same environment variables as the rest of Retentio
  (see the README); Dagster's runs export them (pipelines.settings.export_to_environment). A --vars given
  by hand wins.
-#}

{#- A customer is active at the end of day d when d - (latest purchase on or before d) < this many days. -#}
{% macro activity_window_days() -%}
    {{ var('activity_window_days', env_var('RETENTIO_ACTIVITY_WINDOW_DAYS', '365')) | int }}
{%- endmacro %}

{#- The as-of date as a SQL date expression: the setting, or the latest order date in the data. -#}
{% macro as_of_date() -%}
    {%- set configured = var('as_of_date', env_var('RETENTIO_AS_OF_DATE', '')) -%}
    {%- if configured -%}
        cast('{{ configured }}' as date)
    {%- else -%}
        (select max(order_date) from {{ ref('stg_shop__orders') }})
    {%- endif -%}
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
{% macro alert_setting(name, default) -%}
    {{ var('alert_' ~ name, env_var('RETENTIO_ALERT_' ~ (name | upper), default)) }}
{%- endmacro %}
