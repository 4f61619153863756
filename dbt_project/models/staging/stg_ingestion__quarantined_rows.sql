{#- One union branch per extract of the contract (macros/extracts.sql). -#}
{%- set extracts = extract_names() -%}

with

{% for extract in extracts %}
{{ extract }}_rejected as (

    select * from {{ source('ingestion', extract ~ '_quarantine') }}

),
{% endfor %}

unioned as (

    {% for extract in extracts %}
    select
        extract as extract_name,
        source_file,
        source_row,
        column_name,
        reason,
        detail,
        raw_record,
        loaded_at
    from {{ extract }}_rejected
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from unioned
