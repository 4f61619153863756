with scored as (

    select * from {{ ref('int_customers_rfm_scored') }}

),

pseudonyms as (

    select * from {{ ref('stg_private__customer_pseudonyms') }}

),

settings as (

    select * from {{ ref('int_run_settings') }}

),

final as (

    select
        pseudonyms.customer_key,
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
    inner join pseudonyms on pseudonyms.customer_id = scored.customer_id
    inner join {{ ref('int_customers_aggregated') }} as customers
        on customers.customer_id = scored.customer_id and not customers.is_erased
    cross join settings

)

select * from final
