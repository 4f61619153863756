{#-
  The customer histories (int_customer_purchase_days and the models built from it) are incremental on
  DuckDB: a run rebuilds the rows of the customers whose purchases changed (new orders, the as-of date
  moving forward, days a backfill asks for) and keeps everyone else's. Dagster decides when they must be
  rebuilt from scratch instead (pipelines/transform/incremental.py). On Spark (parquet tables, no
  delete+insert) they are plain tables, rebuilt every run.
-#}

{% macro history_materialization() -%}
    {{ return('incremental' if target.type == 'duckdb' else 'table') }}
{%- endmacro %}

{#- The customers whose rows in int_customer_purchase_days a model built from it must rebuild: those the
    latest purchase-days builds rebuilt since this model's own last build; everyone, should this model
    have seen builds purchase-days no longer has (it was rebuilt from scratch without this one). -#}
{% macro customers_rebuilt_since_last_build(purchase_days) -%}
    select distinct customer_id
    from {{ purchase_days }}
    where rebuild_number > (select coalesce(max(rebuild_number), 0) from {{ this }})
       or (select max(rebuild_number) from {{ this }}) > (select max(rebuild_number) from {{ purchase_days }})
{%- endmacro %}
