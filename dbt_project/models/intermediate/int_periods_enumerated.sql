{#-
  Calendar months, quarters and years from the one holding the first purchase to the one holding the
  as-of date. A period still running at the as-of date is measured through the as-of date and flagged
  incomplete.
-#}

with settings as (

    select * from {{ ref('int_run_settings') }}

),

first_month as (

    select {{ truncate_date('month', 'min(first_purchase_date)') }} as first_month_start
    from {{ ref('int_customer_histories_rolled_up') }}

),

month_offsets as (

    {{ dbt.generate_series(1200) }}

),

months as (

    select {{ add_months('month_offsets.generated_number - 1', 'first_month.first_month_start') }} as period_start
    from month_offsets
    cross join first_month

),

months_in_range as (

    select months.period_start
    from months
    cross join settings
    where months.period_start <= settings.as_of_date

),

period_starts as (

    select 'month' as period_grain, period_start from months_in_range
    union all
    select distinct 'quarter' as period_grain, {{ truncate_date('quarter', 'period_start') }} from months_in_range
    union all
    select distinct 'year' as period_grain, {{ truncate_date('year', 'period_start') }} from months_in_range

),

with_ends as (

    select
        period_grain,
        period_start,
        case period_grain
            when 'month' then {{ add_days(-1, add_months(1, 'period_start')) }}
            when 'quarter' then {{ add_days(-1, add_months(3, 'period_start')) }}
            else {{ add_days(-1, add_months(12, 'period_start')) }}
        end as period_end
    from period_starts

),

final as (

    select
        with_ends.period_grain,
        with_ends.period_start,
        with_ends.period_end,
        {{ add_days(-1, 'with_ends.period_start') }} as day_before_start,
        case
            when with_ends.period_end <= settings.as_of_date then with_ends.period_end
            else settings.as_of_date
        end as measured_through_date,
        with_ends.period_end <= settings.as_of_date as is_complete
    from with_ends
    cross join settings

)

select * from final
