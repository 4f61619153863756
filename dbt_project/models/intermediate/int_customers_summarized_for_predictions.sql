{#-
  Each purchasing customer's history in the form the buy-till-you-die models take (Fader, Hardie & Lee
  2005), time in days:
    frequency x       distinct purchase days after the first
    recency t_x       days from the first to the last purchase day
    tenure T          days from the first purchase to the as-of date
    monetary_value    mean revenue of the repeat purchase days (the first day excluded; null when x = 0)
  and the same as of the back-test cut-off (as-of - H days), with the purchase days that followed it,
  so every run can score a model fitted without the last H days against what happened in them.
  Also the inputs of the health score: mean and latest day revenue, and the latest NPS answer; and the
  customer's acquisition channel and country, the covariates the CLV models may use (null when unknown).
-#}

with histories as (

    select * from {{ ref('int_customer_histories_rolled_up') }}

),

settings as (

    select * from {{ ref('int_run_settings') }}

),

customers as (

    select * from {{ ref('int_customers_unioned') }}

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

final as (

    select
        histories.customer_id,
        histories.first_purchase_date,
        histories.purchase_days - 1 as frequency,
        {{ days_between('histories.first_purchase_date', 'histories.last_purchase_date') }} as recency_days,
        {{ days_between('histories.first_purchase_date', 'settings.as_of_date') }} as tenure_days,
        {{ safe_divide('histories.revenue - histories.first_day_revenue', 'histories.purchase_days - 1') }}
            as monetary_value,
        {{ safe_divide('histories.revenue', 'histories.purchase_days') }} as mean_day_revenue,
        histories.latest_day_revenue,
        case when histories.calibration_days > 0 then histories.calibration_days - 1 end
            as calibration_frequency,
        case when histories.calibration_days > 0 then
            {{ days_between('histories.first_purchase_date', 'histories.calibration_last_purchase_date') }}
        end as calibration_recency_days,
        case when histories.calibration_days > 0 then
            {{ days_between('histories.first_purchase_date', 'settings.backtest_cutoff_date') }}
        end as calibration_tenure_days,
        case when histories.calibration_days > 0 then histories.purchase_days - histories.calibration_days
        end as holdout_purchase_days,
        latest_answers.latest_nps_score,
        customers.acquisition_channel,
        customers.country_code
    from histories
    cross join settings
    left join latest_answers on latest_answers.customer_id = histories.customer_id
    left join customers on customers.customer_id = histories.customer_id

)

select * from final
