{#- One row: the as-of date and the activity window every metric of this run uses. -#}

with latest_order as (

    select max(order_date) as latest_order_date
    from {{ ref('stg_shop__orders') }}

),

with_as_of as (

    select
        {% if var('as_of_date', env_var('RETENTIO_AS_OF_DATE', '')) %}
        cast('{{ var('as_of_date', env_var('RETENTIO_AS_OF_DATE', '')) }}' as date) as as_of_date,
        {% else %}
        latest_order_date as as_of_date,
        {% endif %}
        latest_order_date,
        {{ activity_window_days() }} as activity_window_days,
        {{ backtest_holdout_days() }} as backtest_holdout_days

    from latest_order

),

final as (

    select
        *,
        {{ add_days('-backtest_holdout_days', 'as_of_date') }} as backtest_cutoff_date
    from with_as_of

)

select * from final
