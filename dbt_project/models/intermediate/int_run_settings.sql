{#- One row: the as-of date and the activity window every metric of this run uses. The one place the as-of
    date is resolved (the setting, or the latest order date): every other model, the predictions and the
    publication read it from here. -#}
{%- set configured_as_of_date = as_of_date_setting() | trim -%}

with latest_order as (

    select max(order_date) as latest_order_date
    from {{ ref('stg_shop__orders') }}

),

with_as_of as (

    select
        {% if configured_as_of_date %}
        cast('{{ configured_as_of_date }}' as date) as as_of_date,
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
