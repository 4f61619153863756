{#-
  Every customer the business knows: the CRM's, and one derived from the orders for each customer the
  orders name but no customer extract holds. That happens when no customer extract was delivered (a shop
  that has only orders): ingestion then loads orders for any customer. When a customer extract exists,
  an order of a customer it lacks waits in quarantine instead, so the derived part is empty.

  A customer derived from the orders signed up on the day of their first order (any status), lives in the
  country most of their orders name (ties: alphabetical; null when the orders carry none), came through
  an unknown channel and gave no marketing consent. A CRM customer without a signup date (a shop's customer
  export has none) signed up on the day of their first order too; null while they have no order.
-#}

with crm_customers as (

    select * from {{ ref('stg_crm__customers') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

orders_without_crm_customer as (

    select orders.customer_id, orders.order_date, orders.country_code
    from orders
    where not exists (
        select 1 from crm_customers where crm_customers.customer_id = orders.customer_id
    )

),

first_orders_of_crm_customers_without_signup as (

    select orders.customer_id, min(orders.order_date) as first_order_date
    from orders
    inner join crm_customers
        on crm_customers.customer_id = orders.customer_id
        and crm_customers.signup_date is null
    group by orders.customer_id

),

first_orders as (

    select customer_id, min(order_date) as first_order_date
    from orders_without_crm_customer
    group by customer_id

),

country_counts as (

    select customer_id, country_code, count(*) as orders
    from orders_without_crm_customer
    where country_code is not null
    group by customer_id, country_code

),

most_frequent_countries as (

    select
        customer_id,
        country_code,
        row_number() over (partition by customer_id order by orders desc, country_code) as frequency_rank
    from country_counts

),

derived_customers as (

    select
        first_orders.customer_id,
        first_orders.first_order_date as signup_date,
        most_frequent_countries.country_code,
        cast(null as {{ dbt.type_string() }}) as acquisition_channel,
        false as has_marketing_consent,
        {{ is_erased_customer('first_orders.customer_id') }} as is_erased,
        true as is_derived_from_orders
    from first_orders
    left join most_frequent_countries
        on most_frequent_countries.customer_id = first_orders.customer_id
        and most_frequent_countries.frequency_rank = 1

),

final as (

    select
        crm_customers.customer_id,
        coalesce(
            crm_customers.signup_date, first_orders_of_crm_customers_without_signup.first_order_date
        ) as signup_date,
        crm_customers.country_code,
        crm_customers.acquisition_channel,
        crm_customers.has_marketing_consent,
        crm_customers.is_erased,
        false as is_derived_from_orders
    from crm_customers
    left join first_orders_of_crm_customers_without_signup
        on first_orders_of_crm_customers_without_signup.customer_id = crm_customers.customer_id
    union all
    select * from derived_customers

)

select * from final
