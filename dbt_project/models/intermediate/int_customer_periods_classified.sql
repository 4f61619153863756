{#-
  For every period, each customer who was active at its start, active at its end, or new in it:
  - was_active_at_start: active at the end of the day before the period starts (s - 1);
  - is_active_at_end: active at the end of the period (or at the as-of date, for a running period);
  - is_new: first purchase falls in the period.
  Customers who are none of these in a period have no row for it. Built from activity spells joined to
  the two boundary days of each period, so its size follows the active customers, not customers x days.
-#}

with periods as (

    select * from {{ ref('int_periods_enumerated') }}

),

spells as (

    select * from {{ ref('int_activity_spells_merged') }}

),

customers as (

    select customer_id, first_purchase_date
    from {{ ref('int_customers_aggregated') }}
    where has_purchased

),

boundary_days as (

    select period_grain, period_start, day_before_start as boundary_date, 'start' as boundary
    from periods
    union all
    select period_grain, period_start, measured_through_date as boundary_date, 'end' as boundary
    from periods

),

active_at_boundaries as (

    select
        boundary_days.period_grain,
        boundary_days.period_start,
        spells.customer_id,
        boundary_days.boundary
    from boundary_days
    inner join spells
        on spells.spell_start_date <= boundary_days.boundary_date
        and spells.spell_end_date >= boundary_days.boundary_date

),

new_in_period as (

    select
        periods.period_grain,
        periods.period_start,
        customers.customer_id,
        'new' as boundary
    from periods
    inner join customers
        on customers.first_purchase_date >= periods.period_start
        and customers.first_purchase_date <= periods.measured_through_date

),

flags as (

    select * from active_at_boundaries
    union all
    select * from new_in_period

),

final as (

    select
        period_grain,
        period_start,
        customer_id,
        max(case when boundary = 'start' then 1 else 0 end) = 1 as was_active_at_start,
        max(case when boundary = 'end' then 1 else 0 end) = 1 as is_active_at_end,
        max(case when boundary = 'new' then 1 else 0 end) = 1 as is_new
    from flags
    group by period_grain, period_start, customer_id

)

select * from final
