{#-
  Purchases: completed orders placed on or before the as-of date. Refunded and cancelled orders never
  count, so a customer whose only order was refunded is not a customer. Each customer's first purchase
  (earliest ordered_at, order_id breaking ties) is the one that made them a customer; it is found with one
  aggregate per customer rather than a window over every purchase.
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

first_purchases as (

    select
        customer_id,
        {{ first_by('order_id', ordering_key(['ordered_at', 'order_id'])) }} as first_order_id,
        min(order_date) as first_purchase_date
    from purchases
    group by customer_id

),

final as (

    select
        purchases.*,
        first_purchases.first_purchase_date,
        purchases.order_id = first_purchases.first_order_id as is_first_purchase
    from purchases
    inner join first_purchases on first_purchases.customer_id = purchases.customer_id

)

select * from final
