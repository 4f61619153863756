{{ config(
    materialized=history_materialization(),
    incremental_strategy='delete+insert',
    unique_key='customer_id',
) }}

{#-
  Each customer's purchases summed per calendar month, quarter and year: the months from the purchase
  days, quarters and years from the months.

  Incremental: rebuilds the customers int_purchases_summed_by_customer_day rebuilt since this model's last
  build.
-#}

with purchase_days as (

    select * from {{ ref('int_purchases_summed_by_customer_day') }}
    {%- if is_incremental() %}
    where {{ rebuilt_since_last_build(ref('int_purchases_summed_by_customer_day')) }}
    {%- endif %}

),

monthly as (

    select
        customer_id,
        {{ truncate_date('month', 'purchase_date') }} as month_start,
        min(first_purchase_date) as first_purchase_date,
        sum(revenue) as revenue,
        sum(orders) as purchases,
        {{ count_where('is_first_purchase_day') }} as first_purchases,
        sum(first_purchase_amount) as first_purchase_amount,
        sum(repeat_orders) as repeat_purchases,
        sum(case when repeat_orders > 0 then repeat_revenue end) as repeat_purchase_amount,
        max(rebuild_number) as rebuild_number
    from purchase_days
    group by customer_id, {{ truncate_date('month', 'purchase_date') }}

),

by_grain as (

    select 'month' as period_grain, month_start as period_start, customer_id, first_purchase_date, revenue,
           purchases, first_purchases, first_purchase_amount, repeat_purchases, repeat_purchase_amount,
           rebuild_number
    from monthly
    {% for grain in ['quarter', 'year'] %}
    union all
    select
        '{{ grain }}',
        {{ truncate_date(grain, 'month_start') }},
        customer_id,
        min(first_purchase_date),
        sum(revenue),
        sum(purchases),
        sum(first_purchases),
        sum(first_purchase_amount),
        sum(repeat_purchases),
        sum(repeat_purchase_amount),
        max(rebuild_number)
    from monthly
    group by customer_id, {{ truncate_date(grain, 'month_start') }}
    {% endfor %}

),

final as (

    select
        period_grain,
        period_start,
        customer_id,
        first_purchase_date,
        revenue,
        purchases,
        first_purchases,
        first_purchase_amount,
        repeat_purchases,
        repeat_purchase_amount,
        case when first_purchase_date < period_start then revenue else 0 end as revenue_from_existing,
        repeat_purchases > 0 as made_repeat_purchase,
        rebuild_number
    from by_grain

)

select * from final
