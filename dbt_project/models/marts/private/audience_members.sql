{#-
  Who the marketing audiences may contact (pipelines/publish/audiences.py): every purchasing customer who
  gave marketing consent and has not asked to be erased (customers leaves them out), with the e-mail the
  CRM holds for them, their RFM segment, health band and predicted CLV. Personal data: a view in the
  private schema, never published to the BI file.
-#}

with customers as (

    select * from {{ ref('customers') }}
    where has_marketing_consent and has_purchased

),

pseudonyms as (

    select * from {{ ref('stg_private__customer_pseudonyms') }}

),

crm_customers as (

    select * from {{ ref('stg_crm__customers') }}

),

final as (

    select
        customers.customer_key,
        crm_customers.email,
        customers.rfm_segment,
        customers.health_band,
        round(customers.predicted_clv_12m, 2) as predicted_clv_12m,
        customers.has_marketing_consent
    from customers
    inner join pseudonyms on pseudonyms.customer_key = customers.customer_key
    inner join crm_customers on crm_customers.customer_id = pseudonyms.customer_id

)

select * from final
