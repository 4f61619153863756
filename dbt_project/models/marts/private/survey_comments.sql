{#-
  The survey comments the feedback themes are found in (pipelines/feedback): every non-empty comment
  answered on or before the as-of date, by a customer who has not asked to be erased, under the customer's
  pseudonymous key, with the customer's RFM segment, tenure and purchases to group them by. An anonymous
  answer's comment counts too, with no key and nothing to group it by.
-#}

with responses as (

    select * from {{ ref('stg_survey__survey_responses') }}
    where comment is not null

),

settings as (

    select * from {{ ref('int_run_settings') }}

),

customers as (

    select * from {{ ref('int_customers_aggregated') }}

),

pseudonyms as (

    select * from {{ ref('stg_private__customer_pseudonyms') }}

),

rfm as (

    select * from {{ ref('int_customers_rfm_scored') }}

),

final as (

    select
        responses.response_id,
        pseudonyms.customer_key,
        responses.nps_score,
        responses.comment,
        responses.response_date,
        rfm.rfm_segment,
        customers.tenure_days,
        customers.purchases
    from responses
    cross join settings
    left join customers on customers.customer_id = responses.customer_id
    left join pseudonyms on pseudonyms.customer_id = responses.customer_id
    left join rfm on rfm.customer_id = responses.customer_id
    where responses.response_date <= settings.as_of_date
        and (
            responses.customer_id is null
            or (customers.customer_id is not null and pseudonyms.customer_id is not null and not customers.is_erased)
        )

)

select * from final
