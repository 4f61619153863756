{{ config(materialized='view') }}

{#-
  Each purchasing customer's segment along every dimension retention is sliced by, one row per customer:
  acquisition channel, country, acquisition cohort (year and month) and current RFM segment.
-#}

with customers as (

    select * from {{ ref('int_customers_aggregated') }}
    where has_purchased

),

rfm as (

    select customer_id, rfm_segment from {{ ref('int_customers_rfm_scored') }}

),

final as (

    select
        customers.customer_id,
        customers.acquisition_channel,
        coalesce(customers.country_code, 'unknown') as country,
        cast(extract(year from customers.first_purchase_date) as {{ dbt.type_string() }}) as cohort_year,
        cast({{ truncate_date('month', 'customers.first_purchase_date') }} as {{ dbt.type_string() }}) as cohort_month,
        coalesce(rfm.rfm_segment, 'unscored') as rfm_segment
    from customers
    left join rfm on rfm.customer_id = customers.customer_id

)

select * from final
