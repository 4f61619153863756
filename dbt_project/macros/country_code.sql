{#-
  A country as its ISO 3166-1 alpha-2 code, whichever way an extract writes it: 'France', 'FRA', 'fr',
  'Frankreich' and 'Royaume-Uni' are FR, FR, FR, DE and GB; 'United Kingdom', 'UK' and 'EIRE' (the UCI data)
  GB, GB and IE. seeds/country_names.csv holds the ISO names in seven languages and the usual aliases, keyed
  by country_name_key; a name it does not hold stays as delivered, upper-cased. So customers from a CRM
  writing codes and orders writing names land in one country.
-#}
{% macro country_code(column) -%}
    coalesce(
        (select max(country_names.country_code) from {{ ref('country_names') }} as country_names
         where country_names.name_key = {{ country_name_key(column) }}),
        upper(trim({{ column }})))
{%- endmacro %}

{#- Lower case, every run of characters other than a-z and 0-9 one '_' (accented letters included, as the
    seed's keys were made). -#}
{% macro country_name_key(column) -%}
    {{ replace_all('lower(trim(' ~ column ~ '))', '[^a-z0-9]+', '_') }}
{%- endmacro %}
