{#-
  Spark branch: dbt-spark's session method pastes each seed value between quotes without escaping it, so
  the segment "Can't lose them" breaks the insert (and an empty cell becomes the string 'None'). The rows
  are written here as escaped literals instead; every other adapter keeps its own loader.
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_types = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for value in row -%}
                    {%- set column_name = agate_table.column_names[loop.index0] -%}
                    {%- set type = column_types.get(column_name, adapter.convert_type(agate_table, loop.index0)) -%}
                    cast({{ 'null' if value is none else "'" ~ dbt.escape_single_quotes(value | string) ~ "'" }} as {{ type }})
                    {{- ', ' if not loop.last }}
                {%- endfor -%}){{ ',' if not loop.last }}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- do statements.append(sql) -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}
