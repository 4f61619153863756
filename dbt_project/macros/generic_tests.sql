{#-
  The few generic tests Retentio needs beyond dbt's built-ins. dbt hub packages (dbt_utils,
  dbt_expectations) cannot be fetched where Retentio is built, so these are written here.
-#}

{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
select *
from {{ model }}
where {{ column_name }} is not null
  and (
    1 = 0
    {% if min_value is not none %}
    or {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}
    {% endif %}
    {% if max_value is not none %}
    or {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}
    {% endif %}
  )
{% endtest %}


{% test expression_is_true(model, expression, where_clause=none) %}
select *
from {{ model }}
where not ({{ expression }})
{% if where_clause %}
  and ({{ where_clause }})
{% endif %}
{% endtest %}


{% test unique_combination_of_columns(model, combination_of_columns) %}
select {{ combination_of_columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}


{#- Tests that cost what a run changed, not what the history holds, so a daily run does not rescan ten
    million rows to re-prove what its previous runs proved. On a build from scratch they cover every row:
    the raw layer's new generation is one batch, and every customer history has rebuild number 1. -#}

{#- The repeated `columns` among the rows whose `key` has a row stamped by the latest run (`stamp`: the
    column a run writes its number in, ingestion_batch or rebuild_number). When every row has the same stamp
    (a build from scratch), the rows are grouped as they are, rather than matched first against the list of
    all keys (twice the time at ten million rows). -#}
{% macro repeated_among_latest(model, columns, key, stamp) %}
{%- set columns = columns | join(', ') %}
with stamps as (
    select max({{ stamp }}) as latest, min({{ stamp }}) = max({{ stamp }}) as only_one
    from {{ model }}
),
rows_of_latest_keys as (
    select {{ columns }} from {{ model }}
    where (select only_one from stamps)
    union all
    select {{ columns }} from {{ model }}
    where {{ key }} in (
        select {{ key }} from {{ model }}
        where {{ stamp }} = (select latest from stamps) and not (select only_one from stamps)
    )
)
select {{ columns }}, count(*) as occurrences
from rows_of_latest_keys
group by {{ columns }}
having count(*) > 1
{% endmacro %}


{#- No combination repeats among the rows of the customers the latest build rebuilt (delete+insert
    of the incremental histories replaces all of a customer's rows, or none). -#}
{% test unique_within_rebuilt_customers(model, combination_of_columns) %}
{{ repeated_among_latest(model, combination_of_columns, 'customer_id', 'rebuild_number') }}
{% endtest %}


{#- The key of every row of the latest ingestion batch appears once in the whole table. -#}
{% test unique_where_batch_is_latest(model, column_name, batch_column) %}
{{ repeated_among_latest(model, [column_name], column_name, batch_column) }}
{% endtest %}


{#- When a customer extract was delivered, every row (of the latest ingestion batch, with batch_column)
    names one of its customers. Without one, customers are derived from the orders (int_customers_unioned)
    and an answer may come from someone who never ordered, so there is nothing to check against. Each
    distinct value is looked up once (a million customers, not ten million orders); the failures are the
    rows naming an unknown one. -#}
{% test references_a_crm_customer(model, column_name, batch_column=none) %}
with children as (
    select {{ column_name }} as customer_id
    from {{ model }}
    where {{ column_name }} is not null
      {% if batch_column %}
      and {{ batch_column }} = (select max({{ batch_column }}) from {{ model }})
      {% endif %}
),
named as (
    select distinct customer_id from children
),
unknown as (
    select named.customer_id
    from named
    where not exists (
        select 1 from {{ ref('stg_crm__customers') }} as parent where parent.customer_id = named.customer_id
    )
)
select children.customer_id as {{ column_name }}
from children
where exists (select 1 from {{ ref('int_extracts_delivered') }} where has_customers_extract)
  and children.customer_id in (select customer_id from unknown)
{% endtest %}
