{#-
  CAC against customer value per acquisition channel, as the report's "CAC vs CLV by channel" shows it:
  spend and customers acquired over the last 12 complete months (acquisition_costs) against the average
  historical CLV of every purchasing customer the channel acquired, whenever (customers), and their average
  predicted 12-month CLV (null when the purchase models could not be fitted). Channel 'all'
  is the blended row. Without a marketing spend extract the spend, CAC and CLV:CAC are null (unknown);
  before the first complete month there are no rows.
-#}

{%- set window_months = 12 %}

with monthly_costs as (

    select * from {{ ref('acquisition_costs') }}
    where period_grain = 'month' and is_complete

),

customers as (

    select * from {{ ref('customers') }}

),

delivered as (

    select * from {{ ref('int_extracts_delivered') }}

),

months_ranked as (

    select
        period_start,
        row_number() over (order by period_start desc) as months_back
    from (select distinct period_start from monthly_costs) as complete_months

),

cac_window as (

    select
        min(period_start) as first_month_start,
        max(period_start) as last_month_start,
        count(*) as months_in_window
    from months_ranked
    where months_back <= {{ window_months }}
    having count(*) > 0

),

spend_in_window as (

    select
        monthly_costs.channel,
        sum(monthly_costs.spend) as spend,
        sum(monthly_costs.new_customers) as new_customers
    from monthly_costs
    cross join cac_window
    where monthly_costs.period_start between cac_window.first_month_start and cac_window.last_month_start
    group by monthly_costs.channel

),

purchasing_customers as (

    select coalesce(acquisition_channel, 'unknown') as channel, historical_clv, predicted_clv_12m
    from customers
    where has_purchased

),

value_by_channel as (

    select
        channel,
        count(*) as purchasing_customers,
        avg(historical_clv) as avg_historical_clv,
        -- summed as decimals (to a millionth of the currency): a sum of doubles depends on the order DuckDB's
        -- threads add them in, and a rebuild must publish the same number as the run it replaces
        cast(avg(cast(predicted_clv_12m as decimal(18, 6))) as double) as avg_predicted_clv_12m
    from purchasing_customers
    group by channel

    union all

    select
        'all' as channel,
        count(*) as purchasing_customers,
        avg(historical_clv) as avg_historical_clv,
        cast(avg(cast(predicted_clv_12m as decimal(18, 6))) as double) as avg_predicted_clv_12m
    from purchasing_customers

),

by_channel as (

    select
        coalesce(spend_in_window.channel, value_by_channel.channel) as channel,
        case when delivered.has_marketing_spend_extract then coalesce(spend_in_window.spend, 0) end as spend,
        coalesce(spend_in_window.new_customers, 0) as new_customers,
        coalesce(value_by_channel.purchasing_customers, 0) as purchasing_customers,
        value_by_channel.avg_historical_clv,
        value_by_channel.avg_predicted_clv_12m
    from spend_in_window
    full outer join value_by_channel on value_by_channel.channel = spend_in_window.channel
    cross join delivered

),

with_cac as (

    select
        *,
        {{ safe_divide('spend', 'new_customers') }} as cac
    from by_channel

),

final as (

    select
        cac_window.first_month_start,
        cac_window.last_month_start,
        cac_window.months_in_window,
        with_cac.channel,
        with_cac.spend,
        cast(with_cac.new_customers as bigint) as new_customers,
        with_cac.cac,
        cast(with_cac.purchasing_customers as bigint) as purchasing_customers,
        with_cac.avg_historical_clv,
        {{ safe_divide('with_cac.avg_historical_clv', 'with_cac.cac') }} as clv_to_cac,
        with_cac.avg_predicted_clv_12m
    from with_cac
    cross join cac_window

)

select * from final
