with source as (

    select * from {{ source('predictions', 'clv_backtest') }}

),

renamed as (

    select
        as_of_date,
        holdout_days,
        model_status,
        forecast,
        scope,
        customers,
        actual_purchases,
        predicted_purchases,
        total_error,
        total_error_pct,
        mean_absolute_error
    from source

)

select * from renamed
