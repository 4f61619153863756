{#-
  One row: which optional extracts the business delivered (at least one landing file loaded, even one
  with no data rows). A metric that needs an extract nobody sent is unknown, so it is null, never 0:
  CAC and cost per conversion without a marketing spend extract, NPS without survey answers.
-#}

with ingested_files as (

    select * from {{ ref('stg_ingestion__ingested_files') }}
    where file_status = 'loaded'

),

final as (

    select
        coalesce({{ count_where("extract_name = 'customers'") }}, 0) > 0 as has_customers_extract,
        coalesce({{ count_where("extract_name = 'survey_responses'") }}, 0) > 0 as has_survey_extract,
        coalesce({{ count_where("extract_name = 'marketing_spend'") }}, 0) > 0 as has_marketing_spend_extract
    from ingested_files

)

select * from final
