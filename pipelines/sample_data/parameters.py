"""The numbers behind the sample data's story, in one place so they can be tuned, cited and recorded.

Customers buy according to the BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the
easy way") and spend according to the Gamma-Gamma model (Fader, Hardie & Lee 2005, "RFM and CLV").
The parameters keep the papers' names so the fitted models later on can be compared with them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class PurchaseProcess:
    """BG/NBD: purchase rate lambda ~ Gamma(shape r, rate alpha), dropout p ~ Beta(a, b). Time unit: days."""

    r: float
    alpha: float
    a: float
    b: float

    def as_record(self) -> dict:
        return {"model": "BG/NBD", "time_unit": "day", **asdict(self)}


@dataclass(frozen=True)
class OrderValue:
    """Gamma-Gamma: nu ~ Gamma(shape q, rate gamma); each order value ~ Gamma(shape p, rate nu). EUR."""

    p: float
    q: float
    gamma: float

    @property
    def mean_basket(self) -> float:
        return self.p * self.gamma / (self.q - 1)

    def as_record(self) -> dict:
        return {"model": "Gamma-Gamma", "currency": "EUR", **asdict(self)}


# Mean purchase rate r/alpha = 0.045 a day (about one order every three weeks while alive); the Beta(0.8, 9)
# dropout gives a long tail of loyal customers. Over 36 months of acquisition with growth this averages
# about 10 orders per purchasing customer.
PURCHASES = PurchaseProcess(r=0.9, alpha=20.0, a=0.8, b=9.0)

# Population mean basket p * gamma / (q - 1) = 60 EUR.
ORDER_VALUE = OrderValue(p=6.0, q=4.0, gamma=30.0)

CURRENCY = "EUR"

# Share of CRM records that never order (newsletter sign-ups, abandoned accounts).
LEAD_SHARE = 0.08

# Statuses are drawn per order; refunded and cancelled orders keep their (positive) amount.
REFUNDED_SHARE = 0.04
CANCELLED_SHARE = 0.02

# The first order falls on the signup day for most customers, a few days later for the others.
FIRST_ORDER_SAME_DAY_SHARE = 0.7
FIRST_ORDER_MAX_DELAY_DAYS = 7

# Acquisition: monthly growth and a mild year-end peak.
MONTHLY_GROWTH = 0.025
SEASONALITY_AMPLITUDE = 0.12          # +12% in December, -12% in June
MINIMUM_MONTHS = 24

# Channel mix of new customers and cost per acquired customer (EUR). Organic costs nothing but still gets
# a spend row, so every channel has one row per month.
CHANNEL_SHARES = {
    "organic": 0.30,
    "paid_search": 0.22,
    "paid_social": 0.18,
    "email": 0.10,
    "referral": 0.10,
    "affiliate": 0.10,
}
CHANNEL_CAC_EUR = {
    "organic": 0.0,
    "paid_search": 45.0,
    "paid_social": 35.0,
    "email": 8.0,
    "referral": 15.0,
    "affiliate": 25.0,
}
SPEND_NOISE_SIGMA = 0.25              # lognormal noise on each month's spend, mean 1

COUNTRY_SHARES = {
    "FR": 0.62, "BE": 0.10, "CH": 0.06, "DE": 0.05, "ES": 0.04, "GB": 0.04,
    "US": 0.03, "IT": 0.03, "LU": 0.015, "NL": 0.015,
}
FRENCH_SPEAKING_COUNTRIES = ("FR", "BE", "CH", "LU")

# CRM gaps: optional fields left empty.
EMPTY_EMAIL_SHARE = 0.02
EMPTY_NAME_SHARE = 0.015
EMPTY_COUNTRY_SHARE = 0.015
EMPTY_CHANNEL_SHARE = 0.02
EMPTY_CONSENT_SHARE = 0.03
CONSENT_SHARE = 0.55

# Surveys: a share of purchasing customers answers once, some of them twice.
SURVEY_SHARE = 0.30
SECOND_RESPONSE_SHARE = 0.3
COMMENT_SHARE = 0.6
SURVEY_DAYS_AFTER_LAST_ACTIVITY = 30  # a survey can follow the last purchase by up to a month

# NPS: a latent satisfaction mixing loyalty (low dropout probability), time stayed, and noise, cut into
# 0..10. The cut is calibrated to an NPS of about +20.
NPS_LOYALTY_WEIGHT = 0.65
NPS_STAY_WEIGHT = 0.35
NPS_NOISE_SD = 0.8
NPS_CENTRE = 8.6
NPS_SPREAD = 2.6
