{#-
  Each purchasing customer's history in the form the buy-till-you-die models take (Fader, Hardie & Lee
  2005), time in days:
    frequency x       distinct purchase days after the first
    recency t_x       days from the first to the last purchase day
    tenure T          days from the first purchase to the as-of date
    monetary_value    mean revenue of the repeat purchase days (the first day excluded; null when x = 0)
  and the same as of the back-test cut-off (as-of - H days), with the purchase days that followed it,
  so every run can score a model fitted without the last H days against what happened in them.
  Also the inputs of the health score: mean and latest day revenue, and the latest NPS answer.
-#}

with purchases as (

    select * from {{ ref('int_purchases_sequenced') }}

),

settings as (

    select
        *,
        {{ add_days('-backtest_holdout_days', 'as_of_date') }} as backtest_cutoff_date
    from {{ ref('int_run_settings') }}

),

latest_answers as (

    select
        responses.customer_id,
        {{ last_by('responses.nps_score', ordering_key(['responses.responded_at', 'responses.response_id'])) }}
            as latest_nps_score
    from {{ ref('stg_survey__survey_responses') }} as responses
    cross join settings
    where responses.response_date <= settings.as_of_date
    group by responses.customer_id

),

purchase_days as (

    select customer_id, order_date as purchase_date, sum(amount) as day_revenue
    from purchases
    group by customer_id, order_date

),

{#- One aggregate per customer: the first and latest days' revenue by first_by / last_by, the repeat
    days' mean as (all days - first day) / repeat days. -#}
per_customer as (

    select
        purchase_days.customer_id,
        min(purchase_days.purchase_date) as first_purchase_date,
        max(purchase_days.purchase_date) as last_purchase_date,
        count(*) as purchase_days,
        sum(purchase_days.day_revenue) as revenue,
        {{ first_by('purchase_days.day_revenue', 'purchase_days.purchase_date') }} as first_day_revenue,
        {{ last_by('purchase_days.day_revenue', 'purchase_days.purchase_date') }} as latest_day_revenue,
        {{ count_where('purchase_days.purchase_date <= settings.backtest_cutoff_date') }} as calibration_days,
        max(case when purchase_days.purchase_date <= settings.backtest_cutoff_date
                 then purchase_days.purchase_date end) as calibration_last_purchase_date
    from purchase_days
    cross join settings
    group by purchase_days.customer_id

),

final as (

    select
        per_customer.customer_id,
        per_customer.first_purchase_date,
        per_customer.purchase_days - 1 as frequency,
        {{ days_between('per_customer.first_purchase_date', 'per_customer.last_purchase_date') }} as recency_days,
        {{ days_between('per_customer.first_purchase_date', 'settings.as_of_date') }} as tenure_days,
        {{ safe_divide('per_customer.revenue - per_customer.first_day_revenue', 'per_customer.purchase_days - 1') }}
            as monetary_value,
        {{ safe_divide('per_customer.revenue', 'per_customer.purchase_days') }} as mean_day_revenue,
        per_customer.latest_day_revenue,
        case when per_customer.calibration_days > 0 then per_customer.calibration_days - 1 end
            as calibration_frequency,
        case when per_customer.calibration_days > 0 then
            {{ days_between('per_customer.first_purchase_date', 'per_customer.calibration_last_purchase_date') }}
        end as calibration_recency_days,
        case when per_customer.calibration_days > 0 then
            {{ days_between('per_customer.first_purchase_date', 'settings.backtest_cutoff_date') }}
        end as calibration_tenure_days,
        case when per_customer.calibration_days > 0 then per_customer.purchase_days - per_customer.calibration_days
        end as holdout_purchase_days,
        latest_answers.latest_nps_score
    from per_customer
    cross join settings
    left join latest_answers on latest_answers.customer_id = per_customer.customer_id

)

select * from final
