{#- Channel names compared across extracts: 'Paid Search' in the CRM is 'paid_search' in the spend file. -#}
{% macro normalized_channel(column) -%}
    nullif(replace(replace(lower(trim({{ column }})), ' ', '_'), '-', '_'), '')
{%- endmacro %}
