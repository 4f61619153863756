{#-
  RFM as of the as-of date, for customers with at least one purchase:
  recency = days since last purchase, frequency = purchases, monetary = revenue.

  Scores are quintiles, 5 = best, computed against cut-offs (the values at the 20/40/60/80 % positions)
  rather than a window over the whole table, so the work spreads over partitions on any engine and ties
  are deterministic: equal values always get the same score, and a value equal to a cut-off gets the
  lower score. Higher frequency or monetary is better; lower recency is better.
-#}

with customers as (

    select * from {{ ref('int_customers_aggregated') }}
    where has_purchased

),

segment_map as (

    select * from {{ ref('rfm_segment_map') }}

),

cut_offs as (

    select
        {% for fraction in [0.2, 0.4, 0.6, 0.8] %}
        {{ percentile_value('days_since_last_purchase', fraction) }} as recency_p{{ (fraction * 100) | int }},
        {{ percentile_value('purchases', fraction) }} as frequency_p{{ (fraction * 100) | int }},
        {{ percentile_value('revenue', fraction) }} as monetary_p{{ (fraction * 100) | int }}{{ ',' if not loop.last }}
        {% endfor %}
    from customers

),

scored as (

    select
        customers.customer_id,
        customers.days_since_last_purchase as recency_days,
        customers.purchases as frequency,
        customers.revenue as monetary,
        1
        {% for p in [20, 40, 60, 80] %}
            + case when customers.days_since_last_purchase < cut_offs.recency_p{{ p }} then 1 else 0 end
        {% endfor %} as recency_score,
        1
        {% for p in [20, 40, 60, 80] %}
            + case when customers.purchases > cut_offs.frequency_p{{ p }} then 1 else 0 end
        {% endfor %} as frequency_score,
        1
        {% for p in [20, 40, 60, 80] %}
            + case when customers.revenue > cut_offs.monetary_p{{ p }} then 1 else 0 end
        {% endfor %} as monetary_score
    from customers
    cross join cut_offs

),

final as (

    select
        scored.*,
        {#- dbt.type_string(), not varchar: Spark's varchar needs a length -#}
        {%- set text_type = dbt.type_string() %}
        {{ dbt.concat(["cast(scored.recency_score as " ~ text_type ~ ")",
                       "cast(scored.frequency_score as " ~ text_type ~ ")",
                       "cast(scored.monetary_score as " ~ text_type ~ ")"]) }} as rfm_code,
        segment_map.rfm_segment
    from scored
    inner join segment_map
        on segment_map.recency_score = scored.recency_score
        and segment_map.frequency_score = scored.frequency_score

)

select * from final
