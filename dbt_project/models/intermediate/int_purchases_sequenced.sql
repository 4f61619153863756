{#-
  Purchases: completed orders placed on or before the as-of date. Refunded and cancelled orders never
  count. Each customer's purchases are numbered in time order (order_id breaks ties), so the first
  purchase is the one that makes them a customer.
-#}

with orders as (

    select * from {{ ref('stg_shop__orders') }}

),

settings as (

    select * from {{ ref('int_run_settings') }}

),

purchases as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.order_date,
        orders.amount
    from orders
    cross join settings
    where orders.order_status = 'completed'
      and orders.order_date <= settings.as_of_date

),

sequenced as (

    select
        *,
        row_number() over (partition by customer_id order by ordered_at, order_id) as purchase_number,
        min(order_date) over (partition by customer_id) as first_purchase_date
    from purchases

),

final as (

    select
        *,
        purchase_number = 1 as is_first_purchase
    from sequenced

)

select * from final
