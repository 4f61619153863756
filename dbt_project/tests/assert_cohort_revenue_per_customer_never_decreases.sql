{#- Revenue retention only accumulates: within a cohort, cumulative revenue per acquired customer never
    falls from one month to the next (customer_cohorts). -#}

with cohort_months as (

    select
        cohort_month,
        activity_month,
        cumulative_revenue,
        lag(cumulative_revenue) over (partition by cohort_month order by activity_month) as previous_cumulative_revenue
    from {{ ref('customer_cohorts') }}

),

final as (

    select *
    from cohort_months
    where cumulative_revenue < previous_cumulative_revenue

)

select * from final
