{#- Within every dimension, the slices' counts and revenue add up to retention_metrics. Rows returned fail. -#}

with slices as (

    select
        period_grain, period_start, dimension,
        sum(customers_at_start) as customers_at_start,
        sum(customers_at_end) as customers_at_end,
        sum(new_customers) as new_customers,
        sum(churned_customers) as churned_customers,
        sum(reactivated_customers) as reactivated_customers,
        sum(revenue) as revenue
    from {{ ref('retention_metrics_by_segment') }}
    group by period_grain, period_start, dimension

)

select slices.*
from slices
inner join {{ ref('retention_metrics') }} as totals
    on totals.period_grain = slices.period_grain and totals.period_start = slices.period_start
where slices.customers_at_start <> totals.customers_at_start
   or slices.customers_at_end <> totals.customers_at_end
   or slices.new_customers <> totals.new_customers
   or slices.churned_customers <> totals.churned_customers
   or slices.reactivated_customers <> totals.reactivated_customers
   or abs(slices.revenue - totals.revenue) > 0.005
