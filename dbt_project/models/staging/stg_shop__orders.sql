with source as (

    select * from {{ source('shop', 'orders') }}

),

renamed as (

    select
        order_id,
        customer_id,
        ordered_at,
        cast(ordered_at as date) as order_date,
        amount,
        currency,
        status as order_status,
        {{ country_code('country') }} as country_code,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at,
        _batch as ingestion_batch

    from source

)

select * from renamed
