{#-
  CS, CE, CN, churned, retained, reactivated and new-but-lapsed customers of every period, in total
  (dimension 'all') and per segment of every dimension of int_customers_segmented (cohort_month for the
  cohort mart), counted from the activity spells without building a customer x period table.

  A spell covers the days its customer is active, and a customer's spells never overlap, so with
  A(d) = #spells with start <= d  -  #spells with end < d   (the customers active at the end of day d)
  and, for a period, s - 1 the day before it starts and m the day it is measured through:
    CS = A(s - 1), CE = A(m), CN = first spells (first purchases) starting in the period;
    retained  = spells covering both s - 1 and m
                = #(start <= s - 1) - #(end < m) + #(spells starting in the period that end before m)
              + comebacks: customers not new in the period whose spell covering m started in it and who
                also had a spell covering s - 1 (lapsed and came back inside the period);
    new_active_at_end = spells covering m that started in the period, of customers new in it;
    churned = CS - retained, reactivated = CE - retained - new_active_at_end,
    new_customers_inactive_at_end = CN - new_active_at_end.
-#}

{%- set dimensions = ['acquisition_channel', 'country', 'cohort_year', 'rfm_segment', 'cohort_month'] -%}

with periods as (

    select * from {{ ref('int_periods_enumerated') }}

),

customers as (

    select customer_id, first_purchase_date
    from {{ ref('int_customers_aggregated') }}
    where has_purchased

),

spells as (

    select
        spells.customer_id,
        spells.spell_start_date,
        spells.spell_end_date,
        customers.first_purchase_date,
        {%- for dimension in dimensions %}
        dimensions.{{ dimension }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('int_activity_spells_merged') }} as spells
    inner join customers on customers.customer_id = spells.customer_id
    inner join {{ ref('int_customers_segmented') }} as dimensions
        on dimensions.customer_id = spells.customer_id

),

boundary_days as (

    select day_before_start as boundary_date from periods
    union
    select measured_through_date as boundary_date from periods

),

spell_starts as (

    select {{ slice_columns(dimensions) }}, spell_start_date as event_date, count(*) as starts
    from spells
    group by {{ slice_grouping_sets(['spell_start_date'], dimensions) }}

),

spell_ends as (

    select {{ slice_columns(dimensions) }}, spell_end_date as event_date, count(*) as ends
    from spells
    group by {{ slice_grouping_sets(['spell_end_date'], dimensions) }}

),

slices as (

    select distinct dimension, segment from spell_starts

),

{#- Running counts by day, per slice: starts on day d count at d (kind 0, before the boundary marker),
    ends on day d count after it (kind 2), so at a boundary day the running totals are
    #(start <= d) and #(end < d). -#}
day_events as (

    select dimension, segment, event_date, 0 as kind, starts, 0 as ends from spell_starts
    union all
    select dimension, segment, event_date, 2 as kind, 0 as starts, ends from spell_ends
    union all
    select slices.dimension, slices.segment, boundary_days.boundary_date, 1, 0, 0
    from slices
    cross join boundary_days

),

running as (

    select
        dimension,
        segment,
        event_date,
        kind,
        sum(starts) over (partition by dimension, segment order by event_date, kind
                          rows between unbounded preceding and current row) as started_through_day,
        sum(ends) over (partition by dimension, segment order by event_date, kind
                        rows between unbounded preceding and current row) as ended_before_day
    from day_events

),

at_boundaries as (

    select dimension, segment, event_date as boundary_date, started_through_day, ended_before_day
    from running
    where kind = 1

),

spells_by_start_period as (

    {% for grain in ['month', 'quarter', 'year'] %}
    select '{{ grain }}' as period_grain, {{ truncate_date(grain, 'spell_start_date') }} as period_start, spells.*
    from spells
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

started_in_period as (

    select
        spells_by_start_period.*,
        periods.day_before_start,
        periods.measured_through_date,
        spells_by_start_period.spell_end_date >= periods.measured_through_date as covers_end,
        spells_by_start_period.first_purchase_date >= periods.period_start as is_new
    from spells_by_start_period
    inner join periods
        on periods.period_grain = spells_by_start_period.period_grain
        and periods.period_start = spells_by_start_period.period_start

),

comebacks as (

    select *
    from started_in_period as started
    where started.covers_end and not started.is_new
      and exists (
          select 1 from spells as earlier
          where earlier.customer_id = started.customer_id
            and earlier.spell_start_date <= started.day_before_start
            and earlier.spell_end_date >= started.day_before_start
      )

),

in_period_counts as (

    select
        period_grain,
        period_start,
        {{ slice_columns(dimensions) }},
        {{ count_where('spell_start_date = first_purchase_date') }} as new_customers,
        {{ count_where('not covers_end') }} as started_and_ended,
        {{ count_where('covers_end and is_new') }} as new_active_at_end
    from started_in_period
    group by {{ slice_grouping_sets(['period_grain', 'period_start'], dimensions) }}

),

comeback_counts as (

    select period_grain, period_start, {{ slice_columns(dimensions) }}, count(*) as comebacks
    from comebacks
    group by {{ slice_grouping_sets(['period_grain', 'period_start'], dimensions) }}

),

counted as (

    select
        periods.period_grain,
        periods.period_start,
        at_start.dimension,
        at_start.segment,
        at_start.started_through_day - at_start.ended_before_day as customers_at_start,
        at_end.started_through_day - at_end.ended_before_day as customers_at_end,
        coalesce(in_period_counts.new_customers, 0) as new_customers,
        at_start.started_through_day - at_end.ended_before_day + coalesce(in_period_counts.started_and_ended, 0)
            + coalesce(comeback_counts.comebacks, 0) as retained_customers,
        coalesce(in_period_counts.new_active_at_end, 0) as new_active_at_end
    from periods
    inner join at_boundaries as at_start on at_start.boundary_date = periods.day_before_start
    inner join at_boundaries as at_end
        on at_end.boundary_date = periods.measured_through_date
        and at_end.dimension = at_start.dimension
        and at_end.segment = at_start.segment
    left join in_period_counts
        on in_period_counts.period_grain = periods.period_grain
        and in_period_counts.period_start = periods.period_start
        and in_period_counts.dimension = at_start.dimension
        and in_period_counts.segment = at_start.segment
    left join comeback_counts
        on comeback_counts.period_grain = periods.period_grain
        and comeback_counts.period_start = periods.period_start
        and comeback_counts.dimension = at_start.dimension
        and comeback_counts.segment = at_start.segment

),

final as (

    select
        period_grain,
        period_start,
        dimension,
        segment,
        cast(customers_at_start as bigint) as customers_at_start,
        cast(customers_at_end as bigint) as customers_at_end,
        cast(new_customers as bigint) as new_customers,
        cast(customers_at_start - retained_customers as bigint) as churned_customers,
        cast(retained_customers as bigint) as retained_customers,
        cast(customers_at_end - retained_customers - new_active_at_end as bigint) as reactivated_customers,
        cast(new_customers - new_active_at_end as bigint) as new_customers_inactive_at_end
    from counted
    where customers_at_start > 0 or customers_at_end > 0 or new_customers > 0

)

select * from final
