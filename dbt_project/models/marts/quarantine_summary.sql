{#- What the ingestion rejected, counted per extract, file, reason and column, for analysts to see. -#}

with rejected as (

    select * from {{ ref('stg_ingestion__quarantined_rows') }}

),

final as (

    select
        extract_name,
        source_file,
        reason,
        column_name,
        count(*) as rejected_rows,
        min(source_row) as first_source_row,
        min(detail) as example_detail
    from rejected
    group by extract_name, source_file, reason, column_name

)

select * from final
