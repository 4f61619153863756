-- The floor: Retentio's headline `retention_metrics` computed by hand in one DuckDB process, straight from
-- the landing CSV files. What the pipeline does beyond this (contract checks, quarantine, raw layer, dbt's
-- other marts and tests, predictions, publishing) is its overhead over this floor.
--
-- Variables, set before running (benchmarks/floor.py does it; in the duckdb shell use SET VARIABLE):
--   landing_dir            directory holding customers*.csv, orders*.csv, survey_responses*.csv, marketing_spend*.csv
--   activity_window_days   W (NULL: 365)
--   as_of_date             'YYYY-MM-DD' (NULL: the latest order date, any status)
--
-- Assumes clean files in the generator's plain CSV dialect (comma, double quotes, ISO dates, '.' decimals,
-- one currency, no duplicate keys, no order of an unknown customer): exactly what the pipeline would load
-- without quarantining a row. Definitions as in the README:
--   active at the end of day d   first purchase <= d and d - (latest purchase on or before d) < W
--   a purchase                   a completed order on or before the as-of date
--
-- Statements are separated by a semicolon at the end of a line; benchmarks/floor.py times each one.

-- Every order once: the only pass over the big files.
create or replace temp table orders as
select
    customer_id,
    cast(ordered_at as date) as order_date,
    amount,
    status = 'completed' as is_completed
from read_csv(
    getvariable('landing_dir') || '/orders*.csv',
    header = true, delim = ',', quote = '"', escape = '"', auto_detect = false,
    timestampformat = '%Y-%m-%d %H:%M:%S',
    columns = {'order_id': 'varchar', 'customer_id': 'varchar', 'ordered_at': 'timestamp',
               'amount': 'decimal(18,2)', 'currency': 'varchar', 'status': 'varchar'}
);

-- The as-of date is the latest order date of any status.
create or replace temp table settings as
select
    coalesce(cast(getvariable('as_of_date') as date), max(order_date)) as as_of_date,
    coalesce(cast(getvariable('activity_window_days') as integer), 365) as activity_window_days
from orders;

create or replace temp view purchases as
select orders.customer_id, orders.order_date, orders.amount
from orders
cross join settings
where orders.is_completed
  and orders.order_date <= settings.as_of_date;

-- Activity spells: purchases less than W days apart merge; a spell covers [first day, last day + W - 1].
-- Active at d <=> a spell of the customer covers d, and a customer's spells never overlap.
-- One sort of the purchases finds each spell's first purchase (W days or more after the previous one)
-- and last purchase (W days or more before the next one); a second, over those few rows only, pairs
-- them. Several orders on one day: only the first (in the window's order) can start a spell and only
-- the last can end one, so ordering the pairs by (day, ends_spell) puts a start before its end.
create or replace temp table spells as
with gaps as (
    select
        customer_id,
        order_date,
        order_date - lag(order_date) over by_customer as days_since_previous,
        lead(order_date) over by_customer - order_date as days_to_next
    from purchases
    window by_customer as (partition by customer_id order by order_date)
),

bounds as (
    select
        gaps.customer_id,
        gaps.order_date,
        coalesce(gaps.days_since_previous >= settings.activity_window_days, true) as starts_spell,
        coalesce(gaps.days_to_next >= settings.activity_window_days, true) as ends_spell
    from gaps
    cross join settings
    where coalesce(gaps.days_since_previous >= settings.activity_window_days, true)
       or coalesce(gaps.days_to_next >= settings.activity_window_days, true)
),

spells as (
    select
        customer_id,
        order_date as spell_start,
        case
            when ends_spell then order_date
            else lead(order_date) over (partition by customer_id order by order_date, ends_spell)
        end as last_purchase
    from bounds
    qualify starts_spell
)

select
    spells.customer_id,
    spells.spell_start,
    cast(spells.last_purchase + settings.activity_window_days - 1 as date) as spell_end,
    min(spells.spell_start) over (partition by spells.customer_id) as first_purchase
from spells
cross join settings;

-- Months, quarters and years from the month of the first purchase to the one holding the as-of date;
-- a running period is measured through the as-of date.
create or replace temp table periods as
with months as (
    select cast(unnest(generate_series(
        cast(date_trunc('month', min(purchases.order_date)) as timestamp),
        cast(min(settings.as_of_date) as timestamp),
        interval 1 month
    )) as date) as month_start
    from purchases
    cross join settings
),

starts as (
    select 'month' as period_grain, month_start as period_start, month_start + interval 1 month as next_start
    from months
    union all
    select distinct 'quarter', cast(date_trunc('quarter', month_start) as date),
                    date_trunc('quarter', month_start) + interval 3 month
    from months
    union all
    select distinct 'year', cast(date_trunc('year', month_start) as date),
                    date_trunc('year', month_start) + interval 1 year
    from months
)

select
    starts.period_grain,
    starts.period_start,
    cast(starts.next_start - interval 1 day as date) as period_end,
    cast(starts.period_start - interval 1 day as date) as day_before_start,
    least(cast(starts.next_start - interval 1 day as date), settings.as_of_date) as measured_through_date,
    cast(starts.next_start - interval 1 day as date) <= settings.as_of_date as is_complete
from starts
cross join settings;

-- Customer counts without a customer x period table. With A(d) = #spells covering d
-- = #(spell_start <= d) - #(spell_end < d), and s - 1 / m the boundary days of a period:
--   CS = A(s - 1), CE = A(m), CN = #first spells starting in [s, m];
--   retained = customers active at s - 1 and at m
--            = spells covering both s - 1 and m
--              [= #(start <= s - 1) - #(end < m) + #(start >= s and end < m), the last term being spells
--               that start and end inside the period, only possible when the period is longer than W]
--            + spells covering m that started inside the period, of a customer not new in it, whose
--              earlier spell covers s - 1 (a lapse and a comeback inside the period);
--   new_active_at_end = spells covering m that started inside the period, of a customer new in it;
--   churned = CS - retained, reactivated = CE - retained - new_active_at_end,
--   new_customers_inactive_at_end = CN - new_active_at_end.
create or replace temp table customer_counts as
with starts_by_day as (
    select spell_start as day, count(*) as spells from spells group by spell_start
),

ends_by_day as (
    select spell_end as day, count(*) as spells from spells group by spell_end
),

boundary_counts as (
    select
        periods.period_grain,
        periods.period_start,
        coalesce(sum(starts_by_day.spells) filter (where starts_by_day.day <= periods.day_before_start), 0)
            as started_by_start,
        coalesce(sum(starts_by_day.spells) filter (where starts_by_day.day <= periods.measured_through_date), 0)
            as started_by_end
    from periods
    left join starts_by_day on starts_by_day.day <= periods.measured_through_date
    group by periods.period_grain, periods.period_start
),

ended_counts as (
    select
        periods.period_grain,
        periods.period_start,
        coalesce(sum(ends_by_day.spells) filter (where ends_by_day.day < periods.day_before_start), 0)
            as ended_before_start,
        coalesce(sum(ends_by_day.spells) filter (where ends_by_day.day < periods.measured_through_date), 0)
            as ended_before_end
    from periods
    left join ends_by_day on ends_by_day.day < periods.measured_through_date
    group by periods.period_grain, periods.period_start
),

inside_period as (
    select periods.period_grain, periods.period_start, count(*) as spells
    from periods
    inner join spells
        on spells.spell_start >= periods.period_start
        and spells.spell_end < periods.measured_through_date
    group by periods.period_grain, periods.period_start
),

started_in_period as (
    select
        periods.period_grain,
        periods.period_start,
        periods.day_before_start,
        spells.customer_id,
        spells.spell_start = spells.first_purchase as is_first_spell,
        spells.spell_end >= periods.measured_through_date as covers_end,
        spells.first_purchase >= periods.period_start as is_new
    from periods
    inner join spells
        on spells.spell_start >= periods.period_start
        and spells.spell_start <= periods.measured_through_date
),

comebacks_active_at_start as (
    select started.period_grain, started.period_start, count(*) as customers
    from started_in_period as started
    where started.covers_end
      and not started.is_new
      and exists (
          select 1 from spells as earlier
          where earlier.customer_id = started.customer_id
            and earlier.spell_start <= started.day_before_start
            and earlier.spell_end >= started.day_before_start
      )
    group by started.period_grain, started.period_start
),

started_counts as (
    select
        period_grain,
        period_start,
        count(*) filter (where is_first_spell) as new_customers,
        count(*) filter (where is_new and covers_end) as new_active_at_end
    from started_in_period
    group by period_grain, period_start
)

select
    periods.period_grain,
    periods.period_start,
    boundary_counts.started_by_start - ended_counts.ended_before_start as customers_at_start,
    boundary_counts.started_by_end - ended_counts.ended_before_end as customers_at_end,
    coalesce(started_counts.new_customers, 0) as new_customers,
    boundary_counts.started_by_start - ended_counts.ended_before_end + coalesce(inside_period.spells, 0)
        + coalesce(comebacks_active_at_start.customers, 0) as retained_customers,
    coalesce(started_counts.new_active_at_end, 0) as new_active_at_end
from periods
inner join boundary_counts using (period_grain, period_start)
inner join ended_counts using (period_grain, period_start)
left join inside_period using (period_grain, period_start)
left join comebacks_active_at_start using (period_grain, period_start)
left join started_counts using (period_grain, period_start);

-- Revenue, NPS and marketing spend per period, from per-day totals.
create or replace temp table revenue_by_period as
with revenue_by_day as (
    select order_date as day, sum(amount) as revenue from purchases group by order_date
)
select periods.period_grain, periods.period_start, sum(revenue_by_day.revenue) as revenue
from periods
inner join revenue_by_day
    on revenue_by_day.day >= periods.period_start and revenue_by_day.day <= periods.measured_through_date
group by periods.period_grain, periods.period_start;

create or replace temp table nps_by_period as
with answers_by_day as (
    select
        cast(responded_at as date) as day,
        count(*) as responses,
        count(*) filter (where nps_score >= 9) as promoters,
        count(*) filter (where nps_score <= 6) as detractors
    from read_csv(
        getvariable('landing_dir') || '/survey_responses*.csv',
        header = true, delim = ',', quote = '"', escape = '"', auto_detect = false,
        timestampformat = '%Y-%m-%d %H:%M:%S',
        columns = {'response_id': 'varchar', 'customer_id': 'varchar', 'responded_at': 'timestamp',
                   'nps_score': 'integer', 'comment': 'varchar'}
    )
    group by all
)
select
    periods.period_grain,
    periods.period_start,
    sum(answers_by_day.responses) as responses,
    sum(answers_by_day.promoters) as promoters,
    sum(answers_by_day.detractors) as detractors
from periods
inner join answers_by_day
    on answers_by_day.day >= periods.period_start and answers_by_day.day <= periods.measured_through_date
group by periods.period_grain, periods.period_start;

create or replace temp table spend_by_period as
with spend_by_day as (
    select spend_date as day, sum(amount) as spend
    from read_csv(
        getvariable('landing_dir') || '/marketing_spend*.csv',
        header = true, delim = ',', quote = '"', escape = '"', auto_detect = false, dateformat = '%Y-%m-%d',
        columns = {'spend_date': 'date', 'channel': 'varchar', 'amount': 'decimal(18,2)', 'currency': 'varchar'}
    )
    group by all
)
select periods.period_grain, periods.period_start, sum(spend_by_day.spend) as spend
from periods
inner join spend_by_day
    on spend_by_day.day >= periods.period_start and spend_by_day.day <= periods.measured_through_date
group by periods.period_grain, periods.period_start;

-- The result, column for column as the published main.retention_metrics.
select
    periods.period_grain,
    periods.period_start,
    periods.period_end,
    periods.is_complete,
    counts.customers_at_start,
    counts.customers_at_end,
    counts.new_customers,
    100.0 * (cast(counts.customers_at_end - counts.new_customers as double)
             / nullif(cast(counts.customers_at_start as double), 0)) as retention_rate_pct,
    counts.customers_at_start - counts.retained_customers as churned_customers,
    100.0 * (cast(counts.customers_at_start - counts.retained_customers as double)
             / nullif(cast(counts.customers_at_start as double), 0)) as churn_rate_pct,
    counts.retained_customers,
    counts.customers_at_end - counts.retained_customers - counts.new_active_at_end as reactivated_customers,
    counts.new_customers - counts.new_active_at_end as new_customers_inactive_at_end,
    coalesce(revenue_by_period.revenue, 0) as revenue,
    100.0 * (cast(nps_by_period.promoters as double) / nullif(cast(nps_by_period.responses as double), 0))
        - 100.0 * (cast(nps_by_period.detractors as double) / nullif(cast(nps_by_period.responses as double), 0))
        as nps,
    coalesce(nps_by_period.responses, 0) as nps_responses,
    coalesce(spend_by_period.spend, 0) as marketing_spend,
    cast(coalesce(spend_by_period.spend, 0) as double) / nullif(cast(counts.new_customers as double), 0) as cac
from periods
inner join customer_counts as counts using (period_grain, period_start)
left join revenue_by_period using (period_grain, period_start)
left join nps_by_period using (period_grain, period_start)
left join spend_by_period using (period_grain, period_start)
order by periods.period_grain, periods.period_start;
