"""Customer health score: bounds, monotonicity, band thresholds, missing components, one-time buyers."""

from __future__ import annotations

import numpy as np
import pytest

from models.health import (
    COMPONENT_WEIGHTS,
    HEALTH_BANDS,
    expected_interpurchase_time,
    health_band,
    health_score,
)


def _random_inputs(rng, n):
    nan_mask = lambda values, share=0.2: np.where(rng.random(n) < share, np.nan, values)  # noqa: E731
    return dict(
        p_alive=nan_mask(rng.random(n)),
        time_since_last_purchase=nan_mask(rng.exponential(30, n)),
        expected_interpurchase_time=nan_mask(rng.exponential(20, n)),
        latest_order_value=nan_mask(rng.lognormal(3, 1, n)),
        mean_order_value=nan_mask(rng.lognormal(3, 0.5, n)),
        latest_nps=nan_mask(rng.integers(0, 11, n).astype(float), 0.7),
        frequency=rng.integers(0, 5, n),
    )


def test_scores_are_between_0_and_100_and_always_banded():
    rng = np.random.default_rng(0)
    result = health_score(**_random_inputs(rng, 10_000))
    assert np.all(np.isfinite(result.score))
    assert result.score.min() >= 0 and result.score.max() <= 100
    assert set(result.band) <= {name for name, _ in HEALTH_BANDS}
    assert sum(COMPONENT_WEIGHTS.values()) == pytest.approx(1.0)


def test_extremes_reach_0_and_100():
    best = health_score(1.0, 0.0, 10.0, latest_order_value=200.0, mean_order_value=100.0, latest_nps=10)
    worst = health_score(0.0, 1e6, 10.0, latest_order_value=10.0, mean_order_value=100.0, latest_nps=0)
    assert best.score[0] == pytest.approx(100.0) and best.band[0] == "healthy"
    assert worst.score[0] == pytest.approx(0.0, abs=1e-9) and worst.band[0] == "lost"


def test_higher_p_alive_never_lowers_the_score():
    rng = np.random.default_rng(1)
    inputs = _random_inputs(rng, 2000)
    inputs["frequency"] = np.ones(2000)  # repeat buyers: P(alive) counts
    low = health_score(**{**inputs, "p_alive": np.full(2000, 0.2)})
    high = health_score(**{**inputs, "p_alive": np.full(2000, 0.8)})
    assert np.all(high.score > low.score)
    grid = np.linspace(0, 1, 51)
    scores = health_score(grid, 10.0, 10.0, frequency=1).score
    assert np.all(np.diff(scores) >= 0)


def test_longer_silence_never_raises_the_score():
    gaps = np.linspace(0, 200, 101)
    scores = health_score(0.7, gaps, 20.0).score
    assert np.all(np.diff(scores) <= 1e-12)
    # on schedule the recency component is full; each further expected gap halves it
    assert health_score(0.7, [10.0, 20.0, 40.0, 60.0], 20.0).components["recency"].tolist() == [
        1.0,
        1.0,
        0.5,
        0.25,
    ]


def test_band_thresholds():
    assert [name for name, _ in HEALTH_BANDS] == ["healthy", "watch", "at_risk", "lost"]
    scores = np.array([100, 70, 69.999, 50, 49.999, 30, 29.999, 0])
    assert list(health_band(scores)) == [
        "healthy",
        "healthy",
        "watch",
        "watch",
        "at_risk",
        "at_risk",
        "lost",
        "lost",
    ]


def test_documented_examples():
    """The examples in the module docstring."""
    neutral = health_score(np.nan, np.nan, np.nan)
    assert neutral.score[0] == pytest.approx(50.0) and neutral.band[0] == "watch"
    assert neutral.n_missing_components[0] == 4
    on_schedule = health_score(0.6, 10.0, 20.0)
    assert on_schedule.score[0] == pytest.approx(71.0) and on_schedule.band[0] == "healthy"
    one_gap_overdue = health_score(0.6, 40.0, 20.0)
    assert one_gap_overdue.score[0] == pytest.approx(53.5) and one_gap_overdue.band[0] == "watch"
    two_gaps_overdue = health_score(0.3, 60.0, 20.0)
    assert two_gaps_overdue.score[0] == pytest.approx(34.25) and two_gaps_overdue.band[0] == "at_risk"
    gone_but_loves_us = health_score(
        0.0, 1e6, 20.0, latest_order_value=300.0, mean_order_value=100.0, latest_nps=10
    )
    assert gone_but_loves_us.score[0] == pytest.approx(30.0) and gone_but_loves_us.band[0] == "at_risk"
    gone = health_score(0.0, 1e6, 20.0)
    assert gone.score[0] == pytest.approx(15.0) and gone.band[0] == "lost"


def test_missing_nps_and_spend_are_neutral():
    missing = health_score(
        0.7, 10.0, 20.0, latest_order_value=np.nan, mean_order_value=100.0, latest_nps=np.nan
    )
    neutral = health_score(0.7, 10.0, 20.0, latest_order_value=100.0, mean_order_value=100.0, latest_nps=5)
    assert missing.score[0] == pytest.approx(neutral.score[0])
    assert missing.n_missing_components[0] == 2 and neutral.n_missing_components[0] == 0


def test_one_time_buyers_are_scored_on_recency_not_on_p_alive():
    """BG/NBD gives P(alive) = 1 to every customer with x = 0; with frequency given it does not count."""
    recent = health_score(1.0, 5.0, 20.0, frequency=0)
    silent = health_score(1.0, 200.0, 20.0, frequency=0)
    assert recent.band[0] == "healthy"
    assert silent.band[0] == "lost"
    assert health_score(1.0, 200.0, 20.0).band[0] != "lost"  # without frequency P(alive) = 1 would count


def test_expected_interpurchase_time():
    gaps = expected_interpurchase_time([0, 2, 4, 1], [0.0, 30.0, 20.0, 10.0])
    np.testing.assert_allclose(gaps, [10.0, 15.0, 5.0, 10.0])  # x = 0: median of 15, 5, 10
    assert expected_interpurchase_time([0], [0.0], population_gap=7.0)[0] == 7.0
    assert np.isnan(expected_interpurchase_time([0, 0], [0.0, 0.0])).all()
