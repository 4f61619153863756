{#-
  Acquisition cohorts: customers grouped by the month of their first purchase, followed month by month.
  active_customers uses the same activity rule as retention_metrics, measured at each month's end (or
  at the as-of date for the running month). purchasing_customers is the classic cohort count: cohort
  customers with a purchase in the month, whatever the window (every customer in month 0).
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

active_at_month_end as (

    select cast(segment as date) as cohort_month, period_start as activity_month, customers_at_end as active_customers
    from {{ ref('int_customers_counted_by_period') }}
    where period_grain = 'month' and dimension = 'cohort_month'

),

purchases as (

    select customer_id, period_start as purchase_month, revenue, purchases
    from {{ ref('int_purchases_summed_by_customer_period') }}
    where period_grain = 'month'

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

revenue_by_month as (

    {#- one row per customer and month with a purchase: count(*) counts purchasing customers -#}
    select customers.cohort_month, purchases.purchase_month as activity_month,
           count(*) as purchasing_customers,
           sum(purchases.revenue) as revenue, sum(purchases.purchases) as purchases
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
        coalesce(active_at_month_end.active_customers, 0) as active_customers,
        coalesce(revenue_by_month.purchases, 0) as purchases,
        coalesce(revenue_by_month.revenue, 0) as revenue,
        coalesce(revenue_by_month.purchasing_customers, 0) as purchasing_customers
    from grid
    left join active_at_month_end
        on active_at_month_end.cohort_month = grid.cohort_month
        and active_at_month_end.activity_month = grid.activity_month
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
            'cohort_size') }} as cumulative_revenue_per_customer,
        purchasing_customers,
        {{ percentage('purchasing_customers', 'cohort_size') }} as purchasing_customers_pct
    from combined

)

select * from final
