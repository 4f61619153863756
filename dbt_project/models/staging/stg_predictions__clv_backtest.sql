with source as (

    select * from {{ source('predictions', 'clv_backtest') }}

),

renamed as (

    select
        as_of_date,
        holdout_days,
        model_status,
        purchase_model,
        forecast,
        scope,
        customers,
        actual_purchases,
        predicted_purchases,
        total_error,
        total_error_pct,
        mean_absolute_error,
        root_mean_squared_error,
        share_below_p10,
        share_at_or_below_p10,
        share_above_p90,
        share_at_or_above_p90
    from source

)

select * from renamed
