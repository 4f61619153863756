"""What the CLV forecasts cover. Kept apart from `clv` so that declaring the assets (which quote these in
their descriptions) does not import numpy, scipy and pandas when the code location loads."""

TIME_UNIT = "days"
HORIZON_MONTHS = 12
MONTHLY_DISCOUNT_RATE = 0.01
