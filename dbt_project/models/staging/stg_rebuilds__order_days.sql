with source as (

    select * from {{ source('rebuilds', 'order_days') }}

),

renamed as (

    select
        request_number,
        first_day as first_order_date,
        last_day as last_order_date,
        requested_at
    from source

)

select * from renamed
