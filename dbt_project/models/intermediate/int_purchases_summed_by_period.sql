{#-
  Purchases per period and per combination of the segments retention is sliced by (acquisition channel,
  country, cohort year, RFM segment): the ten million customer x period rows summed once, into a few
  ten thousand, for every mart that counts purchases per period (retention_metrics, acquisition_costs,
  retention_metrics_by_segment). Each customer is in one combination, so counts add up across them.
-#}

with purchases as (

    select * from {{ ref('int_purchases_summed_by_customer_period') }}

),

dimensions as (

    select * from {{ ref('int_customers_segmented') }}

),

final as (

    select
        purchases.period_grain,
        purchases.period_start,
        dimensions.acquisition_channel,
        dimensions.country,
        dimensions.cohort_year,
        dimensions.rfm_segment,
        count(*) as purchasing_customers,
        {{ count_where('purchases.made_repeat_purchase') }} as repeat_purchasing_customers,
        sum(purchases.revenue) as revenue,
        sum(purchases.revenue_from_existing) as revenue_from_existing,
        sum(purchases.purchases) as purchases,
        sum(purchases.first_purchases) as first_purchases,
        sum(purchases.first_purchase_amount) as first_purchase_amount,
        sum(purchases.repeat_purchases) as repeat_purchases,
        sum(purchases.repeat_purchase_amount) as repeat_purchase_amount
    from purchases
    inner join dimensions on dimensions.customer_id = purchases.customer_id
    group by
        purchases.period_grain,
        purchases.period_start,
        dimensions.acquisition_channel,
        dimensions.country,
        dimensions.cohort_year,
        dimensions.rfm_segment

)

select * from final
