{#- One row per day, 2000-01-01 onwards for 50 years: the time spine MetricFlow joins metrics to. -#}

with day_numbers as (

    {{ dbt.generate_series(18263) }}

),

final as (

    select {{ add_days('generated_number - 1', "cast('2000-01-01' as date)") }} as date_day
    from day_numbers

)

select * from final
