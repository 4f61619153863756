{#-
  Why retention moved: the change between the last complete period and the one before (grain:
  RETENTIO_COMPARISON_GRAIN, default month), split over the segments of each dimension (acquisition
  channel, country, cohort year, RFM segment) so the parts add up exactly to the total change, and each
  part split into
    mix:  the segment grew or shrank  (change in its size, valued at the average of its two rates)
    rate: its rate changed            (change in its rate, weighted by the average of its two sizes)
  which also add up exactly (mix + rate = change). Per metric:
    churned_customers   size = customers at start, rate = churn rate of the segment
    retention_rate_pct  the segment's part of CRR, (CE_s - CN_s) / CS * 100; size = its share of CS,
                        rate = its own CRR; a segment with no customer at start in either period is all mix
    revenue             size = purchasing customers, rate = revenue per purchasing customer
-#}

with periods as (

    select * from {{ ref('int_periods_enumerated') }}
    where period_grain = '{{ comparison_grain() }}' and is_complete

),

compared as (

    select
        max(period_start) as current_period_start,
        max(case when period_start < (select max(period_start) from periods) then period_start end)
            as previous_period_start
    from periods

),

slices as (

    select * from {{ ref('retention_metrics_by_segment') }}
    where period_grain = '{{ comparison_grain() }}'

),

two_periods as (

    select
        slices.*,
        case when slices.period_start = compared.current_period_start then 'after' else 'before' end as side
    from slices
    cross join compared
    where slices.period_start in (compared.current_period_start, compared.previous_period_start)

),

paired as (

    select
        dimension,
        segment,
        sum(case when side = 'before' then customers_at_start else 0 end) as size_before_churn,
        sum(case when side = 'after' then customers_at_start else 0 end) as size_after_churn,
        sum(case when side = 'before' then churned_customers else 0 end) as churned_before,
        sum(case when side = 'after' then churned_customers else 0 end) as churned_after,
        sum(case when side = 'before' then customers_at_end - new_customers else 0 end) as crr_numerator_before,
        sum(case when side = 'after' then customers_at_end - new_customers else 0 end) as crr_numerator_after,
        sum(case when side = 'before' then purchasing_customers else 0 end) as buyers_before,
        sum(case when side = 'after' then purchasing_customers else 0 end) as buyers_after,
        sum(case when side = 'before' then revenue else 0 end) as revenue_before,
        sum(case when side = 'after' then revenue else 0 end) as revenue_after
    from two_periods
    group by dimension, segment

),

{#- Every dimension partitions the customers: any one gives the totals. -#}
totals as (

    select
        sum(size_before_churn) as total_at_start_before,
        sum(size_after_churn) as total_at_start_after
    from paired
    where dimension = 'acquisition_channel'

),

with_totals as (

    select paired.*, totals.total_at_start_before, totals.total_at_start_after
    from paired
    cross join totals

),

contributions as (

    {{ shift_share('churned_customers', 'size_before_churn', 'size_after_churn',
                   'cast(churned_before as double)', 'cast(churned_after as double)') }}
    union all
    {{ shift_share('retention_rate_pct',
                   safe_divide('size_before_churn', 'total_at_start_before'),
                   safe_divide('size_after_churn', 'total_at_start_after'),
                   'coalesce(100.0 * ' ~ safe_divide('crr_numerator_before', 'total_at_start_before') ~ ', 0)',
                   'coalesce(100.0 * ' ~ safe_divide('crr_numerator_after', 'total_at_start_after') ~ ', 0)') }}
    union all
    {{ shift_share('revenue', 'buyers_before', 'buyers_after',
                   'cast(revenue_before as double)', 'cast(revenue_after as double)') }}

),

{#- Totals from the exact integer and decimal sums, not from summing the doubles above (whose order would
    make the last digits differ between two runs on the same data). -#}
metric_totals as (

    select 'churned_customers' as metric,
           cast(sum(churned_before) as double) as previous_value,
           cast(sum(churned_after) as double) as current_value
    from paired where dimension = 'acquisition_channel'
    union all
    select 'retention_rate_pct',
           100.0 * {{ safe_divide('sum(crr_numerator_before)', 'sum(size_before_churn)') }},
           100.0 * {{ safe_divide('sum(crr_numerator_after)', 'sum(size_after_churn)') }}
    from paired where dimension = 'acquisition_channel'
    union all
    select 'revenue', cast(sum(revenue_before) as double), cast(sum(revenue_after) as double)
    from paired where dimension = 'acquisition_channel'

),

with_change as (

    select metric, previous_value, current_value, current_value - previous_value as change
    from metric_totals

),

final as (

    select
        '{{ comparison_grain() }}' as period_grain,
        compared.previous_period_start,
        compared.current_period_start,
        contributions.metric,
        contributions.dimension,
        contributions.segment,
        contributions.previous_value,
        contributions.current_value,
        contributions.change,
        contributions.mix_effect,
        contributions.rate_effect,
        {{ percentage('contributions.change', 'metric_totals.change') }} as share_of_total_change_pct
    from contributions
    cross join compared
    inner join with_change as metric_totals on metric_totals.metric = contributions.metric
    union all
    select
        '{{ comparison_grain() }}',
        compared.previous_period_start,
        compared.current_period_start,
        metric_totals.metric,
        'total',
        'all',
        metric_totals.previous_value,
        metric_totals.current_value,
        metric_totals.change,
        null,
        null,
        100.0
    from with_change as metric_totals
    cross join compared

)

select * from final
