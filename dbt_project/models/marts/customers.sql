with customers as (

    select * from {{ ref('int_customers_aggregated') }}
    where not is_erased  -- counted in the aggregates, never listed

),

rfm as (

    select * from {{ ref('int_customers_rfm_scored') }}

),

pseudonyms as (

    select * from {{ ref('stg_private__customer_pseudonyms') }}

),

predictions as (

    select * from {{ ref('stg_predictions__customer_clv_predictions') }}

),

settings as (

    select * from {{ ref('int_run_settings') }}

),

responses_ranked as (

    select
        responses.customer_id,
        responses.nps_score,
        responses.response_date,
        row_number() over (
            partition by responses.customer_id order by responses.responded_at desc, responses.response_id desc
        ) as recency_rank
    from {{ ref('stg_survey__survey_responses') }} as responses
    cross join settings
    where responses.response_date <= settings.as_of_date

),

latest_responses as (

    select customer_id, nps_score, response_date
    from responses_ranked
    where recency_rank = 1

),

final as (

    select
        pseudonyms.customer_key,
        customers.signup_date,
        customers.country_code,
        customers.acquisition_channel,
        customers.has_marketing_consent,
        customers.has_purchased,
        customers.first_purchase_date,
        customers.last_purchase_date,
        customers.purchases,
        customers.revenue,
        {{ safe_divide('customers.revenue', 'customers.purchases') }} as average_basket,
        customers.tenure_days,
        customers.days_since_last_purchase,
        customers.is_active,
        latest_responses.nps_score as latest_nps_score,
        latest_responses.response_date as latest_nps_response_date,
        rfm.recency_score,
        rfm.frequency_score,
        rfm.monetary_score,
        rfm.rfm_segment,
        customers.revenue as historical_clv,
        predictions.probability_alive,
        predictions.expected_purchases_12m,
        predictions.expected_purchases_12m_p10,
        predictions.expected_purchases_12m_p90,
        predictions.expected_order_value,
        predictions.predicted_clv_12m,
        predictions.predicted_clv_12m_p10,
        predictions.predicted_clv_12m_p90,
        predictions.health_score,
        predictions.health_band
    from customers
    inner join pseudonyms on pseudonyms.customer_id = customers.customer_id
    left join rfm on rfm.customer_id = customers.customer_id
    left join predictions on predictions.customer_id = customers.customer_id
    left join latest_responses on latest_responses.customer_id = customers.customer_id

)

select * from final
