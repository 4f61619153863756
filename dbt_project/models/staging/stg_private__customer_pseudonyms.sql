with source as (

    select * from {{ source('private', 'customer_pseudonyms') }}

),

renamed as (

    select
        customer_id,
        customer_key
    from source

)

select * from renamed
