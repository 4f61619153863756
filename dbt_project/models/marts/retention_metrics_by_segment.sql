{#-
  retention_metrics sliced by acquisition channel, country, acquisition cohort year and RFM segment, with
  the same definitions (CRR and churn from macros/retention_formulas.sql). Within a dimension, the counts
  and revenue of the slices add up to the totals in retention_metrics; the rates are each slice's own.
-#}

{%- set dimensions = ['acquisition_channel', 'country', 'cohort_year', 'rfm_segment'] -%}

with periods as (

    select * from {{ ref('int_periods_enumerated') }}

),

customer_counts as (

    select * from {{ ref('int_customers_counted_by_period') }}
    where dimension in ('{{ dimensions | join("', '") }}')

),

{#- One pass over the period purchase totals, grouped by each dimension at once. -#}
revenue as (

    select
        period_grain,
        period_start,
        {{ slice_columns(dimensions) }},
        sum(purchasing_customers) as purchasing_customers,
        sum(revenue) as revenue
    from {{ ref('int_purchases_summed_by_period') }}
    group by {{ slice_grouping_sets(['period_grain', 'period_start'], dimensions, with_total=false) }}

),

slices as (

    select period_grain, period_start, dimension, segment from customer_counts
    union
    select period_grain, period_start, dimension, segment from revenue

),

final as (

    select
        slices.period_grain,
        slices.period_start,
        periods.period_end,
        periods.is_complete,
        slices.dimension,
        slices.segment,
        coalesce(customer_counts.customers_at_start, 0) as customers_at_start,
        coalesce(customer_counts.customers_at_end, 0) as customers_at_end,
        coalesce(customer_counts.new_customers, 0) as new_customers,
        {{ percentage('coalesce(customer_counts.customers_at_end, 0) - coalesce(customer_counts.new_customers, 0)',
                      'customer_counts.customers_at_start') }} as retention_rate_pct,
        coalesce(customer_counts.churned_customers, 0) as churned_customers,
        {{ percentage('customer_counts.churned_customers', 'customer_counts.customers_at_start') }} as churn_rate_pct,
        coalesce(customer_counts.retained_customers, 0) as retained_customers,
        coalesce(customer_counts.reactivated_customers, 0) as reactivated_customers,
        coalesce(customer_counts.new_customers_inactive_at_end, 0) as new_customers_inactive_at_end,
        coalesce(revenue.purchasing_customers, 0) as purchasing_customers,
        coalesce(revenue.revenue, 0) as revenue
    from slices
    inner join periods
        on periods.period_grain = slices.period_grain
        and periods.period_start = slices.period_start
    left join customer_counts
        on customer_counts.period_grain = slices.period_grain
        and customer_counts.period_start = slices.period_start
        and customer_counts.dimension = slices.dimension
        and customer_counts.segment = slices.segment
    left join revenue
        on revenue.period_grain = slices.period_grain
        and revenue.period_start = slices.period_start
        and revenue.dimension = slices.dimension
        and revenue.segment = slices.segment

)

select * from final
