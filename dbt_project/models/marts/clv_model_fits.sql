{#- The fitted CLV model parameters, published so analysts can audit what the predictions rest on. -#}

select * from {{ ref('stg_predictions__clv_model_fits') }}
