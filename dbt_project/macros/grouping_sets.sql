{#-
  Counting per slice in one pass: `group by grouping sets` over the columns of int_customers_segmented
  (one row per customer), instead of a long table with a row per customer and dimension, which would
  multiply the rows counted by the number of dimensions.
-#}

{#- The dimension a grouping set counts by ('all' for the set without one) and its segment. -#}
{% macro slice_columns(dimensions) -%}
    case
        {%- for dimension in dimensions %}
        when grouping({{ dimension }}) = 0 then '{{ dimension }}'
        {%- endfor %}
        else 'all'
    end as dimension,
    coalesce({% for dimension in dimensions %}{{ dimension }}, {% endfor %}'all') as segment
{%- endmacro %}

{#- One grouping set per dimension, each with the columns in `keys`, and (with_total) one of `keys` alone ('all'). -#}
{% macro slice_grouping_sets(keys, dimensions, with_total=true) -%}
    grouping sets (
        {%- if with_total %}
        ({{ keys | join(', ') }}),
        {%- endif %}
        {%- for dimension in dimensions %}
        ({{ keys | join(', ') }}, {{ dimension }}){{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}
