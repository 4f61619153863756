{#- Erased customers keep their purchases and answers under an opaque token id (pipelines/ingestion/erasure.py). -#}
{% macro is_erased_customer(customer_id) -%}
    ({{ customer_id }} like 'erased-%')
{%- endmacro %}
