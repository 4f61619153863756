{#-
  Kaplan-Meier survival curves of two customer times (int_survival_times_observed: second_purchase, the
  days from the first to the second purchase day; lapse, the days from the first purchase to the first
  lapse by the activity window), per acquisition channel and cohort year, and for all customers.

  One row per distinct observed time (an event or a censoring: censoring-only rows keep the estimate and
  mark the censored customers, as a plot's ticks), plus day 0. Set-based: the customers' times counted per
  slice in one pass (grouping sets), then running sums over the days; no customer x day grid.

  Product-limit estimate S(t) = prod over event days t_i <= t of (1 - d_i / n_i), computed as
  exp(sum ln(1 - d_i / n_i)); once d_i = n_i it is 0 for good. Greenwood: sum d_i / (n_i (n_i - d_i)).
  95 % interval on log(-log S) (the "log-log" or exponential Greenwood interval, Kalbfleisch & Prentice),
  so the bounds stay within [0, 1]: S^exp(+-1.96 sqrt(greenwood) / |ln S|). Before the first event (S = 1)
  and once S = 0 the interval is the point itself. Values are rounded to 12 decimals, so the floating
  noise of summing logs (1e-16) never shows: a survival of exactly one half reads 0.5.
-#}

{%- set z_95 = 1.959963984540054 -%}
{%- set dimensions = ['acquisition_channel', 'cohort_year'] -%}
{%- set through_this_day -%}
    partition by curve, dimension, dimension_value order by days rows between unbounded preceding and current row
{%- endset -%}

with observations as (

    select * from {{ ref('int_survival_times_observed') }}

),

counted as (

    select
        curve,
        {{ slice_columns(dimensions) }},
        days,
        {{ count_where('is_event') }} as events,
        {{ count_where('not is_event') }} as censored
    from observations
    group by {{ slice_grouping_sets(['curve', 'days'], dimensions) }}

),

with_day_zero as (

    select curve, dimension, segment, days, events, censored from counted

    union all

    select curve, dimension, segment, 0 as days, 0 as events, 0 as censored
    from counted
    group by curve, dimension, segment

),

by_day as (

    select
        curve,
        dimension,
        segment as dimension_value,
        days,
        cast(sum(events) as bigint) as events,
        cast(sum(censored) as bigint) as censored
    from with_day_zero
    group by curve, dimension, segment, days

),

at_risk as (

    {#- At risk on day t: observed for t days or more (censored customers leave after the day's events). -#}
    select
        *,
        sum(events + censored) over (partition by curve, dimension, dimension_value)
            - coalesce(sum(events + censored) over (
                partition by curve, dimension, dimension_value order by days
                rows between unbounded preceding and 1 preceding
            ), 0) as at_risk
    from by_day

),

steps as (

    select
        *,
        {#- ln(1 - d/n) of a step that leaves someone at risk; a step with d = n sets S to 0 (flagged). -#}
        case
            when events > 0 and events < at_risk then ln(1 - {{ safe_divide('events', 'at_risk') }})
            else 0
        end as log_step,
        case when events > 0 and events = at_risk then 1 else 0 end as is_last_at_risk_event,
        case
            when events > 0 and events < at_risk
                then {{ safe_divide('events', 'at_risk * (at_risk - events)') }}
            else 0
        end as greenwood_step
    from at_risk

),

cumulated as (

    select
        curve,
        dimension,
        dimension_value,
        days,
        at_risk,
        events,
        censored,
        sum(log_step) over ({{ through_this_day }}) as log_survival,
        max(is_last_at_risk_event) over ({{ through_this_day }}) as has_reached_zero,
        sum(greenwood_step) over ({{ through_this_day }}) as greenwood_sum
    from steps

),

estimated as (

    select
        *,
        case when has_reached_zero = 1 then cast(0 as double) else exp(log_survival) end as survival,
        {#- sigma of log(-log S); null where S is 1 or 0 -#}
        case
            when has_reached_zero = 0 and log_survival < 0 then sqrt(greenwood_sum) / abs(log_survival)
        end as log_log_sigma
    from cumulated

),

final as (

    select
        curve,
        dimension,
        dimension_value,
        days,
        at_risk,
        events,
        censored,
        round(survival, 12) as survival,
        round(
            case
                when log_log_sigma is null then survival
                else power(survival, exp({{ z_95 }} * log_log_sigma))
            end, 12
        ) as survival_lower_95,
        round(
            case
                when log_log_sigma is null then survival
                else power(survival, exp(-{{ z_95 }} * log_log_sigma))
            end, 12
        ) as survival_upper_95
    from estimated

)

select * from final
