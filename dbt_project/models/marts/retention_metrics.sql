{#-
  The headline retention metrics per calendar month, quarter and year. Definitions (README, and the
  column docs in retention_metrics.yml):
    active at the end of day d: first purchase <= d and d - latest purchase on or before d < window
    CS  customers_at_start  active at the end of the day before the period starts
    CE  customers_at_end    active at the end of the period (the as-of date for a running period)
    CN  new_customers       first purchase in the period
    CRR retention_rate_pct  (CE - CN) / CS * 100, null when CS = 0
  CRR and churn are computed by macros/retention_formulas.sql, shared with retention_metrics_by_segment.
  is_history_shorter_than_window flags the periods whose start is less than W days after the first purchase
  in the data: a customer lapses only W days after their last purchase, so over such a short history churn
  is understated (0 % in most periods) and CRR overstated; a shorter window reads sooner.
  What is unknown is null, never 0: NPS without a survey extract, spend and CAC without a spend extract,
  predicted CLV when the purchase models could not be fitted.
-#}

with periods as (

    select * from {{ ref('int_periods_enumerated') }}

),

settings as (

    select * from {{ ref('int_run_settings') }}

),

first_purchase as (

    select min(first_purchase_date) as first_purchase_date
    from {{ ref('int_customer_histories_rolled_up') }}

),

customer_counts as (

    select * from {{ ref('int_customers_counted_by_period') }}
    where dimension = 'all'

),

purchase_totals as (

    select * from {{ ref('int_purchases_summed_by_period') }}

),

nps as (

    select * from {{ ref('nps_by_period') }}

),

blended_costs as (

    select * from {{ ref('acquisition_costs') }}
    where channel = 'all'

),

purchase_stats as (

    select
        period_grain,
        period_start,
        sum(purchasing_customers) as purchasing_customers,
        sum(repeat_purchasing_customers) as repeat_purchasing_customers,
        sum(revenue) as revenue,
        sum(revenue_from_existing) as revenue_from_existing,
        sum(first_purchase_amount) as first_purchase_amount,
        sum(first_purchases) as first_purchases,
        sum(repeat_purchase_amount) as repeat_purchase_amount,
        sum(repeat_purchases) as repeat_purchases
    from purchase_totals
    group by period_grain, period_start

),

monthly_totals as (

    select
        period_start as month_start,
        sum(revenue) as revenue,
        sum(first_purchases) as new_customers
    from purchase_totals
    where period_grain = 'month'
    group by period_start

),

cumulative_by_month as (

    select
        month_start,
        sum(revenue) over (order by month_start rows between unbounded preceding and current row) as revenue_to_date,
        sum(new_customers) over (order by month_start rows between unbounded preceding and current row) as customers_to_date
    from monthly_totals

),

historical_clv as (

    select
        periods.period_grain,
        periods.period_start,
        {{ safe_divide('cumulative_by_month.revenue_to_date', 'cumulative_by_month.customers_to_date') }}
            as avg_historical_clv
    from periods
    inner join cumulative_by_month
        on cumulative_by_month.month_start = {{ truncate_date('month', 'periods.measured_through_date') }}

),

acquired_customer_value as (

    {% for grain in ['month', 'quarter', 'year'] %}
    select
        '{{ grain }}' as period_grain,
        {{ truncate_date(grain, 'customers.first_purchase_date') }} as period_start,
        -- decimal, so the average is an exact sum and two runs give the same digits; null when no
        -- prediction could be made (the purchase models were not fitted), never revenue alone
        cast(customers.revenue + predictions.predicted_clv_12m as decimal(18, 4)) as predicted_lifetime_value
    from {{ ref('int_customers_aggregated') }} as customers
    left join {{ ref('stg_predictions__customer_clv_predictions') }} as predictions
        on predictions.customer_id = customers.customer_id
    where customers.has_purchased
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

predicted_clv as (

    select period_grain, period_start, avg(predicted_lifetime_value) as avg_predicted_clv
    from acquired_customer_value
    group by period_grain, period_start

),

final as (

    select
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        periods.measured_through_date,
        periods.is_complete,
        {{ days_between('first_purchase.first_purchase_date', 'periods.period_start') }}
            < settings.activity_window_days as is_history_shorter_than_window,
        coalesce(customer_counts.customers_at_start, 0) as customers_at_start,
        coalesce(customer_counts.customers_at_end, 0) as customers_at_end,
        coalesce(customer_counts.new_customers, 0) as new_customers,
        {{ percentage('coalesce(customer_counts.customers_at_end, 0) - coalesce(customer_counts.new_customers, 0)',
                      'customer_counts.customers_at_start') }} as retention_rate_pct,
        coalesce(customer_counts.churned_customers, 0) as churned_customers,
        {{ percentage('customer_counts.churned_customers', 'customer_counts.customers_at_start') }} as churn_rate_pct,
        coalesce(customer_counts.retained_customers, 0) as retained_customers,
        coalesce(customer_counts.reactivated_customers, 0) as reactivated_customers,
        coalesce(customer_counts.new_customers_inactive_at_end, 0) as new_customers_inactive_at_end,
        coalesce(purchase_stats.purchasing_customers, 0) as purchasing_customers,
        {{ percentage('purchase_stats.repeat_purchasing_customers', 'purchase_stats.purchasing_customers') }}
            as repeat_purchase_rate_pct,
        {{ safe_divide('purchase_stats.first_purchase_amount', 'purchase_stats.first_purchases') }}
            as avg_basket_first_purchase,
        {{ safe_divide('purchase_stats.repeat_purchase_amount', 'purchase_stats.repeat_purchases') }}
            as avg_basket_repeat_purchase,
        coalesce(purchase_stats.revenue, 0) as revenue,
        {{ percentage('purchase_stats.revenue_from_existing', 'purchase_stats.revenue') }}
            as revenue_existing_customers_pct,
        nps.nps,
        nps.responses as nps_responses,
        blended_costs.spend as marketing_spend,
        blended_costs.cac,
        historical_clv.avg_historical_clv,
        {{ safe_divide('historical_clv.avg_historical_clv', 'blended_costs.cac') }} as clv_to_cac,
        predicted_clv.avg_predicted_clv,
        {{ safe_divide('predicted_clv.avg_predicted_clv', 'blended_costs.cac') }} as predicted_clv_to_cac
    from periods
    cross join settings
    cross join first_purchase
    left join customer_counts
        on customer_counts.period_grain = periods.period_grain
        and customer_counts.period_start = periods.period_start
    left join purchase_stats
        on purchase_stats.period_grain = periods.period_grain
        and purchase_stats.period_start = periods.period_start
    left join nps
        on nps.period_grain = periods.period_grain
        and nps.period_start = periods.period_start
    left join blended_costs
        on blended_costs.period_grain = periods.period_grain
        and blended_costs.period_start = periods.period_start
    left join historical_clv
        on historical_clv.period_grain = periods.period_grain
        and historical_clv.period_start = periods.period_start
    left join predicted_clv
        on predicted_clv.period_grain = periods.period_grain
        and predicted_clv.period_start = periods.period_start

)

select * from final
