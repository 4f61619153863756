{#-
  Acquisition cohorts: customers grouped by the month of their first purchase, followed month by month.
  active_customers uses the same activity rule as retention_metrics, measured at each month's end (or
  at the as-of date for the running month).
-#}

with periods as (

    select * from {{ ref('int_periods_enumerated') }}
    where period_grain = 'month'

),

customers as (

    select
        customer_id,
        {{ truncate_date('month', 'first_purchase_date') }} as cohort_month
    from {{ ref('int_customers_aggregated') }}
    where has_purchased

),

classified as (

    select * from {{ ref('int_customer_periods_classified') }}
    where period_grain = 'month' and is_active_at_end

),

purchases as (

    select customer_id, {{ truncate_date('month', 'order_date') }} as purchase_month, amount
    from {{ ref('int_purchases_sequenced') }}

),

cohort_sizes as (

    select cohort_month, count(*) as cohort_size
    from customers
    group by cohort_month

),

grid as (

    select
        cohort_sizes.cohort_month,
        cohort_sizes.cohort_size,
        periods.period_start as activity_month,
        periods.is_complete
    from cohort_sizes
    inner join periods on periods.period_start >= cohort_sizes.cohort_month

),

active_by_month as (

    select customers.cohort_month, classified.period_start as activity_month, count(*) as active_customers
    from classified
    inner join customers on customers.customer_id = classified.customer_id
    group by customers.cohort_month, classified.period_start

),

revenue_by_month as (

    select customers.cohort_month, purchases.purchase_month as activity_month,
           sum(purchases.amount) as revenue, count(*) as purchases
    from purchases
    inner join customers on customers.customer_id = purchases.customer_id
    group by customers.cohort_month, purchases.purchase_month

),

combined as (

    select
        grid.cohort_month,
        grid.activity_month,
        {{ dbt.datediff('grid.cohort_month', 'grid.activity_month', 'month') }} as months_since_first_purchase,
        grid.is_complete,
        grid.cohort_size,
        coalesce(active_by_month.active_customers, 0) as active_customers,
        coalesce(revenue_by_month.purchases, 0) as purchases,
        coalesce(revenue_by_month.revenue, 0) as revenue
    from grid
    left join active_by_month
        on active_by_month.cohort_month = grid.cohort_month
        and active_by_month.activity_month = grid.activity_month
    left join revenue_by_month
        on revenue_by_month.cohort_month = grid.cohort_month
        and revenue_by_month.activity_month = grid.activity_month

),

final as (

    select
        cohort_month,
        activity_month,
        months_since_first_purchase,
        is_complete,
        cohort_size,
        active_customers,
        {{ percentage('active_customers', 'cohort_size') }} as retention_pct,
        purchases,
        revenue,
        sum(revenue) over (
            partition by cohort_month order by activity_month rows between unbounded preceding and current row
        ) as cumulative_revenue,
        {{ safe_divide(
            'sum(revenue) over (partition by cohort_month order by activity_month
                                rows between unbounded preceding and current row)',
            'cohort_size') }} as cumulative_revenue_per_customer
    from combined

)

select * from final
