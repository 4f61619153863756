"""The simulation: what a chunk of customers really did, as numpy arrays (the CRM's view is in `tables`).

Purchases follow the BG/NBD story (Fader, Hardie & Lee 2005): after a first purchase on (or just after)
signup, each customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha) per day and, after
every repeat purchase, drops out for good with probability p ~ Beta(a, b) (as in BG/NBD, nobody drops out
at the first purchase: that is what makes P(alive) = 1 for a customer with no repeat purchase). Order values
follow the Gamma-Gamma story. Everything is truncated at the end of the end date.

No loop runs per customer or per order. The purchases inside a customer's window [0, W] are drawn
exactly without simulating the ones after dropout: K ~ Poisson(lambda W) events fall in the window,
the customer drops out after the D-th repeat purchase, D ~ Geometric(p) >= 1, so min(K, D) repeat
purchases are seen.
Their times are the first order statistics of K uniforms on [0, W], which are partial sums of
exponential spacings divided by the sum of all K + 1 of them; the unseen tail of that sum is a single
Gamma(K - m + 1) draw per customer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from pipelines.sample_data import parameters as story
from pipelines.sample_data.acquisition import AcquisitionCalendar

SECONDS_PER_DAY = 86_400
COMPLETED, REFUNDED, CANCELLED = 0, 1, 2
CHANNELS = tuple(story.CHANNEL_SHARES)
COUNTRIES = tuple(story.COUNTRY_SHARES)


@dataclass(frozen=True)
class SimulatedChunk:
    # One entry per customer, in customer-number (signup) order.
    customer_numbers: np.ndarray
    signup_days: np.ndarray              # days since 1970-01-01
    signup_months: np.ndarray            # index into the acquisition calendar
    channels: np.ndarray                 # index into CHANNELS
    countries: np.ndarray                # index into COUNTRIES
    is_lead: np.ndarray
    purchase_rates: np.ndarray           # lambda, per day
    dropout_probabilities: np.ndarray    # p
    spend_rates: np.ndarray              # nu of the Gamma-Gamma model
    first_order_seconds: np.ndarray      # seconds since epoch; meaningless for leads
    first_completed_seconds: np.ndarray  # -1 when the customer has no completed order
    is_alive_at_end: np.ndarray
    dropout_seconds: np.ndarray          # time of the last purchase of those who dropped out, else -1
    # One entry per order, sorted by time.
    order_customers: np.ndarray          # index into this chunk's customers
    order_seconds: np.ndarray
    order_cents: np.ndarray
    order_statuses: np.ndarray           # COMPLETED | REFUNDED | CANCELLED
    # One entry per survey response, sorted by time.
    response_customers: np.ndarray
    response_seconds: np.ndarray
    nps_scores: np.ndarray

    @property
    def mean_order_values(self) -> np.ndarray:
        return story.ORDER_VALUE.p / self.spend_rates


def simulate_chunk(
    customer_numbers: np.ndarray, calendar: AcquisitionCalendar, rng: np.random.Generator
) -> SimulatedChunk:
    n = len(customer_numbers)
    process, value = story.PURCHASES, story.ORDER_VALUE
    horizon = (calendar.end_day + 1) * SECONDS_PER_DAY  # exclusive: the end of the end date

    months = calendar.month_of(customer_numbers)
    # Months are disjoint day ranges, so sorting the days keeps each customer in its month.
    day_in_month = (rng.random(n) * calendar.open_days[months]).astype(np.int64)
    signup_days = np.sort(calendar.first_days[months] + day_in_month)
    channels = rng.choice(len(CHANNELS), size=n, p=list(story.CHANNEL_SHARES.values()))
    countries = rng.choice(len(COUNTRIES), size=n, p=_normalised(story.COUNTRY_SHARES.values()))
    is_lead = rng.random(n) < story.LEAD_SHARE

    purchase_rates = rng.gamma(process.r, 1 / process.alpha, size=n)
    dropout_probabilities = np.clip(rng.beta(process.a, process.b, size=n), 1e-12, 1.0)
    spend_rates = rng.gamma(value.q, 1 / value.gamma, size=n)

    delays = np.where(rng.random(n) < story.FIRST_ORDER_SAME_DAY_SHARE, 0,
                      rng.integers(1, story.FIRST_ORDER_MAX_DELAY_DAYS + 1, size=n))
    first_days = np.minimum(signup_days + delays, calendar.end_day)
    first_order_seconds = first_days * SECONDS_PER_DAY + rng.integers(0, SECONDS_PER_DAY, size=n)
    window_seconds = horizon - first_order_seconds

    events_in_window = rng.poisson(purchase_rates * window_seconds / SECONDS_PER_DAY)
    purchases_before_dropout = rng.geometric(dropout_probabilities)  # repeat purchases, the last one included
    repeats = np.where(is_lead, 0, np.minimum(events_in_window, purchases_before_dropout))
    is_alive_at_end = ~is_lead & (purchases_before_dropout > events_in_window)

    repeat_customers, repeat_fractions = _repeat_purchase_fractions(repeats, events_in_window, rng)
    repeat_seconds = np.minimum(
        first_order_seconds[repeat_customers]
        + np.floor(repeat_fractions * window_seconds[repeat_customers]).astype(np.int64),
        horizon - 1,
    )
    last_seconds = first_order_seconds.copy()
    if len(repeat_seconds):
        last_seconds[repeats > 0] = repeat_seconds[np.cumsum(repeats)[repeats > 0] - 1]
    dropped_out = ~is_lead & ~is_alive_at_end
    dropout_seconds = np.where(dropped_out, last_seconds, -1)

    buyers = np.flatnonzero(~is_lead)
    order_customers = np.concatenate([buyers, repeat_customers])
    order_seconds = np.concatenate([first_order_seconds[buyers], repeat_seconds])
    by_time = np.lexsort((order_customers, order_seconds))
    order_customers, order_seconds = order_customers[by_time], order_seconds[by_time]
    order_values = rng.gamma(value.p, 1 / spend_rates[order_customers])
    order_cents = np.maximum(np.rint(order_values * 100), 1).astype(np.int64)
    draw = rng.random(len(order_customers))
    order_statuses = np.select(
        [draw < story.REFUNDED_SHARE, draw < story.REFUNDED_SHARE + story.CANCELLED_SHARE],
        [REFUNDED, CANCELLED], COMPLETED,
    )
    first_completed_seconds = np.full(n, -1, dtype=np.int64)
    completed = order_statuses == COMPLETED
    customers_with_completed, first_position = np.unique(order_customers[completed], return_index=True)
    first_completed_seconds[customers_with_completed] = order_seconds[completed][first_position]

    response_customers, response_seconds, nps_scores = _survey_responses(
        is_lead, dropout_probabilities, first_order_seconds, is_alive_at_end, last_seconds, horizon, rng
    )
    return SimulatedChunk(
        customer_numbers=customer_numbers, signup_days=signup_days, signup_months=months,
        channels=channels, countries=countries, is_lead=is_lead, purchase_rates=purchase_rates,
        dropout_probabilities=dropout_probabilities, spend_rates=spend_rates,
        first_order_seconds=first_order_seconds, first_completed_seconds=first_completed_seconds,
        is_alive_at_end=is_alive_at_end, dropout_seconds=dropout_seconds,
        order_customers=order_customers, order_seconds=order_seconds, order_cents=order_cents,
        order_statuses=order_statuses, response_customers=response_customers,
        response_seconds=response_seconds, nps_scores=nps_scores,
    )


def _repeat_purchase_fractions(
    repeats: np.ndarray, events_in_window: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """For each repeat purchase: its customer, and its time as a fraction of that customer's window.

    The first m of K sorted uniforms are S_j / (S_m + G), S the partial sums of m exponential spacings
    and G ~ Gamma(K - m + 1) the rest of the K + 1 spacings.
    """
    customers = np.repeat(np.arange(len(repeats)), repeats)
    partial_sums = np.cumsum(rng.standard_exponential(int(repeats.sum())))
    segment_ends = np.cumsum(repeats)
    sum_before = np.concatenate([[0.0], partial_sums])[segment_ends - repeats]
    within = partial_sums - sum_before[customers]
    segment_totals = np.concatenate([[0.0], partial_sums])[segment_ends] - sum_before
    unseen = rng.gamma(events_in_window - repeats + 1.0)
    return customers, within / (segment_totals + unseen)[customers]


def _survey_responses(
    is_lead: np.ndarray,
    dropout_probabilities: np.ndarray,
    first_order_seconds: np.ndarray,
    is_alive_at_end: np.ndarray,
    last_seconds: np.ndarray,
    horizon: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(is_lead)
    answers = np.where(~is_lead & (rng.random(n) < story.SURVEY_SHARE),
                       1 + (rng.random(n) < story.SECOND_RESPONSE_SHARE), 0)
    customers = np.repeat(np.arange(n), answers)

    # Answers come while the customer is active, or up to a month after their last purchase.
    active_until = np.where(is_alive_at_end, horizon, last_seconds)
    survey_until = np.minimum(active_until + story.SURVEY_DAYS_AFTER_LAST_ACTIVITY * SECONDS_PER_DAY, horizon)
    span = survey_until - first_order_seconds
    offsets = np.floor(rng.random(len(customers)) * span[customers]).astype(np.int64)
    seconds = first_order_seconds[customers] + offsets

    # Loyalty: where p sits in its Beta prior, mapped to a standard normal (low p, high loyalty).
    process = story.PURCHASES
    loyalty = np.clip(special.ndtri(special.betaincc(process.a, process.b, dropout_probabilities)), -3, 3)
    # Time stayed: customers still active count as having stayed at least a year.
    stayed_days = (active_until - first_order_seconds) / SECONDS_PER_DAY
    stayed_days = np.where(is_alive_at_end, np.maximum(stayed_days, 365), stayed_days)
    stay = np.clip((np.log1p(stayed_days) - 5.0) / 1.2, -2.5, 2.5)
    satisfaction = (story.NPS_LOYALTY_WEIGHT * loyalty[customers] + story.NPS_STAY_WEIGHT * stay[customers]
                    + story.NPS_NOISE_SD * rng.standard_normal(len(customers)))
    scores = np.clip(np.floor(story.NPS_CENTRE + story.NPS_SPREAD * satisfaction), 0, 10).astype(np.int16)

    by_time = np.lexsort((customers, seconds))
    return customers[by_time], seconds[by_time], scores[by_time]


def _normalised(shares) -> np.ndarray:
    values = np.array(list(shares), dtype=float)
    return values / values.sum()
