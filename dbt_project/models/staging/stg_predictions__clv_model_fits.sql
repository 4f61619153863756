with source as (

    select * from {{ source('predictions', 'clv_model_fits') }}

),

renamed as (

    select
        model,
        fitted_on,
        status,
        variant,
        parameter,
        estimate,
        standard_error,
        time_unit,
        log_likelihood,
        customers,
        converged,
        reason,
        as_of_date,
        used_for_predictions,
        choice_reason
    from source

)

select * from renamed
