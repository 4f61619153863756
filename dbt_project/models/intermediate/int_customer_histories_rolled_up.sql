{{ config(
    materialized=history_materialization(),
    incremental_strategy='delete+insert',
    unique_key='customer_id',
) }}

{#-
  One row per purchasing customer: the history that does not depend on the as-of date (first, second and
  latest purchase days, purchase days, revenue) and the same as of the back-test cut-off (as-of - H days).
  The models that add what moves with the as-of date every day (tenure, recency, activity) read this one.

  Incremental: rebuilds the customers int_purchases_summed_by_customer_day rebuilt since this model's last
  build, and those with a purchase day the moving cut-off has just passed.
-#}

with settings as (

    select * from {{ ref('int_run_settings') }}

),

{% if is_incremental() %}
{#- Customers whose calibration the moving cut-off changes (rebuilt customers come by rebuild_number). -#}
past_the_cut_off as (

    select distinct customer_id
    from {{ ref('int_purchases_summed_by_customer_day') }}
    where purchase_date > (select max(calibration_cutoff_date) from {{ this }})
      and purchase_date <= (select backtest_cutoff_date from settings)

),
{% endif %}

purchase_days as (

    select * from {{ ref('int_purchases_summed_by_customer_day') }}
    {%- if is_incremental() %}
    where {{ rebuilt_since_last_build(ref('int_purchases_summed_by_customer_day')) }}
       or customer_id in (select customer_id from past_the_cut_off)
    {%- endif %}

),

final as (

    select
        purchase_days.customer_id,
        min(purchase_days.purchase_date) as first_purchase_date,
        max(purchase_days.purchase_date) as last_purchase_date,
        min(case when purchase_days.purchase_date > purchase_days.first_purchase_date
                 then purchase_days.purchase_date end) as second_purchase_date,
        count(*) as purchase_days,
        sum(purchase_days.orders) as purchases,
        sum(purchase_days.revenue) as revenue,
        {{ first_by('purchase_days.revenue', 'purchase_days.purchase_date') }} as first_day_revenue,
        {{ last_by('purchase_days.revenue', 'purchase_days.purchase_date') }} as latest_day_revenue,
        max(settings.backtest_cutoff_date) as calibration_cutoff_date,
        {{ count_where('purchase_days.purchase_date <= settings.backtest_cutoff_date') }} as calibration_days,
        max(case when purchase_days.purchase_date <= settings.backtest_cutoff_date
                 then purchase_days.purchase_date end) as calibration_last_purchase_date,
        max(purchase_days.rebuild_number) as rebuild_number
    from purchase_days
    cross join settings
    group by purchase_days.customer_id

)

select * from final
