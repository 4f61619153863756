{#-
  The retention formulas, written once: retention_metrics and retention_metrics_by_segment both compute
  their rates with these (README, "Metric definitions"). `counts` is the alias of a relation with the period's
  customer counts (int_customers_counted_by_period's columns); a missing row counts as 0 customers.
    CRR   retention_rate_pct  (CE - CN) / CS * 100, null when CS = 0
    churn churn_rate_pct      churned / CS * 100, null when CS = 0
  A new rate for both marts belongs here too, next to its definition.
-#}

{% macro retention_rate_pct(counts) -%}
    {{ percentage('coalesce(' ~ counts ~ '.customers_at_end, 0) - coalesce(' ~ counts ~ '.new_customers, 0)',
                  counts ~ '.customers_at_start') }}
{%- endmacro %}

{% macro churn_rate_pct(counts) -%}
    {{ percentage(counts ~ '.churned_customers', counts ~ '.customers_at_start') }}
{%- endmacro %}
