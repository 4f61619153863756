"""The input contract: what each extract must contain, and the reasons a row can be rejected.

This module is the single source of truth for the extracts, their columns and the rules their values
follow: a column's type, whether it is required, the values it allows (`OneOf`) or the range it must lie in
(`Range`), and the extract's key. Everything else is derived from these declarations: the reader maps
whatever a CRM calls a column onto these names, the row checks (row_checks.py) type and check every value
by them, the Great Expectations suites (pipelines/checks/gx_suites.py) are generated from them, one Dagster
asset is built per extract (assets.py), and the sample-data generator writes them. dbt lists the extracts
in `macros/extracts.sql` and documents them in `models/staging/_sources.yml`; tests fail when either
disagrees with `EXTRACTS`.

Adding an extract: declare it here, its columns with their rules, and add it to `EXTRACTS`; in dbt, add
its name to `macros/extracts.sql`, its three sources (its raw table, its quarantine and its file ledger) to
`models/staging/_sources.yml` and its staging model; then `python -m pipelines.checks.gx_suites` writes
its suite. tests/ingestion/test_contract.py says what is missing.

Orders come one row per order, or one row per order line (`quantity` and `unit_price` instead of
`amount`, as most shop systems and the UCI Online Retail data export them): `ORDER_LINES` says how
lines roll up into the one row per order the raw layer holds (pipelines/ingestion/order_lines.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ColumnType(StrEnum):
    TEXT = "text"
    IDENTIFIER = "identifier"  # a key shared across extracts; 17850.0 (a spreadsheet's float) is read as 17850
    DATE = "date"            # a calendar day
    TIMESTAMP = "timestamp"  # an instant, stored as UTC without zone
    DECIMAL = "decimal"      # money, decimal(18, 2)
    INTEGER = "integer"
    BOOLEAN = "boolean"
    CURRENCY = "currency"    # ISO 4217 code
    QUANTITY = "quantity"    # units on an order line, decimal(18, 4); negative on a credit note
    UNIT_PRICE = "unit_price"  # money per unit, decimal(18, 6): prices below a cent exist (0.001)


class RejectReason(StrEnum):
    """Why a row was quarantined. The codes are a contract too: tests and the generator's dirty mode use them."""

    MALFORMED_ROW = "malformed_row"              # wrong number of fields, unterminated quote
    UNDECODABLE_BYTES = "undecodable_bytes"      # bytes that are not text in the file's encoding
    MISSING_VALUE = "missing_value"              # a required column is empty
    INVALID_DATE = "invalid_date"                # unparseable or impossible date (31/02)
    FUTURE_DATE = "future_date"                  # after the day the file was loaded
    INVALID_NUMBER = "invalid_number"            # amount or score that is not a number
    INVALID_BOOLEAN = "invalid_boolean"          # consent that is neither yes nor no
    INVALID_IDENTIFIER = "invalid_identifier"    # a customer id a spreadsheet wrote in scientific notation
    NEGATIVE_AMOUNT = "negative_amount"          # a completed order or a spend below zero (a Range)
    OUT_OF_RANGE = "out_of_range"                # a number outside its Range (NPS outside 0..10)
    UNKNOWN_STATUS = "unknown_status"            # order status outside its OneOf, even mapped
    UNKNOWN_CURRENCY = "unknown_currency"        # not an ISO 4217 code
    CURRENCY_MISMATCH = "currency_mismatch"      # a valid code, but not the reporting currency
    DUPLICATE_KEY = "duplicate_key"              # same key as an earlier row, different values
    DUPLICATE_ROW = "duplicate_row"              # same key and same values as an earlier row
    UNKNOWN_CUSTOMER = "unknown_customer"        # refers to a customer no customer extract holds (yet)
    INCONSISTENT_LINES = "inconsistent_lines"    # lines of one order name different customers, currencies, statuses
    INCOMPLETE_ORDER = "incomplete_order"        # another line of the order was rejected: its total would be wrong


@dataclass(frozen=True)
class OneOf:
    """The values a text column allows, compared after lower-casing; any other is rejected for `reason`,
    the quarantine's detail being the value followed by `otherwise`. `synonyms` are words shops use for the
    values (retentio_sources.yml adds to them): a value that is one of them is read as its meaning."""

    values: tuple[str, ...]
    reason: RejectReason
    otherwise: str
    synonyms: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Range:
    """The range a number must lie in, bounds included (None: open); `only_when` = (column, value) limits
    the rule to the rows where that other column holds that value. A number outside is rejected for `reason`,
    the quarantine's detail being the value followed by `otherwise`."""

    minimum: int | None
    maximum: int | None
    reason: RejectReason
    otherwise: str
    only_when: tuple[str, str] | None = None

    def __post_init__(self):
        if self.minimum is None and self.maximum is None:
            raise ValueError("a Range needs a minimum, a maximum or both")


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool
    description: str
    allowed: OneOf | None = None   # a value outside is rejected (after a shop's own word is mapped)
    range: Range | None = None     # a number outside is rejected


@dataclass(frozen=True)
class Derived:
    """How a required column a file may leave out is worked out from the row's other values: `sql` names
    them in braces ({amount}) and is evaluated on their typed values."""

    description: str
    sql: str
    needs: tuple[str, ...] = ()  # optional columns it is worked out from: without them, it is required


@dataclass(frozen=True)
class LineLevel:
    """How a file with one row per order line becomes one row per order.

    A file is line-level when it has both `columns[0]` and `columns[1]` (quantity and unit_price); then
    `replaces` (amount) is computed from them, exactly: the sum over the order's lines of quantity x unit
    price, rounded to the cent only at the end. Columns in `stated_per_order` may be left empty on some
    lines of an order (Shopify fills them on its first line only); the order takes them from the lines that
    state them, and lines stating different values make the order `inconsistent_lines`.
    """

    columns: tuple[Column, ...]
    replaces: str
    stated_per_order: tuple[str, ...]
    line_key: str                      # optional; when a file has it, a repeated (order, line) is a duplicate

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_names(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


@dataclass(frozen=True)
class Extract:
    """One kind of extract delivered to the landing directory as `<file_prefix>*` files (SUPPORTED_SUFFIXES).

    `columns` are the columns of the raw layer, and of a file with one row per item; `lines` the columns
    a file may have instead, one row per part of an item (order lines); `derived_when_absent` the required
    columns a file may leave out because they can be worked out (an order's status from its amount);
    `question_words` the words that make a header the column they name when the header is a whole
    question, as survey tools write it; `row_is` what one row stands for, as `make check-extracts` says it.
    """

    name: str
    file_prefix: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    description: str
    references_customers: bool = False
    aliases: dict[str, str] = field(default_factory=dict)
    lines: LineLevel | None = None
    derived_when_absent: dict[str, Derived] = field(default_factory=dict)
    question_words: dict[str, str] = field(default_factory=dict)
    row_is: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def input_columns(self) -> tuple[Column, ...]:
        """Every column a landing file of this extract may have."""
        return self.columns + (self.lines.columns if self.lines else ())

    @property
    def input_column_names(self) -> list[str]:
        return [c.name for c in self.input_columns]

    def file_columns(self, line_level: bool = False) -> tuple[Column, ...]:
        """The columns a file's rows are read and checked as: the extract's, or for a file with one row
        per order line, the line columns instead of the one they replace."""
        if not line_level:
            return self.columns
        return tuple(c for c in self.columns if c.name != self.lines.replaces) + self.lines.columns

    def column(self, name: str) -> Column:
        return next(c for c in self.input_columns if c.name == name)


ORDER_STATUSES = ("completed", "refunded", "cancelled")

# Statuses shop systems use, and what they mean here. Compared after lower-casing and turning spaces
# and hyphens into underscores; retentio_sources.yml (`extracts: orders: statuses:`) adds to or
# overrides these. Not listed on purpose, because they are not yet a purchase nor clearly none:
# pending, on_hold, authorized, partially_paid, draft; map them when your shop knows better.
STATUS_SYNONYMS = {
    # paid or on its way: a purchase (Shopify: paid, partially_refunded; WooCommerce: processing, completed)
    "complete": "completed", "paid": "completed", "fulfilled": "completed", "shipped": "completed",
    "delivered": "completed", "processing": "completed", "partially_refunded": "completed",
    "wc_completed": "completed", "wc_processing": "completed",
    # money returned
    "returned": "refunded", "wc_refunded": "refunded",
    # never paid, or called off (Shopify: voided; WooCommerce: cancelled, failed)
    "canceled": "cancelled", "voided": "cancelled", "void": "cancelled", "failed": "cancelled",
    "declined": "cancelled", "wc_cancelled": "cancelled", "wc_failed": "cancelled",
    # French (compared without accents: payée is payee)
    "payee": "completed", "paye": "completed", "validee": "completed", "livree": "completed",
    "expediee": "completed", "terminee": "completed", "remboursee": "refunded", "rembourse": "refunded",
    "retournee": "refunded", "annulee": "cancelled", "annule": "cancelled", "echouee": "cancelled",
}

# The status of an order whose file states none: a refund when its amount is below zero.
DERIVED_STATUS = "completed, or refunded when the order's amount is below zero"

# Header names seen in CRM and shop exports, mapped onto canonical names. Headers are compared after
# lower-casing, folding accents and turning spaces and hyphens into underscores.
_COMMON_ALIASES = {
    "client_id": "customer_id",
    "id_client": "customer_id",
    "customer": "customer_id",
    "customerid": "customer_id",
    "contact_id": "customer_id",
    # French exports: N° client, Numéro client, Code client
    "n_client": "customer_id", "no_client": "customer_id", "num_client": "customer_id",
    "numero_client": "customer_id", "numero_de_client": "customer_id", "code_client": "customer_id",
    "devise": "currency",
    "currency_code": "currency",
    "montant": "amount",
    "montant_ttc": "amount",
    "total": "amount",
}

CUSTOMERS = Extract(
    name="customers",
    file_prefix="customers",
    key=("customer_id",),
    description="CRM customer extract: one row per customer (or lead) known to the business.",
    row_is="one row per customer",
    columns=(
        Column("customer_id", ColumnType.IDENTIFIER, True, "Business key of the customer in the CRM."),
        Column("email", ColumnType.TEXT, False, "E-mail address (personal data; never published)."),
        Column("full_name", ColumnType.TEXT, False, "Name (personal data; never published)."),
        # Optional: a shop's customer export (Shopify's) has no such column, and a CRM record with the cell
        # empty is still a customer whose orders must load. The first order's day stands in (dbt).
        Column("signup_date", ColumnType.DATE, False,
               "Day the customer record was created; empty means the day of the customer's first order."),
        Column("country", ColumnType.TEXT, False, "Country, ISO 3166 alpha-2 where the CRM has it."),
        Column("acquisition_channel", ColumnType.TEXT, False, "Marketing channel that acquired the customer."),
        Column("marketing_consent", ColumnType.BOOLEAN, False,
               "Opt-in to marketing messages; empty means no consent."),
    ),
    aliases=_COMMON_ALIASES | {
        "e_mail": "email", "mail": "email", "email_address": "email", "courriel": "email",
        "name": "full_name", "nom": "full_name", "nom_complet": "full_name",
        "created_at": "signup_date", "date_inscription": "signup_date", "signup": "signup_date",
        "pays": "country", "country_code": "country",
        "channel": "acquisition_channel", "canal": "acquisition_channel", "source": "acquisition_channel",
        "consent": "marketing_consent", "opt_in": "marketing_consent", "optin": "marketing_consent",
        "consentement": "marketing_consent", "consentement_marketing": "marketing_consent",
        "date_d_inscription": "signup_date", "date_de_creation": "signup_date",
        "date_creation": "signup_date",
        "canal_d_acquisition": "acquisition_channel", "canal_acquisition": "acquisition_channel",
        # HubSpot, Salesforce and Shopify contact exports; Stripe's customers (id, Created (UTC)), Square's
        # (Square Customer ID, what its transactions name), Mailchimp's audience (OPTIN_TIME)
        "record_id": "customer_id", "id": "customer_id", "square_customer_id": "customer_id",
        "created_utc": "signup_date", "created": "signup_date", "optin_time": "signup_date",
        "create_date": "signup_date", "created_date": "signup_date", "date_created": "signup_date",
        "original_source": "acquisition_channel", "lead_source": "acquisition_channel",
        "country_region": "country", "mailing_country": "country", "default_address_country_code": "country",
        "accepts_email_marketing": "marketing_consent", "accepts_marketing": "marketing_consent",
        # Not aliased on purpose: Salesforce's `Email Opt Out` (true means no consent) and HubSpot's
        # `Marketing contact status` (a billing tier, not an opt-in).
    },
    # A mailing list's export (Mailchimp's, Klaviyo's) has an e-mail address and no id: the address keys the
    # customer, in lower case as e-mail ids are compared (orders keyed by e-mail then find their customer).
    derived_when_absent={"customer_id": Derived(
        "the e-mail address, in lower case: orders keyed by e-mail find their customer", "lower({email})",
        needs=("email",))},
)

ORDER_LINES = LineLevel(
    columns=(
        Column("quantity", ColumnType.QUANTITY, True, "Units on the line; negative on a credit note or a return."),
        Column("unit_price", ColumnType.UNIT_PRICE, True,
               "Price of one unit in `currency`; negative for an adjustment line."),
        Column("line_id", ColumnType.TEXT, False,
               "Key of the line within its order; a repeated (order_id, line_id) is a duplicate."),
    ),
    replaces="amount",
    stated_per_order=("customer_id", "ordered_at", "currency", "status", "country"),
    line_key="line_id",
)

ORDERS = Extract(
    name="orders",
    file_prefix="orders",
    key=("order_id",),
    description="Order extract: one row per order, whatever its status.",
    references_customers=True,
    columns=(
        Column("order_id", ColumnType.TEXT, True, "Business key of the order."),
        Column("customer_id", ColumnType.IDENTIFIER, True, "Customer who placed the order."),
        Column("ordered_at", ColumnType.TIMESTAMP, True, "When the order was placed (UTC)."),
        Column("amount", ColumnType.DECIMAL, True, "Order value in `currency`, taxes included.",
               range=Range(0, None, RejectReason.NEGATIVE_AMOUNT, "is negative on a completed order",
                           only_when=("status", "completed"))),
        Column("currency", ColumnType.CURRENCY, False,
               "ISO 4217 code; empty means the reporting currency (RETENTIO_CURRENCY)."),
        Column("status", ColumnType.TEXT, True,
               "completed | refunded | cancelled, or a shop's word for one of them (STATUS_SYNONYMS).",
               allowed=OneOf(ORDER_STATUSES, RejectReason.UNKNOWN_STATUS,
                             f"is not one of {', '.join(ORDER_STATUSES)}, nor a status mapped in "
                             "retentio_sources.yml (extracts: orders: statuses)",
                             synonyms=STATUS_SYNONYMS)),
        Column("country", ColumnType.TEXT, False,
               "Country of the order (billing), ISO 3166 alpha-2 or a name, as delivered."),
    ),
    aliases=_COMMON_ALIASES | {
        "id_commande": "order_id", "order_number": "order_id", "commande": "order_id",
        "invoiceno": "order_id", "invoice_no": "order_id", "invoice_number": "order_id", "invoice": "order_id",
        "numero_facture": "order_id", "receipt": "order_id", "receipt_number": "order_id",
        "receipt_no": "order_id", "ticket": "order_id", "numero_ticket": "order_id",
        "transaction_id": "order_id", "n_commande": "order_id", "no_commande": "order_id",
        "num_commande": "order_id", "numero_commande": "order_id", "numero_de_commande": "order_id",
        "date_de_commande": "ordered_at", "total_ttc": "amount",
        "order_date": "ordered_at", "date_commande": "ordered_at", "created_at": "ordered_at",
        "date": "ordered_at", "invoicedate": "ordered_at", "invoice_date": "ordered_at",
        "statut": "status", "order_status": "status", "financial_status": "status",
        "total_amount": "amount", "order_total": "amount",
        "pays": "country", "country_code": "country", "billing_country": "country",
        "qty": "quantity", "quantite": "quantity", "lineitem_quantity": "quantity",
        "unitprice": "unit_price", "prix_unitaire": "unit_price", "lineitem_price": "unit_price",
        "price": "unit_price",  # beside a quantity (UCI Online Retail II); beside an amount it is not read
        "line_number": "line_id", "line_no": "line_id",
        # Payment and marketplace exports: Stripe's payments (id, Created (UTC); its Customer ID and Amount
        # are read by name), Etsy's sold orders (Sale Date, Buyer User ID), Square's transactions (Total
        # Collected, what the customer paid; Transaction Status). "id" is the row's own id: the order's.
        "id": "order_id", "created_utc": "ordered_at", "created": "ordered_at",
        "sale_date": "ordered_at", "buyer_user_id": "customer_id",
        "total_collected": "amount", "transaction_status": "status",
    },
    lines=ORDER_LINES,
    derived_when_absent={"status": Derived(DERIVED_STATUS,
                                           "case when {amount} < 0 then 'refunded' else 'completed' end")},
    row_is="one row per order",
)

SURVEY_RESPONSES = Extract(
    name="survey_responses",
    file_prefix="survey_responses",
    key=("response_id",),
    description="Net Promoter Score survey answers.",
    row_is="one row per answer",
    references_customers=True,
    columns=(
        Column("response_id", ColumnType.TEXT, True, "Business key of the answer."),
        # Optional: an anonymous survey still measures NPS; its answers reach no customer.
        Column("customer_id", ColumnType.IDENTIFIER, False,
               "Customer who answered; empty for an anonymous answer (counted in NPS, reaching no "
               "customer)."),
        Column("responded_at", ColumnType.TIMESTAMP, True, "When the answer was given (UTC)."),
        Column("nps_score", ColumnType.INTEGER, True, "Likelihood to recommend, 0 to 10.",
               range=Range(0, 10, RejectReason.OUT_OF_RANGE, "is outside 0..10")),
        Column("comment", ColumnType.TEXT, False, "Free-text comment (may hold personal data)."),
    ),
    aliases=_COMMON_ALIASES | {
        "id_reponse": "response_id", "answer_id": "response_id",
        "date_reponse": "responded_at", "answered_at": "responded_at", "submitted_at": "responded_at",
        "date": "responded_at", "score": "nps_score", "nps": "nps_score", "note": "nps_score",
        "commentaire": "comment", "feedback": "comment",
        # Survey tools: SurveyMonkey's Respondent ID and End Date, Google Forms' Timestamp (Horodateur in
        # French), Typeform's Submit Date (UTC)
        "respondent_id": "response_id", "end_date": "responded_at", "timestamp": "responded_at",
        "horodateur": "responded_at", "submit_date_utc": "responded_at", "submit_date": "responded_at",
        # Delighted's Created At; Qualtrics' External Data Reference, the id a contact list carries (its
        # Response ID and End Date are read as they are)
        "created_at": "responded_at", "external_data_reference": "customer_id",
    },
    # Google Forms numbers no answer: the answer itself is its key, so the same answer in the next
    # (cumulative) export is a duplicate, not a second answer.
    derived_when_absent={"response_id": Derived(
        "a hash of the answer's time, customer, score and comment, so that one answer in two exports is one",
        "md5(concat_ws('|', cast({responded_at} as varchar), coalesce({customer_id}, ''), "
        "cast({nps_score} as varchar), coalesce({comment}, '')))")},
    # The header of a score is the question itself: "How likely are you to recommend us to a friend?",
    # "Quelle est la probabilité que vous recommandiez notre boutique ?"; the comment's is NPS's follow-up
    # question, "What is the main reason for your score?", "Pourquoi cette note ?"
    question_words={"recommend": "nps_score", "recommand": "nps_score",
                    "reason": "comment", "raison": "comment", "why": "comment", "pourquoi": "comment"},
)

MARKETING_SPEND = Extract(
    name="marketing_spend",
    file_prefix="marketing_spend",
    # An ad platform's export has a row per campaign and day: they add up, and only the same campaign's
    # day delivered twice is a duplicate.
    key=("spend_date", "channel", "campaign"),
    description="Marketing spend per day (or per month, dated its first day), channel and campaign.",
    row_is="one row per day (or month), channel and campaign",
    columns=(
        Column("spend_date", ColumnType.DATE, True, "Day (or first day of the month) the spend is booked on."),
        Column("channel", ColumnType.TEXT, False, "Marketing channel; matches customers.acquisition_channel."),
        Column("amount", ColumnType.DECIMAL, True, "Spend in `currency`.",
               range=Range(0, None, RejectReason.NEGATIVE_AMOUNT, "is a negative spend")),
        Column("currency", ColumnType.CURRENCY, False,
               "ISO 4217 code; empty means the reporting currency (RETENTIO_CURRENCY)."),
        Column("campaign", ColumnType.TEXT, False,
               "Campaign (or ad set) of an ad platform's export; the campaigns of a day and channel add up."),
    ),
    aliases=_COMMON_ALIASES | {
        "date": "spend_date", "jour": "spend_date", "month": "spend_date", "mois": "spend_date",
        "day": "spend_date", "reporting_starts": "spend_date",
        "canal": "channel", "source": "channel", "spend": "amount", "cost": "amount", "depense": "amount",
        "amount_spent": "amount", "amount_spent_eur": "amount", "amount_spent_usd": "amount",
        "amount_spent_gbp": "amount",
        # TikTok's By Day; LinkedIn's Start Date (in UTC) and Total Spent
        "by_day": "spend_date", "start_date_in_utc": "spend_date", "total_spent": "amount",
        "campaign_name": "campaign", "campagne": "campaign", "nom_de_la_campagne": "campaign",
    },
)

EXTRACTS: dict[str, Extract] = {e.name: e for e in (CUSTOMERS, ORDERS, SURVEY_RESPONSES, MARKETING_SPEND)}
