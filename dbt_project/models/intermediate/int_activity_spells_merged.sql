{#-
  When each customer is active, as intervals instead of a customer x day grid.

  Rule: a customer is active at the end of day d when their latest purchase on or before d is less
  than activity_window_days (W) days before d, i.e. d - last_purchase_date < W. A purchase on day p
  therefore keeps the customer active on days p .. p + W - 1. Purchases less than W days apart overlap
  and merge into one spell; a gap of W days or more starts a new spell. Active at d <=> some spell has
  spell_start_date <= d <= spell_end_date.
-#}

with purchase_days as (

    select distinct customer_id, order_date as purchase_date
    from {{ ref('int_purchases_sequenced') }}

),

settings as (

    select * from {{ ref('int_run_settings') }}

),

with_previous as (

    select
        customer_id,
        purchase_date,
        lag(purchase_date) over (partition by customer_id order by purchase_date) as previous_purchase_date
    from purchase_days

),

spell_starts_flagged as (

    select
        with_previous.customer_id,
        with_previous.purchase_date,
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
        count(*) as purchase_days
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
        spells.purchase_days
    from spells
    cross join settings

)

select * from final
