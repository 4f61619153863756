{#-
  Every source is Parquet (models/staging/_sources.yml, `external_location`): a file, or a raw extract's parts. dbt-duckdb reads it
  through that setting; dbt-spark ignores it, so on Spark `source()` resolves to the same file, read
  directly as parquet.`<path>`. No catalogue table has to be registered first: the file is listed when a
  query reads it, and a file that is absent fails only the models that read it, as on DuckDB (the
  predictions and feedback files do not exist before their assets first run).
-#}

{% macro source(source_name, table_name) -%}
    {{ return(adapter.dispatch('source_relation')(builtins.source(source_name, table_name), source_name, table_name)) }}
{%- endmacro %}

{% macro default__source_relation(relation, source_name, table_name) -%}
    {{ return(relation) }}
{%- endmacro %}

{#- Spark branch: dbt-spark has no external sources. -#}
{% macro spark__source_relation(relation, source_name, table_name) -%}
    {%- if not execute -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', source_name)
                   | selectattr('name', 'equalto', table_name) | first -%}
    {%- set location = node.config.get('external_location') or '' -%}
    {%- set match = modules.re.fullmatch("\s*read_parquet\('([^']+)'\)\s*", location) -%}
    {%- if not match -%}
        {{ exceptions.raise_compiler_error("source " ~ source_name ~ "." ~ table_name
            ~ ": expected external_location read_parquet('<path>'), got " ~ location) }}
    {%- endif -%}
    {#- A raw extract's parts (<dir>/_batch=*/*.parquet): Spark reads the directory and finds _batch itself. -#}
    {%- set path = modules.re.sub("/_batch=\*/\*\.parquet$", "", match.group(1)) -%}
    {{ return(api.Relation.create(schema='parquet', identifier=path,
                                  quote_policy={'schema': false, 'identifier': true})) }}
{%- endmacro %}
