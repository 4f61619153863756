{#-
  retention_metrics sliced by acquisition channel, country, acquisition cohort year and RFM segment, with
  the same definitions. Within a dimension, the counts and revenue of the slices add up to the totals in
  retention_metrics; the rates are each slice's own.
-#}

with periods as (

    select * from {{ ref('int_periods_enumerated') }}

),

classified as (

    select * from {{ ref('int_customer_periods_classified') }}

),

segments as (

    select * from {{ ref('int_customer_segments') }}

),

purchases as (

    select * from {{ ref('int_purchases_sequenced') }}

),

customer_counts as (

    select
        classified.period_grain,
        classified.period_start,
        segments.dimension,
        segments.segment,
        {{ count_where('classified.was_active_at_start') }} as customers_at_start,
        {{ count_where('classified.is_active_at_end') }} as customers_at_end,
        {{ count_where('classified.is_new') }} as new_customers,
        {{ count_where('classified.was_active_at_start and not classified.is_active_at_end') }} as churned_customers,
        {{ count_where('classified.was_active_at_start and classified.is_active_at_end') }} as retained_customers,
        {{ count_where('classified.is_active_at_end and not classified.was_active_at_start and not classified.is_new') }}
            as reactivated_customers,
        {{ count_where('classified.is_new and not classified.is_active_at_end') }} as new_customers_inactive_at_end
    from classified
    inner join segments on segments.customer_id = classified.customer_id
    group by classified.period_grain, classified.period_start, segments.dimension, segments.segment

),

purchases_by_grain as (

    {% for grain in ['month', 'quarter', 'year'] %}
    select '{{ grain }}' as period_grain, {{ truncate_date(grain, 'order_date') }} as period_start, customer_id, amount
    from purchases
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

revenue as (

    select
        purchases_by_grain.period_grain,
        purchases_by_grain.period_start,
        segments.dimension,
        segments.segment,
        count(distinct purchases_by_grain.customer_id) as purchasing_customers,
        sum(purchases_by_grain.amount) as revenue
    from purchases_by_grain
    inner join segments on segments.customer_id = purchases_by_grain.customer_id
    group by purchases_by_grain.period_grain, purchases_by_grain.period_start, segments.dimension, segments.segment

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
