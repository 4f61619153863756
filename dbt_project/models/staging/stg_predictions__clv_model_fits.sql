with source as (

    select * from {{ source('predictions', 'clv_model_fits') }}

),

renamed as (

    select
        model,
        fitted_on,
        parameter,
        estimate,
        standard_error,
        time_unit,
        log_likelihood,
        customers,
        converged,
        as_of_date
    from source

)

select * from renamed
