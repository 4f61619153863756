{{ config(
    materialized=history_materialization(),
    incremental_strategy='delete+insert',
    unique_key='customer_id',
) }}

{#-
  Each customer's purchases summed per day: the one pass over the orders that every history is built
  from. A purchase is a completed order on or before the as-of date; refunded and cancelled orders never
  count, so a customer whose only order was refunded is not a customer. The first purchase is the
  earliest (ordered_at, then order_id) and made them a customer.

  Incremental (macros/incremental.sql): a run rebuilds every row of the customers with an order in a
  new ingestion batch, an order the moving as-of date now includes, or an order on a day a backfill
  asked to rebuild since (stg_rebuilds__order_days), from all of their orders; rebuild_number tells the
  models built from this one which customers changed.
-#}

{#- Each part reads stg_shop__orders itself, not a shared CTE: DuckDB would materialize all ten million
    orders once for the CTE instead of reading, in each part, only the columns and row groups it needs. -#}

with settings as (

    select * from {{ ref('int_run_settings') }}

),

rebuild_requests as (

    select * from {{ ref('stg_rebuilds__order_days') }}

),

{% if is_incremental() %}
last_build as (

    select
        coalesce(max(built_through_batch), 0) as built_through_batch,
        max(built_as_of_date) as built_as_of_date,
        coalesce(max(built_through_request), 0) as built_through_request,
        coalesce(max(rebuild_number), 0) as rebuild_number
    from {{ this }}

),

days_to_rebuild as (

    select rebuild_requests.first_order_date, rebuild_requests.last_order_date
    from rebuild_requests
    cross join last_build
    where rebuild_requests.request_number > last_build.built_through_request

),

{#- One simple filter per reason, each against a one-row subquery: DuckDB then skips the raw files of
    older batches and the row groups outside the as-of window instead of reading ten million orders. -#}
changed_customers as (

    select customer_id
    from {{ ref('stg_shop__orders') }}
    where ingestion_batch > (select built_through_batch from last_build)
    union
    select customer_id
    from {{ ref('stg_shop__orders') }}
    where ordered_at >= (select {{ add_days(1, 'built_as_of_date') }} from last_build)
      and ordered_at < (select {{ add_days(1, 'as_of_date') }} from settings)
    union
    select orders.customer_id
    from {{ ref('stg_shop__orders') }} as orders
    inner join days_to_rebuild
        on orders.order_date between days_to_rebuild.first_order_date and days_to_rebuild.last_order_date

),
{% endif %}

purchases as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.order_date,
        orders.amount
    from {{ ref('stg_shop__orders') }} as orders
    {%- if is_incremental() %}
    {#- a join, not `in (...)`: DuckDB then hashes the few changed customers, not the ten million orders #}
    inner join changed_customers on changed_customers.customer_id = orders.customer_id
    {%- endif %}
    cross join settings
    where orders.order_status = 'completed'
      and orders.order_date <= settings.as_of_date

),

days as (

    select
        customer_id,
        order_date as purchase_date,
        count(*) as orders,
        sum(amount) as revenue
    from purchases
    group by customer_id, order_date

),

{#- The first order (by time, then id) is on the first purchase day, so it is found per customer: a million
    groups, instead of carrying it in every customer-day group, which made that aggregation heavy enough to
    slow down under the memory limit when another model ran beside it (5.9 -> 8.7 s at a million customers).
    DuckDB materializes `purchases` for the two: measured, no slower on a full build (at a million and at ten
    million customers), and twice as fast on a daily one as reading the changed customers' orders twice. -#}
first_days as (

    select
        customer_id,
        min(order_date) as first_purchase_date,
        {{ first_by('amount', ordering_key(['ordered_at', 'order_id'])) }} as first_order_amount
    from purchases
    group by customer_id

),

build as (

    select
        max(ingestion_batch) as built_through_batch,
        (select coalesce(max(request_number), 0) from rebuild_requests) as built_through_request,
        {% if is_incremental() -%}
        (select rebuild_number from last_build) + 1
        {%- else -%}
        1
        {%- endif %} as rebuild_number
    from {{ ref('stg_shop__orders') }}

),

final as (

    select
        days.customer_id,
        days.purchase_date,
        first_days.first_purchase_date,
        days.purchase_date = first_days.first_purchase_date as is_first_purchase_day,
        days.orders,
        days.revenue,
        case when days.purchase_date = first_days.first_purchase_date then first_days.first_order_amount end
            as first_purchase_amount,
        days.orders - case when days.purchase_date = first_days.first_purchase_date then 1 else 0 end
            as repeat_orders,
        days.revenue - case when days.purchase_date = first_days.first_purchase_date
                            then first_days.first_order_amount else 0 end as repeat_revenue,
        settings.as_of_date as built_as_of_date,
        build.built_through_batch,
        build.built_through_request,
        build.rebuild_number
    from days
    inner join first_days on first_days.customer_id = days.customer_id
    cross join settings
    cross join build

)

select * from final
