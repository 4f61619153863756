with source as (

    select * from {{ source('marketing', 'marketing_spend') }}

),

renamed as (

    select
        spend_date,
        {{ normalized_channel('channel') }} as channel,
        amount,
        currency,
        campaign,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at

    from source

)

select * from renamed
