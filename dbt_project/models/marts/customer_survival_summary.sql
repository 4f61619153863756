{#-
  The customer_survival curves read at a glance, one row per curve and slice: the median time (the first
  day the estimate is at or below one half; null while more than half are still event-free), its 95 %
  interval (the first days the interval's bounds reach one half), and the survival at 30, 90, 180 and
  365 days (the estimate on the last step on or before that day; null beyond the longest time observed,
  where the curve says nothing, unless it has already reached 0).
-#}

{%- set horizons = [30, 90, 180, 365] -%}

with curves as (

    select * from {{ ref('customer_survival') }}

),

final as (

    select
        curve,
        dimension,
        dimension_value,
        max(at_risk) as customers,
        cast(sum(events) as bigint) as events,
        cast(sum(censored) as bigint) as censored,
        max(days) as longest_observed_days,
        min(case when survival <= 0.5 then days end) as median_days,
        min(case when survival_lower_95 <= 0.5 then days end) as median_days_lower_95,
        min(case when survival_upper_95 <= 0.5 then days end) as median_days_upper_95,
        {%- for horizon in horizons %}
        case
            when max(days) >= {{ horizon }} or min(survival) = 0
                then min(case when days <= {{ horizon }} then survival end)
        end as survival_{{ horizon }}_days{{ ',' if not loop.last }}
        {%- endfor %}
    from curves
    group by curve, dimension, dimension_value

)

select * from final
