with source as (

    select * from {{ source('predictions', 'customer_clv_predictions') }}

),

renamed as (

    select
        customer_id,
        as_of_date,
        probability_alive,
        expected_purchases_12m,
        expected_purchases_12m_p10,
        expected_purchases_12m_p90,
        expected_order_value,
        predicted_clv_12m,
        predicted_clv_12m_p10,
        predicted_clv_12m_p90,
        health_score,
        health_band,
        purchase_model_status,
        spend_model_status
    from source

)

select * from renamed
