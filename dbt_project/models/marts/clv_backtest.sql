{#- The back-test of every run: the model fitted without the last H days, scored on them, beside the naive forecast. -#}

select * from {{ ref('stg_predictions__clv_backtest') }}
