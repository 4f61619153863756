{#-
  CAC = marketing spend of a channel in the period / customers acquired through that channel in the
  period (a customer is acquired in the period of their first purchase, through their CRM
  acquisition_channel). Channel 'all' is the blended CAC. Cost per conversion: spend / first purchases
  (new customers) and spend / repeat purchases (returning customers) in the period.
  Without a marketing spend extract the spend is unknown: spend, CAC and cost per conversion are null
  (not 0). With one, a period or channel without spend rows spent 0.
-#}

with periods as (

    select * from {{ ref('int_periods_enumerated') }}

),

spend as (

    select spend_date, coalesce(channel, 'unknown') as channel, amount
    from {{ ref('stg_marketing__marketing_spend') }}

),

purchase_totals as (

    select * from {{ ref('int_purchases_summed_by_period') }}

),

delivered as (

    select * from {{ ref('int_extracts_delivered') }}

),

spend_in_period as (

    select periods.period_grain, periods.period_start, spend.channel, sum(spend.amount) as spend
    from periods
    inner join spend
        on spend.spend_date >= periods.period_start
        and spend.spend_date <= periods.measured_through_date
    group by periods.period_grain, periods.period_start, spend.channel

),

conversions_in_period as (

    select
        period_grain,
        period_start,
        acquisition_channel as channel,
        sum(first_purchases) as first_purchases,
        sum(repeat_purchases) as repeat_purchases
    from purchase_totals
    group by period_grain, period_start, acquisition_channel

),

channels as (

    select distinct channel from spend_in_period
    union
    select distinct channel from conversions_in_period

),

by_channel as (

    select
        periods.period_grain,
        periods.period_start,
        channels.channel,
        case when delivered.has_marketing_spend_extract then coalesce(spend_in_period.spend, 0) end as spend,
        coalesce(conversions_in_period.first_purchases, 0) as new_customers,
        coalesce(conversions_in_period.repeat_purchases, 0) as repeat_purchases
    from periods
    cross join channels
    cross join delivered
    left join spend_in_period
        on spend_in_period.period_grain = periods.period_grain
        and spend_in_period.period_start = periods.period_start
        and spend_in_period.channel = channels.channel
    left join conversions_in_period
        on conversions_in_period.period_grain = periods.period_grain
        and conversions_in_period.period_start = periods.period_start
        and conversions_in_period.channel = channels.channel

),

with_blended as (

    select * from by_channel
    union all
    select period_grain, period_start, 'all' as channel, sum(spend), sum(new_customers), sum(repeat_purchases)
    from by_channel
    group by period_grain, period_start

),

final as (

    select
        with_blended.period_grain,
        with_blended.period_start,
        periods.period_end,
        periods.is_complete,
        with_blended.channel,
        with_blended.spend,
        with_blended.new_customers,
        {{ safe_divide('with_blended.spend', 'with_blended.new_customers') }} as cac,
        with_blended.new_customers as first_purchases,
        with_blended.repeat_purchases,
        {{ safe_divide('with_blended.spend', 'with_blended.new_customers') }} as cost_per_first_purchase,
        {{ safe_divide('with_blended.spend', 'with_blended.repeat_purchases') }} as cost_per_repeat_purchase
    from with_blended
    inner join periods
        on periods.period_grain = with_blended.period_grain
        and periods.period_start = with_blended.period_start

)

select * from final
