{#- Every CRM customer with their purchase history summarised as of the as-of date. -#}

with customers as (

    select * from {{ ref('stg_crm__customers') }}

),

purchases as (

    select * from {{ ref('int_purchases_sequenced') }}

),

settings as (

    select * from {{ ref('int_run_settings') }}

),

purchase_summary as (

    select
        customer_id,
        min(order_date) as first_purchase_date,
        max(order_date) as last_purchase_date,
        count(*) as purchases,
        count(distinct order_date) as purchase_days,
        sum(amount) as revenue
    from purchases
    group by customer_id

),

final as (

    select
        customers.customer_id,
        customers.signup_date,
        customers.country_code,
        coalesce(customers.acquisition_channel, 'unknown') as acquisition_channel,
        customers.has_marketing_consent,
        customers.is_erased,
        purchase_summary.first_purchase_date is not null as has_purchased,
        purchase_summary.first_purchase_date,
        purchase_summary.last_purchase_date,
        coalesce(purchase_summary.purchases, 0) as purchases,
        coalesce(purchase_summary.purchase_days, 0) as purchase_days,
        coalesce(purchase_summary.revenue, 0) as revenue,
        {{ days_between('purchase_summary.first_purchase_date', 'settings.as_of_date') }} as tenure_days,
        {{ days_between('purchase_summary.last_purchase_date', 'settings.as_of_date') }} as days_since_last_purchase,
        coalesce(
            {{ days_between('purchase_summary.last_purchase_date', 'settings.as_of_date') }}
                < settings.activity_window_days,
            false
        ) as is_active
    from customers
    cross join settings
    left join purchase_summary on purchase_summary.customer_id = customers.customer_id

)

select * from final
