{#-
  Valuable customers whose health is falling, for the retention team to contact: predicted value
  (revenue to date + predicted 12-month CLV) in the top fifth of purchasing customers, health band
  'watch' or 'at_risk', and marketing consent given (nobody is listed for contact without it).
  Ordered by predicted CLV, most valuable first.
-#}

with customers as (

    select * from {{ ref('customers') }}
    where has_purchased

),

value_cut_off as (

    select {{ percentile_value('historical_clv + coalesce(predicted_clv_12m, 0)', 0.8) }} as top_fifth_value
    from customers

),

final as (

    select
        customers.customer_key,
        customers.rfm_segment,
        customers.health_band,
        customers.health_score,
        customers.probability_alive,
        customers.days_since_last_purchase,
        customers.historical_clv,
        customers.predicted_clv_12m,
        customers.predicted_clv_12m_p10,
        customers.predicted_clv_12m_p90,
        customers.latest_nps_score,
        customers.acquisition_channel,
        customers.country_code
    from customers
    cross join value_cut_off
    where customers.historical_clv + coalesce(customers.predicted_clv_12m, 0) >= value_cut_off.top_fifth_value
      and customers.health_band in ('watch', 'at_risk')
      and customers.has_marketing_consent

)

select * from final
