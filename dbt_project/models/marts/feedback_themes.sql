{#-
  What customers say: the terms and two-word phrases most typical of detractors (NPS 0-6) and of promoters
  (9-10), overall, per quarter, per RFM segment and per tenure band (pipelines/feedback/themes.py).
-#}

with source as (

    select * from {{ source('feedback', 'feedback_themes') }}

),

final as (

    select
        {#- Typed here, as the contract says: without comments the source's columns have no type. -#}
        {%- set text_type = dbt.type_string() %}
        cast(scope_type as {{ text_type }}) as scope_type,
        cast(scope as {{ text_type }}) as scope,
        cast(side as {{ text_type }}) as side,
        cast(rank as bigint) as rank,
        cast(term as {{ text_type }}) as term,
        cast(z_score as double) as z_score,
        cast(log_odds as double) as log_odds,
        cast(comments_with_term as bigint) as comments_with_term,
        cast(detractor_comments_with_term as bigint) as detractor_comments_with_term,
        cast(promoter_comments_with_term as bigint) as promoter_comments_with_term,
        cast(detractor_comments_in_scope as bigint) as detractor_comments_in_scope,
        cast(promoter_comments_in_scope as bigint) as promoter_comments_in_scope,
        cast(example_1 as {{ text_type }}) as example_1,
        cast(example_2 as {{ text_type }}) as example_2
    from source

)

select * from final
