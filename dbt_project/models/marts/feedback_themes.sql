{#-
  What customers say: the terms and two-word phrases most typical of detractors (NPS 0-6) and of promoters
  (9-10), overall, per quarter, per RFM segment and per tenure band (pipelines/feedback/themes.py).
-#}

with source as (

    select * from {{ source('feedback', 'feedback_themes') }}

),

final as (

    select
        scope_type,
        scope,
        side,
        rank,
        term,
        z_score,
        log_odds,
        comments_with_term,
        detractor_comments_with_term,
        promoter_comments_with_term,
        detractor_comments_in_scope,
        promoter_comments_in_scope,
        example_1,
        example_2
    from source

)

select * from final
