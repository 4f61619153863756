{#-
  Small helpers that read the same on every engine Retentio runs on (DuckDB, Spark). dbt's own
  cross-database macros (dbt.dateadd, dbt.datediff, dbt.date_trunc) are used where they exist; these
  fill the gaps they leave: date arithmetic that returns a date, not a timestamp, and division that
  never truncates to an integer.
-#}

{% macro add_days(days, date_expression) -%}
    cast({{ dbt.dateadd('day', days, date_expression) }} as date)
{%- endmacro %}

{% macro add_months(months, date_expression) -%}
    cast({{ dbt.dateadd('month', months, date_expression) }} as date)
{%- endmacro %}

{% macro truncate_date(datepart, date_expression) -%}
    cast({{ dbt.date_trunc(datepart, date_expression) }} as date)
{%- endmacro %}

{% macro days_between(first_date, second_date) -%}
    {{ dbt.datediff(first_date, second_date, 'day') }}
{%- endmacro %}

{#- numerator / denominator as a double; null when the denominator is zero or null. -#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}

{#- 100 * numerator / denominator; null when the denominator is zero or null. -#}
{% macro percentage(numerator, denominator) -%}
    (100.0 * {{ safe_divide(numerator, denominator) }})
{%- endmacro %}

{% macro count_where(condition) -%}
    cast(sum(case when {{ condition }} then 1 else 0 end) as bigint)
{%- endmacro %}

{#- The value at the given fraction of the ordered values (an actual value, not an interpolation). -#}
{% macro percentile_value(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile_value')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile_value(expression, fraction) -%}
    percentile_disc({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{#- The value of `value` on the row where `ordering` is smallest (largest for last_by); ties do not arise
    when `ordering` ends with a unique column (see ordering_key). -#}
{% macro first_by(value, ordering) -%}
    {{ return(adapter.dispatch('first_by')(value, ordering)) }}
{%- endmacro %}

{% macro default__first_by(value, ordering) -%}
    arg_min({{ value }}, {{ ordering }})
{%- endmacro %}

{% macro spark__first_by(value, ordering) -%}
    min_by({{ value }}, {{ ordering }})
{%- endmacro %}

{% macro last_by(value, ordering) -%}
    {{ return(adapter.dispatch('last_by')(value, ordering)) }}
{%- endmacro %}

{% macro default__last_by(value, ordering) -%}
    arg_max({{ value }}, {{ ordering }})
{%- endmacro %}

{% macro spark__last_by(value, ordering) -%}
    max_by({{ value }}, {{ ordering }})
{%- endmacro %}

{#- Several columns compared as one, left to right (a row value, ordered lexicographically). -#}
{% macro ordering_key(columns) -%}
    {{ return(adapter.dispatch('ordering_key')(columns)) }}
{%- endmacro %}

{% macro default__ordering_key(columns) -%}
    row({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__ordering_key(columns) -%}
    struct({{ columns | join(', ') }})
{%- endmacro %}

{#- Every match of the regular expression `pattern` in `text` replaced by `replacement` (DuckDB replaces only
    the first match without the 'g' option; Spark replaces all). -#}
{% macro replace_all(text, pattern, replacement) -%}
    {{ return(adapter.dispatch('replace_all')(text, pattern, replacement)) }}
{%- endmacro %}

{% macro default__replace_all(text, pattern, replacement) -%}
    regexp_replace({{ text }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro spark__replace_all(text, pattern, replacement) -%}
    regexp_replace({{ text }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}
