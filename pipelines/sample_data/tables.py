"""The CRM's view of a simulated chunk: the four extracts and the truth, as typed Arrow tables.

Column names and types come from the ingestion contract. This is also where the CRM's gaps appear
(empty e-mails, names, countries, channels, consents): the simulation knows the truth, the extract
does not. Orders can also be written one row per order line, the way shop systems export them
(`order_lines_table`): the lines of an order add up to its amount to the cent.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.ingestion.contracts import (
    CUSTOMERS,
    MARKETING_SPEND,
    ORDER_STATUSES,
    ORDERS,
    SURVEY_RESPONSES,
    ColumnType,
    Extract,
)
from pipelines.sample_data import comments, people
from pipelines.sample_data import parameters as story
from pipelines.sample_data.acquisition import AcquisitionCalendar
from pipelines.sample_data.behaviour import CHANNELS, COUNTRIES, SECONDS_PER_DAY, SimulatedChunk

ARROW_TYPES = {
    ColumnType.TEXT: pa.string(),
    ColumnType.IDENTIFIER: pa.string(),
    ColumnType.QUANTITY: pa.decimal128(18, 4),
    ColumnType.UNIT_PRICE: pa.decimal128(18, 6),
    ColumnType.DATE: pa.date32(),
    ColumnType.TIMESTAMP: pa.timestamp("us"),
    ColumnType.DECIMAL: pa.decimal128(18, 2),
    ColumnType.INTEGER: pa.int16(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.CURRENCY: pa.string(),
}

CUSTOMER_ID_DIGITS = 7
ORDER_ID_DIGITS = 9
RESPONSE_ID_DIGITS = 8

TRUTH_SCHEMA = pa.schema([
    ("customer_id", pa.string()),
    ("is_lead", pa.bool_()),
    ("acquired_on", pa.date32()),            # first completed order; null if none
    ("first_ordered_on", pa.date32()),       # first order of any status: the start of the BG/NBD clock
    ("purchase_rate_per_day", pa.float64()),  # lambda
    ("dropout_probability", pa.float64()),    # p
    ("dropped_out_on", pa.date32()),         # day of the purchase after which the customer left
    ("is_alive_at_end", pa.bool_()),
    ("mean_order_value", pa.float64()),       # p / nu, EUR
])


# Optional columns the sample leaves out of a file unless asked: the CRM holds the customer's country.
_LEFT_OUT = {"orders": ("country",), "marketing_spend": ("campaign",)}  # optional columns the sample has not
MAX_LINES_PER_ORDER = 6


def arrow_schema(extract: Extract, line_level: bool = False, with_country: bool = False) -> pa.Schema:
    """The columns the sample writes for `extract`: the contract's, in its order."""
    left_out = () if with_country else _LEFT_OUT.get(extract.name, ())
    return pa.schema([(c.name, ARROW_TYPES[c.type]) for c in extract.file_columns(line_level)
                      if c.name not in left_out])


def customer_ids(customer_numbers: np.ndarray) -> pa.Array:
    return prefixed_ids("C-", customer_numbers + 1, CUSTOMER_ID_DIGITS)


def customers_table(chunk: SimulatedChunk, rng: np.random.Generator) -> pa.Table:
    n = len(chunk.customer_numbers)
    full_names, emails = people.names_and_emails(chunk.customer_numbers, rng)
    consent = rng.random(n) < story.CONSENT_SHARE
    return pa.table({
        "customer_id": customer_ids(chunk.customer_numbers),
        "email": _blanked(emails, rng, story.EMPTY_EMAIL_SHARE),
        "full_name": _blanked(full_names, rng, story.EMPTY_NAME_SHARE),
        "signup_date": dates(chunk.signup_days),
        "country": _blanked(pa.array(COUNTRIES).take(chunk.countries), rng, story.EMPTY_COUNTRY_SHARE),
        "acquisition_channel": _blanked(pa.array(CHANNELS).take(chunk.channels), rng,
                                        story.EMPTY_CHANNEL_SHARE),
        "marketing_consent": _blanked(pa.array(consent), rng, story.EMPTY_CONSENT_SHARE),
    }, schema=arrow_schema(CUSTOMERS))


def orders_table(chunk: SimulatedChunk, first_order_number: int, with_country: bool = False) -> pa.Table:
    n = len(chunk.order_customers)
    columns = {
        "order_id": prefixed_ids("O-", first_order_number + np.arange(n), ORDER_ID_DIGITS),
        "customer_id": customer_ids(chunk.customer_numbers).take(chunk.order_customers),
        "ordered_at": timestamps(chunk.order_seconds),
        "amount": decimals_from_cents(chunk.order_cents),
        "currency": pa.array(np.full(n, story.CURRENCY), pa.string()),
        "status": pa.array(ORDER_STATUSES).take(chunk.order_statuses),
        "country": pa.array(COUNTRIES).take(chunk.countries[chunk.order_customers]),
    }
    schema = arrow_schema(ORDERS, with_country=with_country)
    return pa.table({name: columns[name] for name in schema.names}, schema=schema)


def order_lines_table(orders: pa.Table, countries: pa.Array, rng: np.random.Generator) -> pa.Table:
    """The same orders, one row per line, as a shop system exports them.

    Each order gets 1 to MAX_LINES_PER_ORDER lines of 1 to 4 units at a price in cents, the last line one
    unit at what is left, so the lines add up to the order's amount exactly. Like Shopify, the order's
    status and currency are stated on its first line only; like the UCI Online Retail data, every line
    carries the customer, the date and the country.
    """
    n = orders.num_rows
    cents, _ = cents_from_decimals(orders.column("amount"))
    lines_per_order = np.minimum(1 + rng.poisson(1.2, n), MAX_LINES_PER_ORDER)
    order_of_line = np.repeat(np.arange(n), lines_per_order)
    first_line = np.concatenate([[0], np.cumsum(lines_per_order)[:-1]])
    position = np.arange(len(order_of_line)) - first_line[order_of_line]      # 0 for an order's first line
    is_last = position == lines_per_order[order_of_line] - 1
    weights = rng.random(len(order_of_line)) + 0.2
    share = weights / np.bincount(order_of_line, weights)[order_of_line]
    quantities = np.where(is_last, 1, rng.integers(1, 5, len(order_of_line)))
    prices = np.floor(cents[order_of_line] * share / quantities).astype(np.int64)
    # The last line, one unit, takes what the others leave: never less than its own share.
    others = np.bincount(order_of_line, np.where(is_last, 0, quantities * prices), minlength=n).astype(np.int64)
    prices = np.where(is_last, cents[order_of_line] - others[order_of_line], prices)
    take = pa.array(order_of_line)
    on_first_line = pa.array(position != 0)  # mask: null after the first line

    def first_line_only(values: pa.Array) -> pa.Array:
        return pc.if_else(on_first_line, pa.scalar(None, values.type), values.take(take))

    columns = {
        "order_id": orders.column("order_id").combine_chunks().take(take),
        "customer_id": orders.column("customer_id").combine_chunks().take(take),
        "ordered_at": orders.column("ordered_at").combine_chunks().take(take),
        "currency": first_line_only(orders.column("currency").combine_chunks()),
        "status": first_line_only(orders.column("status").combine_chunks()),
        "country": countries.take(take),
        "quantity": _decimals_from_unscaled(quantities * 10**4, 4),     # whole units
        "unit_price": _decimals_from_unscaled(prices * 10**4, 6),       # cents
        "line_id": pc.cast(pa.array(position + 1), pa.string()),
    }
    schema = arrow_schema(ORDERS, line_level=True, with_country=True)
    return pa.table({name: columns[name] for name in schema.names}, schema=schema)


def _decimals_from_unscaled(unscaled: np.ndarray, scale: int) -> pa.Array:
    """decimal128(18, scale) from integers in units of 10^-scale (see decimals_from_cents)."""
    words = np.empty((len(unscaled), 2), dtype=np.int64)
    words[:, 0] = unscaled
    words[:, 1] = unscaled >> 63
    return pa.Array.from_buffers(pa.decimal128(18, scale), len(unscaled), [None, pa.py_buffer(words)])


def survey_responses_table(
    chunk: SimulatedChunk, first_response_number: int, rng: np.random.Generator
) -> pa.Table:
    n = len(chunk.response_customers)
    countries = chunk.countries[chunk.response_customers]
    french_speaking = np.isin(countries, [COUNTRIES.index(c) for c in story.FRENCH_SPEAKING_COUNTRIES])
    # Most French-speaking customers write in French, a few others do too.
    writes_french = rng.random(n) < np.where(french_speaking, 0.85, 0.15)
    language = np.where(writes_french, comments.FRENCH, comments.ENGLISH)
    picked = comments.CATALOGUE.take(comments.pick_comments(chunk.nps_scores, language, rng))
    return pa.table({
        "response_id": prefixed_ids("R-", first_response_number + np.arange(n), RESPONSE_ID_DIGITS),
        "customer_id": customer_ids(chunk.customer_numbers).take(chunk.response_customers),
        "responded_at": timestamps(chunk.response_seconds),
        "nps_score": pa.array(chunk.nps_scores, pa.int16()),
        "comment": _blanked(picked, rng, 1 - story.COMMENT_SHARE),
    }, schema=arrow_schema(SURVEY_RESPONSES))


def marketing_spend_table(
    calendar: AcquisitionCalendar, signups_by_month_and_channel: np.ndarray, rng: np.random.Generator
) -> pa.Table:
    """One row per month and channel: signups (leads included) x the channel's CAC x lognormal noise."""
    months, channel_count = signups_by_month_and_channel.shape
    cac = np.array([story.CHANNEL_CAC_EUR[c] for c in CHANNELS])
    sigma = story.SPEND_NOISE_SIGMA
    noise = rng.lognormal(-sigma**2 / 2, sigma, size=(months, channel_count))  # mean 1
    cents = np.rint(signups_by_month_and_channel * cac * noise * 100).astype(np.int64)
    return pa.table({
        "spend_date": dates(np.repeat(calendar.first_days, channel_count)),
        "channel": pa.array(np.tile(np.array(CHANNELS), months), pa.string()),
        "amount": decimals_from_cents(cents.ravel()),
        "currency": pa.array(np.full(months * channel_count, story.CURRENCY), pa.string()),
    }, schema=arrow_schema(MARKETING_SPEND))


def truth_table(chunk: SimulatedChunk) -> pa.Table:
    is_lead = chunk.is_lead
    buyer = ~is_lead
    has_completed = chunk.first_completed_seconds >= 0
    dropped = chunk.dropout_seconds >= 0
    return pa.table({
        "customer_id": customer_ids(chunk.customer_numbers),
        "is_lead": pa.array(is_lead),
        "acquired_on": dates(chunk.first_completed_seconds // SECONDS_PER_DAY, valid=has_completed),
        "first_ordered_on": dates(chunk.first_order_seconds // SECONDS_PER_DAY, valid=buyer),
        "purchase_rate_per_day": pa.array(chunk.purchase_rates, mask=is_lead),
        "dropout_probability": pa.array(chunk.dropout_probabilities, mask=is_lead),
        "dropped_out_on": dates(chunk.dropout_seconds // SECONDS_PER_DAY, valid=dropped),
        "is_alive_at_end": pa.array(chunk.is_alive_at_end, mask=is_lead),
        "mean_order_value": pa.array(chunk.mean_order_values, mask=is_lead),
    }, schema=TRUTH_SCHEMA)


def prefixed_ids(prefix: str, numbers: np.ndarray, digits: int) -> pa.Array:
    """'C-0000042': zero-padded so ids sort like their numbers."""
    padded = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), digits, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), padded, "")


def dates(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.date32(), mask=None if valid is None else ~valid)


def timestamps(seconds: np.ndarray) -> pa.Array:
    return pa.array(seconds * 1_000_000, pa.timestamp("us"))


def decimals_from_cents(cents: np.ndarray) -> pa.Array:
    """decimal128(18, 2) stores the unscaled integer, so cents become its low word, sign-extended."""
    return _decimals_from_unscaled(cents, 2)


def cents_from_decimals(amounts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of `decimals_from_cents`, with a validity mask; amounts fit in 64 bits. For any decimal,
    the unscaled integers (units of 10^-scale)."""
    amounts = amounts.combine_chunks() if isinstance(amounts, pa.ChunkedArray) else amounts
    words = np.frombuffer(amounts.buffers()[1], dtype=np.int64).reshape(-1, 2)
    cents = words[amounts.offset: amounts.offset + len(amounts), 0]
    return cents, amounts.is_valid().to_numpy(zero_copy_only=False)


def _blanked(values: pa.Array, rng: np.random.Generator, share: float) -> pa.Array:
    """The same values with about `share` of them left empty (null)."""
    return pc.if_else(pa.array(rng.random(len(values)) < share), pa.scalar(None, values.type), values)
