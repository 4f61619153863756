{#- In retention_drivers, every dimension's parts add up to the total change. Rows returned fail. -#}

with parts as (

    select metric, dimension, sum(change) as change
    from {{ ref('retention_drivers') }}
    where dimension <> 'total'
    group by metric, dimension

)

select parts.*, totals.change as total_change
from parts
inner join {{ ref('retention_drivers') }} as totals
    on totals.metric = parts.metric and totals.dimension = 'total'
where abs(parts.change - totals.change) > 1e-6 * greatest(1, abs(totals.change))
