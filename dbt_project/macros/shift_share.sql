{#-
  Shift-share of one metric over the segments of `with_totals` (retention_drivers): value = size x rate in
  both periods; mix = change in size at the average rate, rate = change in rate at the average size, so
  mix + rate = change exactly. A segment absent (size 0) in one of the periods is all mix.
-#}
{% macro shift_share(metric, size_before, size_after, value_before, value_after) %}
    select
        dimension,
        segment,
        '{{ metric }}' as metric,
        {{ value_before }} as previous_value,
        {{ value_after }} as current_value,
        {{ value_after }} - ({{ value_before }}) as change,
        case
            when ({{ size_before }}) = 0 or ({{ size_after }}) = 0 then {{ value_after }} - ({{ value_before }})
            else (({{ size_after }}) - ({{ size_before }}))
                 * ({{ safe_divide(value_before, size_before) }} + {{ safe_divide(value_after, size_after) }}) / 2
        end as mix_effect,
        case
            when ({{ size_before }}) = 0 or ({{ size_after }}) = 0 then 0
            else ({{ safe_divide(value_after, size_after) }} - {{ safe_divide(value_before, size_before) }})
                 * (({{ size_before }}) + ({{ size_after }})) / 2.0
        end as rate_effect
    from with_totals
{% endmacro %}
