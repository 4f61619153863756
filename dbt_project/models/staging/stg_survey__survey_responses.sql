with source as (

    select * from {{ source('survey', 'survey_responses') }}

),

renamed as (

    select
        response_id,
        customer_id,
        responded_at,
        cast(responded_at as date) as response_date,
        nps_score,
        comment,
        _source_file as source_file,
        _source_row as source_row,
        _loaded_at as loaded_at

    from source

)

select * from renamed
