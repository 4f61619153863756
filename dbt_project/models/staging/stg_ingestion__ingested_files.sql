{#- One union branch per extract of the contract (macros/extracts.sql). -#}
{%- set extracts = extract_names() -%}

with

{% for extract in extracts %}
{{ extract }}_files as (

    select * from {{ source('ingestion', extract ~ '_files') }}

),
{% endfor %}

unioned as (

    {% for extract in extracts %}
    select
        extract as extract_name,
        source_file,
        checksum,
        size_bytes,
        file_format,
        dialect,
        status as file_status,
        duplicate_of,
        unknown_columns,
        rows_read,
        rows_loaded,
        rows_quarantined,
        loaded_at
    from {{ extract }}_files
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from unioned
