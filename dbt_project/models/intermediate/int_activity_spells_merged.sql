{{ config(
    materialized=history_materialization(),
    incremental_strategy='delete+insert',
    unique_key='customer_id',
) }}

{#-
  When each customer is active, as intervals instead of a customer x day grid.

  Rule: a customer is active at the end of day d when their latest purchase on or before d is less
  than activity_window_days (W) days before d, i.e. d - last_purchase < W. A purchase on day p
  therefore keeps the customer active on days p .. p + W - 1. Purchases less than W days apart overlap
  and merge into one spell; a gap of W days or more starts a new spell. Active at d <=> some spell has
  spell_start_date <= d <= spell_end_date.

  Incremental: rebuilds the spells of the customers int_purchases_summed_by_customer_day rebuilt since this
  model's last build (a change of W rebuilds everything: pipelines/transform/incremental.py).
-#}

with purchase_days as (

    select customer_id, purchase_date, rebuild_number
    from {{ ref('int_purchases_summed_by_customer_day') }}
    {%- if is_incremental() %}
    where {{ rebuilt_since_last_build(ref('int_purchases_summed_by_customer_day')) }}
    {%- endif %}

),

settings as (

    select * from {{ ref('int_run_settings') }}

),

with_previous as (

    select
        customer_id,
        purchase_date,
        rebuild_number,
        lag(purchase_date) over (partition by customer_id order by purchase_date) as previous_purchase_date
    from purchase_days

),

spell_starts_flagged as (

    select
        with_previous.customer_id,
        with_previous.purchase_date,
        with_previous.rebuild_number,
        case
            when with_previous.previous_purchase_date is null then 1
            when {{ days_between('with_previous.previous_purchase_date', 'with_previous.purchase_date') }}
                >= settings.activity_window_days then 1
            else 0
        end as starts_spell
    from with_previous
    cross join settings

),

spells_numbered as (

    select
        customer_id,
        purchase_date,
        rebuild_number,
        sum(starts_spell) over (
            partition by customer_id order by purchase_date rows between unbounded preceding and current row
        ) as spell_number
    from spell_starts_flagged

),

spells as (

    select
        customer_id,
        spell_number,
        min(purchase_date) as spell_start_date,
        max(purchase_date) as last_purchase_date,
        count(*) as purchase_days,
        max(rebuild_number) as rebuild_number
    from spells_numbered
    group by customer_id, spell_number

),

final as (

    select
        spells.customer_id,
        spells.spell_number,
        spells.spell_start_date,
        spells.last_purchase_date,
        {{ add_days('settings.activity_window_days - 1', 'spells.last_purchase_date') }} as spell_end_date,
        spells.purchase_days,
        spells.rebuild_number
    from spells
    cross join settings

)

select * from final
