{#-
  Each customer's purchases summed per calendar month, quarter and year: the months from the purchases,
  quarters and years from the months, so the ten million purchases are read once.
-#}

with purchases as (

    select * from {{ ref('int_purchases_sequenced') }}

),

monthly as (

    select
        customer_id,
        {{ truncate_date('month', 'order_date') }} as month_start,
        min(first_purchase_date) as first_purchase_date,
        sum(amount) as revenue,
        count(*) as purchases,
        {{ count_where('is_first_purchase') }} as first_purchases,
        sum(case when is_first_purchase then amount end) as first_purchase_amount,
        {{ count_where('not is_first_purchase') }} as repeat_purchases,
        sum(case when not is_first_purchase then amount end) as repeat_purchase_amount
    from purchases
    group by customer_id, {{ truncate_date('month', 'order_date') }}

),

by_grain as (

    select 'month' as period_grain, month_start as period_start, customer_id, first_purchase_date, revenue,
           purchases, first_purchases, first_purchase_amount, repeat_purchases, repeat_purchase_amount
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
        sum(repeat_purchase_amount)
    from monthly
    group by customer_id, {{ truncate_date(grain, 'month_start') }}
    {% endfor %}

),

final as (

    select
        by_grain.*,
        case when first_purchase_date < period_start then revenue else 0 end as revenue_from_existing,
        repeat_purchases > 0 as made_repeat_purchase
    from by_grain

)

select * from final
