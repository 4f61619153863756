{#-
  The extracts the ingestion delivers, in the order of the contract (pipelines/ingestion/contracts.py,
  `EXTRACTS`). Each one has three sources in models/staging/_sources.yml: its raw table, its quarantine
  (`ingestion.<extract>_quarantine`) and its file ledger (`ingestion.<extract>_files`); the ingestion
  staging models union the last two over this list. tests/ingestion/test_contract.py fails
  when this list, the sources and the contract disagree.
-#}

{% macro extract_names() -%}
    {{ return(['customers', 'orders', 'survey_responses', 'marketing_spend']) }}
{%- endmacro %}
