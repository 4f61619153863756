{#-
  NPS = % promoters (9-10) - % detractors (0-6) among the answers given in the period. Without a survey
  extract the answers are unknown: counts and NPS are null (not 0). With one, a period without answers
  has 0 responses and a null NPS.
-#}

with periods as (

    select * from {{ ref('int_periods_enumerated') }}

),

responses as (

    select * from {{ ref('stg_survey__survey_responses') }}

),

delivered as (

    select * from {{ ref('int_extracts_delivered') }}

),

answers_in_period as (

    {% for grain in ['month', 'quarter', 'year'] %}
    select '{{ grain }}' as period_grain, {{ truncate_date(grain, 'response_date') }} as period_start, nps_score
    from responses
    where response_date <= (select as_of_date from {{ ref('int_run_settings') }})
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

counted as (

    select
        period_grain,
        period_start,
        count(*) as responses,
        {{ count_where('nps_score >= 9') }} as promoters,
        {{ count_where('nps_score between 7 and 8') }} as passives,
        {{ count_where('nps_score <= 6') }} as detractors,
        avg(cast(nps_score as double)) as average_score
    from answers_in_period
    group by period_grain, period_start

),

final as (

    select
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        periods.is_complete,
        case when delivered.has_survey_extract then coalesce(counted.responses, 0) end as responses,
        case when delivered.has_survey_extract then coalesce(counted.promoters, 0) end as promoters,
        case when delivered.has_survey_extract then coalesce(counted.passives, 0) end as passives,
        case when delivered.has_survey_extract then coalesce(counted.detractors, 0) end as detractors,
        {{ percentage('counted.promoters', 'counted.responses') }}
            - {{ percentage('counted.detractors', 'counted.responses') }} as nps,
        counted.average_score
    from periods
    cross join delivered
    left join counted
        on counted.period_grain = periods.period_grain
        and counted.period_start = periods.period_start

)

select * from final
