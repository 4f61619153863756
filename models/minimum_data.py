"""The least data a BG/NBD or Gamma-Gamma fit is published from, and the reason in words when it is short.

The thresholds come from ``benchmarks/minimum_history.py``: 4,320 shops of 10 to 2,000 customers with 6 months,
1 year or 3 years of history were simulated from four kinds of BG/NBD and Gamma-Gamma parameters (the sample
generator's, CDNOW's, slow buyers, steady buyers who do not differ), fitted as the pipeline fits them, and each
shop's forecasts compared with those the true parameters give (the best any fit can do). What the error
follows is the number of customers who came back (repeat buyers); the criterion is that 9 shops in 10 are
within 30 % of the true parameters' forecast (``benchmarks/README.md``, "Minimum data for a fit"):

- BG/NBD, the shop's expected purchases over the next 12 months: 90th percentile of the error 36 % with 30-49
  repeat buyers, 28 % with 50-99 (median 10 %), 24 % with 100-199: at least 50;
- Gamma-Gamma, the expected order value of a new customer (the population mean): 45 % with 5-9 repeat buyers,
  29 % with 10-19 (median 9 %), 24 % with 20-29: at least 10.

Shop size and history length matter through the repeat buyers they bring; a history shorter than the 12-month
horizon is less informative for purchases (with 50-99 repeat buyers the 90th percentile is 40 % on 6 months of
history, 25 % on a year, 15 % on three years), which the published 80 % intervals show as wider intervals.
"""

from __future__ import annotations

import numpy as np

# BG/NBD separates purchase rates from drop-out only through customers who came back.
MIN_REPEAT_BUYERS_BGNBD = 50
# Gamma-Gamma's spend comes from the repeat purchases only (the first is excluded).
MIN_REPEAT_BUYERS_GAMMA_GAMMA = 10


def _count(mask: np.ndarray, weights: np.ndarray | None) -> int:
    return int(round(float(mask.sum() if weights is None else np.sum(weights[mask]))))


def purchase_data_shortfall(frequency, recency, T, weights=None) -> str | None:
    """Why these histories are too few for a BG/NBD fit, or None when they are enough.

    ``frequency`` x (repeat purchase days), ``recency`` t_x and ``T`` per customer (``weights``: customers per
    row). The data must already be valid (finite, non-negative): ``models.bgnbd.check_histories`` says
    what is wrong otherwise.
    """
    x = np.asarray(frequency, dtype=float).ravel()
    age = np.asarray(T, dtype=float).ravel()
    w = None if weights is None else np.asarray(weights, dtype=float).ravel()
    customers = _count(np.ones(x.size, dtype=bool), w)
    if customers == 0:
        return "BG/NBD needs customers: nobody has purchased yet"
    if np.all(age == 0):
        return (
            f"all purchases of the {customers:,} customers are on one day, the as-of date: BG/NBD needs time "
            "between purchases"
        )
    repeat_buyers = _count(x > 0, w)
    if repeat_buyers < MIN_REPEAT_BUYERS_BGNBD:
        return (
            f"BG/NBD needs repeat purchases: {repeat_buyers:,} of {customers:,} customers bought on two or more "
            f"days, at least {MIN_REPEAT_BUYERS_BGNBD} are needed for stable predictions"
        )
    if not np.any(x > 1):
        # Every likelihood of the family then grows towards "everyone drops out at their first repeat
        # purchase" (p = 1), a boundary without a maximum: drop-out cannot be told from the purchase rate.
        return (
            f"BG/NBD needs customers who bought on three or more days to tell drop-out from the purchase rate: "
            f"none of the {customers:,} customers did ({repeat_buyers:,} bought on two days)"
        )
    return None


def spend_data_shortfall(frequency, monetary_value, weights=None) -> str | None:
    """Why these customers are too few for a Gamma-Gamma fit, or None when they are enough (repeat buyers
    with a positive average repeat-order value m count)."""
    x = np.asarray(frequency, dtype=float).ravel()
    m = np.asarray(monetary_value, dtype=float).ravel()
    w = None if weights is None else np.asarray(weights, dtype=float).ravel()
    customers = _count(np.ones(x.size, dtype=bool), w)
    with np.errstate(invalid="ignore"):
        usable = (x > 0) & np.isfinite(m) & (m > 0)
    repeat_buyers = _count(usable, w)
    if repeat_buyers < MIN_REPEAT_BUYERS_GAMMA_GAMMA:
        return (
            f"Gamma-Gamma needs repeat purchases with a value: {repeat_buyers:,} of {customers:,} customers have "
            f"one, at least {MIN_REPEAT_BUYERS_GAMMA_GAMMA} are needed for a stable expected order value"
        )
    return None
