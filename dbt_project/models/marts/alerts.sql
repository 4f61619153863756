{#-
  Alerts on the last complete period (RETENTIO_COMPARISON_GRAIN, default month) against the average of
  the RETENTIO_ALERT_TRAILING_PERIODS (default 3) complete periods before it:
    churn_rate_pct      rises by more than RETENTIO_ALERT_CHURN_RISE_PCT % (default 20, relative)
    retention_rate_pct  drops by more than RETENTIO_ALERT_CRR_DROP_POINTS points (default 2)
    nps                 drops by more than RETENTIO_ALERT_NPS_DROP_POINTS points (default 10)
    cac                 rises by more than RETENTIO_ALERT_CAC_RISE_PCT % (default 20, relative)
  Each alert names the segment that drives the move: for churn and CRR the segment (acquisition channel,
  country or cohort year) of retention_drivers whose own rate moved the total most in that direction, for
  CAC the channel whose CAC rose most.
  Periods with less history than the activity window (retention_metrics.is_history_shorter_than_window)
  read churn 0 % by definition, so they are no baseline for churn and CRR: no such alert until there is one.
  An empty table means no alert.
-#}

with metrics as (

    select * from {{ ref('retention_metrics') }}
    where period_grain = '{{ comparison_grain() }}' and is_complete

),

numbered as (

    select metrics.*, row_number() over (order by period_start desc) as periods_back
    from metrics

),

latest as (

    select * from numbered where periods_back = 1

),

preceding as (

    select
        avg(case when not is_history_shorter_than_window then churn_rate_pct end) as churn_rate_pct,
        avg(case when not is_history_shorter_than_window then retention_rate_pct end) as retention_rate_pct,
        avg(nps) as nps,
        avg(cac) as cac,
        count(*) as periods
    from numbered
    where periods_back between 2 and 1 + {{ alert_setting('trailing_periods') }}

),

observations as (

    select 'churn_rate_pct' as metric, 'rise' as direction, latest.churn_rate_pct as current_value,
           preceding.churn_rate_pct as trailing_average,
           latest.churn_rate_pct > preceding.churn_rate_pct * (1 + {{ alert_setting('churn_rise_pct') }} / 100.0)
               as is_alert
    from latest cross join preceding
    union all
    select 'retention_rate_pct', 'drop', latest.retention_rate_pct, preceding.retention_rate_pct,
           latest.retention_rate_pct < preceding.retention_rate_pct - {{ alert_setting('crr_drop_points') }}
    from latest cross join preceding
    union all
    select 'nps', 'drop', latest.nps, preceding.nps,
           latest.nps < preceding.nps - {{ alert_setting('nps_drop_points') }}
    from latest cross join preceding
    union all
    select 'cac', 'rise', latest.cac, preceding.cac,
           latest.cac > preceding.cac * (1 + {{ alert_setting('cac_rise_pct') }} / 100.0)
    from latest cross join preceding

),

segment_drivers as (

    select
        case metric when 'churned_customers' then 'churn_rate_pct' else metric end as metric,
        dimension,
        segment,
        change,
        rate_effect,
        row_number() over (
            partition by metric
            -- nulls last spelled out: DuckDB's default, Spark's default is nulls first
            order by case when metric = 'churned_customers' then -rate_effect else rate_effect end nulls last,
                     dimension, segment
        ) as driver_rank
    from {{ ref('retention_drivers') }}
    -- RFM segments are measured as of the as-of date, so customers who just lapsed sit in low-recency
    -- segments by construction: naming one as the cause would be circular.
    where metric in ('churned_customers', 'retention_rate_pct') and dimension not in ('total', 'rfm_segment')

),

channel_costs as (

    select
        costs.channel,
        max(case when costs.period_start = latest.period_start then costs.cac end) as current_cac,
        avg(case when costs.period_start < latest.period_start then costs.cac end) as trailing_cac
    from {{ ref('acquisition_costs') }} as costs
    cross join latest
    where costs.period_grain = '{{ comparison_grain() }}' and costs.channel <> 'all'
      and costs.period_start in (select period_start from numbered
                                 where periods_back <= 1 + {{ alert_setting('trailing_periods') }})
    group by costs.channel

),

cac_drivers as (

    select 'cac' as metric, 'acquisition_channel' as dimension, channel as segment,
           current_cac - trailing_cac as change, current_cac - trailing_cac as rate_effect,
           row_number() over (order by current_cac - trailing_cac desc, channel) as driver_rank
    from channel_costs
    where current_cac is not null and trailing_cac is not null

),

drivers as (

    select metric, dimension, segment, change, rate_effect from segment_drivers where driver_rank = 1
    union all
    select metric, dimension, segment, change, rate_effect from cac_drivers where driver_rank = 1

),

final as (

    select
        '{{ comparison_grain() }}' as period_grain,
        latest.period_start,
        observations.metric,
        observations.direction,
        observations.current_value,
        observations.trailing_average,
        observations.current_value - observations.trailing_average as change,
        {{ percentage('observations.current_value - observations.trailing_average',
                      'abs(observations.trailing_average)') }} as change_pct,
        drivers.dimension as driver_dimension,
        drivers.segment as driver_segment,
        drivers.change as driver_change,
        observations.metric || ' ' || observations.direction || 's to '
            || cast(round(observations.current_value, 1) as {{ dbt.type_string() }})
            || ' from a trailing average of '
            || cast(round(observations.trailing_average, 1) as {{ dbt.type_string() }})
            || ' in the ' || '{{ comparison_grain() }}' || ' of ' || cast(latest.period_start as {{ dbt.type_string() }})
            || coalesce('; driven by ' || drivers.dimension || ' = ' || drivers.segment, '')
            as message
    from observations
    cross join latest
    left join drivers on drivers.metric = observations.metric
    where observations.is_alert

)

select * from final
