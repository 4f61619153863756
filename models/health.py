"""Customer health score, 0-100, and churn-risk bands healthy / watch / at_risk / lost.

The score is 100 x a weighted mean of four components, each in [0, 1]:

- alive, weight 0.35: BG/NBD P(alive | x, t_x, T).
- recency, weight 0.35: 2^-(max(0, gap / expected_gap - 1)). 1 while the time since the last purchase is
  within the customer's own expected inter-purchase time, halving with every further expected gap of silence.
- spend, weight 0.15: clip(0.5 + 0.5 log2(latest order value / customer's mean order value), 0, 1). 0.5 when
  the latest basket is the usual one, 1 when it is twice the mean, 0 at half.
- nps, weight 0.15: latest NPS answer / 10.

Why these weights: P(alive) and recency are measured for every customer and are what the back-test
validates, so they carry 70%. Spend trend is noisy (one basket) and NPS is answered by a minority, so they
adjust the score by at most 15 points each.

Missing values: one rule, a missing component scores 0.5 (neutral): no survey answer, no second order to
compare, no model output are not evidence either way. One exception: BG/NBD's P(alive) is 1 by construction
for a customer with no repeat purchase (dropout can only follow a repeat purchase), so it says nothing; when
``frequency`` is given, those customers' alive weight moves to recency and their score rests on how long they
have been silent compared with the usual gap (``expected_interpurchase_time`` supplies the population's for
them).

Bands and why:
- healthy  >= 70: needs good behaviour, e.g. P(alive) >= 0.6 and on schedule with neutral spend and NPS;
- watch    50-70: a customer we know nothing about (every component neutral) scores exactly 50, the top of
  "not yet a concern"; one expected gap overdue with P(alive) 0.6 lands here (54);
- at_risk  30-50: behaviour is fading (e.g. two gaps overdue, P(alive) 0.3: 34); a customer whose behaviour
  is gone but whose NPS and spend are perfect scores at most 30, still at_risk: a candidate for win-back;
- lost      < 30: behaviour gone without a positive signal to offset it (P(alive) ~ 0 and long silent with
  neutral spend and NPS: ~15).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

COMPONENT_WEIGHTS: dict[str, float] = {"alive": 0.35, "recency": 0.35, "spend": 0.15, "nps": 0.15}
NEUTRAL = 0.5
# (band, lowest score in the band), from the best band down.
HEALTH_BANDS: tuple[tuple[str, float], ...] = (
    ("healthy", 70.0),
    ("watch", 50.0),
    ("at_risk", 30.0),
    ("lost", 0.0),
)


@dataclass(frozen=True)
class HealthScores:
    score: np.ndarray  # 0-100
    band: np.ndarray  # "healthy" | "watch" | "at_risk" | "lost"
    components: dict[str, np.ndarray] = field(repr=False)  # each in [0, 1], after the neutral fill
    n_missing_components: np.ndarray = field(repr=False)


def expected_interpurchase_time(frequency, recency, population_gap: float | None = None) -> np.ndarray:
    """The customer's own mean gap between purchases, t_x / x, for repeat buyers; ``population_gap`` for
    the others (default: the median of t_x / x over repeat buyers; NaN if there is none). Same time unit as
    ``recency``."""
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    own = np.divide(t_x, x, out=np.full(np.broadcast(x, t_x).shape, np.nan), where=(x > 0) & (t_x > 0))
    if population_gap is None:
        repeat_gaps = own[np.isfinite(own)]
        population_gap = float(np.median(repeat_gaps)) if repeat_gaps.size else float("nan")
    return np.where(np.isfinite(own), own, population_gap)


def health_band(score) -> np.ndarray:
    """Band label for each 0-100 score: the best band whose lowest score it reaches (HEALTH_BANDS)."""
    s = np.asarray(score, dtype=float)
    band = np.full(s.shape, HEALTH_BANDS[-1][0], dtype=object)
    for name, lowest in reversed(HEALTH_BANDS[:-1]):
        band[s >= lowest] = name
    return band


def _component(values, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    return np.broadcast_to(np.asarray(values, dtype=float), (n,)).astype(float)


def health_score(
    p_alive,
    time_since_last_purchase,
    expected_interpurchase_time,
    *,
    latest_order_value=None,
    mean_order_value=None,
    latest_nps=None,
    frequency=None,
) -> HealthScores:
    """Vectorised health score (module docstring). All inputs are per-customer arrays (or scalars);
    NaN or None marks a missing value. ``time_since_last_purchase`` (T - t_x) and
    ``expected_interpurchase_time`` in the same unit; NPS on 0-10."""
    given = [
        p_alive,
        time_since_last_purchase,
        expected_interpurchase_time,
        latest_order_value,
        mean_order_value,
        latest_nps,
        frequency,
    ]
    n = np.broadcast(*(np.asarray(v, dtype=float) for v in given if v is not None)).size
    alive = np.clip(_component(p_alive, n), 0.0, 1.0)

    gap = _component(time_since_last_purchase, n)
    expected_gap = _component(expected_interpurchase_time, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        overdue = np.where(expected_gap > 0, gap / expected_gap - 1.0, np.nan)
    recency = np.where(np.isfinite(overdue), np.exp2(-np.maximum(overdue, 0.0)), np.nan)

    latest = _component(latest_order_value, n)
    mean = _component(mean_order_value, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((mean > 0) & (latest > 0), latest / mean, np.nan)
    spend = np.clip(0.5 + 0.5 * np.log2(ratio), 0.0, 1.0)

    nps = np.clip(_component(latest_nps, n) / 10.0, 0.0, 1.0)

    raw = {"alive": alive, "recency": recency, "spend": spend, "nps": nps}
    missing = sum(np.isnan(v).astype(int) for v in raw.values())
    components = {name: np.where(np.isnan(v), NEUTRAL, v) for name, v in raw.items()}

    weight_alive = np.full(n, COMPONENT_WEIGHTS["alive"])
    weight_recency = np.full(n, COMPONENT_WEIGHTS["recency"])
    if frequency is not None:
        one_time = _component(frequency, n) == 0
        weight_recency = np.where(one_time, weight_recency + weight_alive, weight_recency)
        weight_alive = np.where(one_time, 0.0, weight_alive)
    score = 100.0 * (
        weight_alive * components["alive"]
        + weight_recency * components["recency"]
        + COMPONENT_WEIGHTS["spend"] * components["spend"]
        + COMPONENT_WEIGHTS["nps"] * components["nps"]
    )
    return HealthScores(
        score=score, band=health_band(score), components=components, n_missing_components=missing
    )
