{#- Every customer_survival curve is a survival function and its counts add up: the estimate stays within
    [0, 1] and inside its 95 % interval, never rises from one day to the next, and each day's customers at
    risk are the previous day's minus its events and censored (the last day's leave no one at risk). -#}

with curves as (

    select
        *,
        lag(survival) over (partition by curve, dimension, dimension_value order by days) as previous_survival,
        lag(at_risk - events - censored) over (
            partition by curve, dimension, dimension_value order by days
        ) as left_at_risk_by_previous_day,
        lead(days) over (partition by curve, dimension, dimension_value order by days) as next_days
    from {{ ref('customer_survival') }}

),

final as (

    select *
    from curves
    where not (
        survival between 0 and 1
        and survival_lower_95 between 0 and survival
        and survival_upper_95 between survival and 1
        and (previous_survival is null or survival <= previous_survival)
        and (left_at_risk_by_previous_day is null or at_risk = left_at_risk_by_previous_day)
        and (next_days is not null or at_risk = events + censored)
    )

)

select * from final
