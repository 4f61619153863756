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

{#- No combination repeats among the rows of the customers the latest build rebuilt (delete+insert
    of the incremental histories replaces all of a customer's rows, or none). -#}
{% test unique_within_rebuilt_customers(model, combination_of_columns) %}
with rebuilt as (
    select distinct customer_id from {{ model }}
    where rebuild_number = (select max(rebuild_number) from {{ model }})
)
select {{ combination_of_columns | join(', ') }}, count(*) as occurrences
from {{ model }}
where customer_id in (select customer_id from rebuilt)
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}


{#- The key of every row of the latest ingestion batch appears once in the whole table. -#}
{% test unique_where_batch_is_latest(model, column_name, batch_column) %}
select {{ column_name }}, count(*) as occurrences
from {{ model }}
where {{ column_name }} in (
    select {{ column_name }} from {{ model }}
    where {{ batch_column }} = (select max({{ batch_column }}) from {{ model }})
)
group by {{ column_name }}
having count(*) > 1
{% endtest %}


{#- When a customer extract was delivered, every row (of the latest ingestion batch, with batch_column)
    names one of its customers. Without one, customers are derived from the orders (int_customers_unioned)
    and an answer may come from someone who never ordered, so there is nothing to check against. -#}
{% test references_a_crm_customer(model, column_name, batch_column=none) %}
select child.{{ column_name }}
from {{ model }} as child
where exists (select 1 from {{ ref('int_extracts_delivered') }} where has_customers_extract)
  {% if batch_column %}
  and child.{{ batch_column }} = (select max({{ batch_column }}) from {{ model }})
  {% endif %}
  and child.{{ column_name }} is not null
  and not exists (
      select 1 from {{ ref('stg_crm__customers') }} as parent where parent.customer_id = child.{{ column_name }}
  )
{% endtest %}
