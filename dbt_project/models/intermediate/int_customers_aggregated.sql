{#- Every customer (the CRM's, or derived from the orders) with their purchase history summarised as of the as-of date. -#}

with customers as (

    select * from {{ ref('int_customers_unioned') }}

),

histories as (

    select * from {{ ref('int_customer_histories_rolled_up') }}

),

settings as (

    select * from {{ ref('int_run_settings') }}

),

final as (

    select
        customers.customer_id,
        customers.signup_date,
        customers.country_code,
        coalesce(customers.acquisition_channel, 'unknown') as acquisition_channel,
        customers.has_marketing_consent,
        customers.is_erased,
        customers.is_derived_from_orders,
        histories.first_purchase_date is not null as has_purchased,
        histories.first_purchase_date,
        histories.last_purchase_date,
        coalesce(histories.purchases, 0) as purchases,
        coalesce(histories.purchase_days, 0) as purchase_days,
        coalesce(histories.revenue, 0) as revenue,
        {{ days_between('histories.first_purchase_date', 'settings.as_of_date') }} as tenure_days,
        {{ days_between('histories.last_purchase_date', 'settings.as_of_date') }} as days_since_last_purchase,
        coalesce(
            {{ days_between('histories.last_purchase_date', 'settings.as_of_date') }}
                < settings.activity_window_days,
            false
        ) as is_active
    from customers
    cross join settings
    left join histories on histories.customer_id = customers.customer_id

)

select * from final
