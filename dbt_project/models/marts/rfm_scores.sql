with scored as (

    select * from {{ ref('int_customers_rfm_scored') }}

),

settings as (

    select * from {{ ref('int_run_settings') }}

),

final as (

    select
        scored.customer_id,
        settings.as_of_date,
        scored.recency_days,
        scored.frequency,
        scored.monetary,
        scored.recency_score,
        scored.frequency_score,
        scored.monetary_score,
        scored.rfm_code,
        scored.rfm_segment
    from scored
    cross join settings

)

select * from final
