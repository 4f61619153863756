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

    select customer_id, nps_score as latest_nps_score
    from (
        select
            responses.customer_id,
            responses.nps_score,
            row_number() over (
                partition by responses.customer_id order by responses.responded_at desc, responses.response_id desc
            ) as recency_rank
        from {{ ref('stg_survey__survey_responses') }} as responses
        cross join settings
        where responses.response_date <= settings.as_of_date
    ) as ranked
    where recency_rank = 1

),

purchase_days as (

    select customer_id, order_date as purchase_date, sum(amount) as day_revenue
    from purchases
    group by customer_id, order_date

),

days_numbered as (

    select
        purchase_days.*,
        min(purchase_date) over (partition by customer_id) as first_purchase_date,
        row_number() over (partition by customer_id order by purchase_date desc) as days_from_latest
    from purchase_days

),

full_history as (

    select
        days_numbered.customer_id,
        min(days_numbered.first_purchase_date) as first_purchase_date,
        count(*) - 1 as frequency,
        {{ days_between('min(days_numbered.first_purchase_date)', 'max(days_numbered.purchase_date)') }} as recency_days,
        {{ days_between('min(days_numbered.first_purchase_date)', 'min(settings.as_of_date)') }} as tenure_days,
        avg(case when days_numbered.purchase_date > days_numbered.first_purchase_date
                 then days_numbered.day_revenue end) as monetary_value,
        avg(days_numbered.day_revenue) as mean_day_revenue,
        max(case when days_numbered.days_from_latest = 1 then days_numbered.day_revenue end) as latest_day_revenue
    from days_numbered
    cross join settings
    group by days_numbered.customer_id

),

calibration_history as (

    select
        days_numbered.customer_id,
        {{ count_where('days_numbered.purchase_date <= settings.backtest_cutoff_date') }} - 1 as calibration_frequency,
        {{ days_between('min(days_numbered.first_purchase_date)',
                        'max(case when days_numbered.purchase_date <= settings.backtest_cutoff_date
                                  then days_numbered.purchase_date end)') }} as calibration_recency_days,
        {{ days_between('min(days_numbered.first_purchase_date)', 'min(settings.backtest_cutoff_date)') }}
            as calibration_tenure_days,
        {{ count_where('days_numbered.purchase_date > settings.backtest_cutoff_date') }} as holdout_purchase_days
    from days_numbered
    cross join settings
    where days_numbered.first_purchase_date <= settings.backtest_cutoff_date
    group by days_numbered.customer_id

),

final as (

    select
        full_history.customer_id,
        full_history.first_purchase_date,
        full_history.frequency,
        full_history.recency_days,
        full_history.tenure_days,
        full_history.monetary_value,
        full_history.mean_day_revenue,
        full_history.latest_day_revenue,
        calibration_history.calibration_frequency,
        calibration_history.calibration_recency_days,
        calibration_history.calibration_tenure_days,
        calibration_history.holdout_purchase_days,
        latest_answers.latest_nps_score
    from full_history
    left join calibration_history on calibration_history.customer_id = full_history.customer_id
    left join latest_answers on latest_answers.customer_id = full_history.customer_id

)

select * from final
