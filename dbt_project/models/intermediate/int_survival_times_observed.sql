{#-
  The times customer_survival estimates, one row per purchasing customer and curve: how many days after
  the first purchase the event came (is_event) or, when it has not come yet, how long the customer has
  been followed (censored at the as-of date). A table, like the other intermediate models: as a view,
  each of its data tests and customer_survival computed it again (2 s each at a million customers).

    second_purchase  the second purchase day (a later day than the first); without one, censored at the
                     as-of date: as-of - first purchase.
    lapse            the first lapse: the day after the customer's first activity spell ends (last purchase
                     of the spell + W, the first day they are no longer active by the activity window W),
                     when that day is on or before the as-of date; a spell still open at the as-of date
                     (spell_end_date >= as-of: still active) is censored there. Every lapse comes at W
                     days or later; a customer who came back after lapsing still lapsed once.
-#}

with settings as (

    select * from {{ ref('int_run_settings') }}

),

customers as (

    select
        aggregated.customer_id,
        aggregated.first_purchase_date,
        segmented.acquisition_channel,
        segmented.cohort_year
    from {{ ref('int_customers_aggregated') }} as aggregated
    inner join {{ ref('int_customers_segmented') }} as segmented
        on segmented.customer_id = aggregated.customer_id
    where aggregated.has_purchased

),

{#- Kept per customer by the incremental histories: one row each, not their ten million purchase days. -#}
second_purchase_days as (

    select customer_id, second_purchase_date
    from {{ ref('int_customer_histories_rolled_up') }}

),

first_spells as (

    select customer_id, spell_end_date
    from {{ ref('int_activity_spells_merged') }}
    where spell_number = 1

),

second_purchase_times as (

    select
        'second_purchase' as curve,
        customers.customer_id,
        customers.acquisition_channel,
        customers.cohort_year,
        case
            when second_purchase_days.second_purchase_date is not null
                then {{ days_between('customers.first_purchase_date', 'second_purchase_days.second_purchase_date') }}
            else {{ days_between('customers.first_purchase_date', 'settings.as_of_date') }}
        end as days,
        second_purchase_days.second_purchase_date is not null as is_event
    from customers
    cross join settings
    left join second_purchase_days on second_purchase_days.customer_id = customers.customer_id

),

lapse_times as (

    select
        'lapse' as curve,
        customers.customer_id,
        customers.acquisition_channel,
        customers.cohort_year,
        case
            when first_spells.spell_end_date < settings.as_of_date
                then {{ days_between('customers.first_purchase_date', 'first_spells.spell_end_date') }} + 1
            else {{ days_between('customers.first_purchase_date', 'settings.as_of_date') }}
        end as days,
        first_spells.spell_end_date < settings.as_of_date as is_event
    from customers
    cross join settings
    inner join first_spells on first_spells.customer_id = customers.customer_id

),

final as (

    select * from second_purchase_times
    union all
    select * from lapse_times

)

select * from final
