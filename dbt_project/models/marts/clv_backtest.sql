{#- The back-test of every run: the model fitted without the last H days, scored on them, beside the naive forecast,
   with the calibration of the model's 80 % purchase intervals (share_* columns). -#}

select * from {{ ref('stg_predictions__clv_backtest') }}
