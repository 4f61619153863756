{#-
  The dimensions of int_customer_dimensions in long form, one row per customer and dimension, so each
  dimension partitions the purchasing customers and its slices add up to the totals.
-#}

with dimensions as (

    select * from {{ ref('int_customer_dimensions') }}

),

final as (

    {% for dimension in ['acquisition_channel', 'country', 'cohort_year', 'rfm_segment'] %}
    select customer_id, '{{ dimension }}' as dimension, {{ dimension }} as segment from dimensions
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from final
