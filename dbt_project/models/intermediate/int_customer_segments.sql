{#-
  Every purchasing customer's segment along each dimension analysts slice retention by: acquisition
  channel, country, acquisition cohort year and current RFM segment. One row per customer and dimension,
  so each dimension partitions the customers and its slices add up to the totals.
-#}

with customers as (

    select * from {{ ref('int_customers_aggregated') }}
    where has_purchased

),

rfm as (

    select customer_id, rfm_segment from {{ ref('int_customers_rfm_scored') }}

),

final as (

    select customer_id, 'acquisition_channel' as dimension, acquisition_channel as segment
    from customers
    union all
    select customer_id, 'country' as dimension, coalesce(country_code, 'unknown') as segment
    from customers
    union all
    select customer_id, 'cohort_year' as dimension,
           cast(extract(year from first_purchase_date) as {{ dbt.type_string() }}) as segment
    from customers
    union all
    select customers.customer_id, 'rfm_segment' as dimension, coalesce(rfm.rfm_segment, 'unscored') as segment
    from customers
    left join rfm on rfm.customer_id = customers.customer_id

)

select * from final
