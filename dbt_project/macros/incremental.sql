{#-
  The customer histories (int_purchases_summed_by_customer_day and the models built from it) are incremental
  on DuckDB: a run rebuilds the rows of the customers whose purchases changed (new orders, the as-of date
  moving forward, days a backfill asks for) and keeps everyone else's. Dagster decides when they must be
  rebuilt from scratch instead (pipelines/transform/incremental.py). On Spark (parquet tables, no
  delete+insert) they are plain tables, rebuilt every run.
-#}

{% macro history_materialization() -%}
    {{ return('incremental' if target.type == 'duckdb' else 'table') }}
{%- endmacro %}

{#- A filter on int_purchases_summed_by_customer_day for the rows a model built from it must rebuild: those
    of the customers purchase days rebuilt since this model's own last build (every row of a rebuilt
    customer carries the new rebuild_number); all rows, should this model have seen builds purchase days no
    longer has (it was rebuilt from scratch without this one). One comparison with a one-row subquery, so
    DuckDB skips the row groups of the customers nothing happened to. -#}
{% macro rebuilt_since_last_build(purchase_days) -%}
    rebuild_number > (
        select case when max(this_model.rebuild_number) > (select max(rebuild_number) from {{ purchase_days }})
                    then 0 else coalesce(max(this_model.rebuild_number), 0) end
        from {{ this }} as this_model
    )
{%- endmacro %}
