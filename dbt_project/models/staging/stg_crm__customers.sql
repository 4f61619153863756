with source as (

    select * from {{ source('crm', 'customers') }}

),

renamed as (

    select
        customer_id,
        email,
        full_name,
        signup_date,
        {{ country_code('country') }} as country_code,
        {{ normalized_channel('acquisition_channel') }} as acquisition_channel,
        coalesce(marketing_consent, false) as has_marketing_consent,
        {{ is_erased_customer('customer_id') }} as is_erased,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at

    from source

)

select * from renamed
