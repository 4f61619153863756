"""A small hand-made BI file: every table the report reads, with a few rows whose values the tests know.

Columns and types are those `make run` publishes (columns the report does not read may be left out).
`predictions=False` is a run whose purchase models could not be fitted: the predicted CLV and health columns
of `customers` are null and `clv_model_fits` says why.
"""

from __future__ import annotations

from contextlib import closing
from datetime import date
from pathlib import Path

import duckdb

# 14 complete months Jan 2025 .. Feb 2026 and the running month Mar 2026.
MONTHS = [date(2025 + (m - 1) // 12, (m - 1) % 12 + 1, 1) for m in range(1, 16)]
COMPLETE_MONTHS = MONTHS[:-1]
LAST_MONTH, PREVIOUS_MONTH = date(2026, 2, 1), date(2026, 1, 1)

# (CRR, churn %, NPS, CAC, CLV:CAC) of the two months the tiles compare.
PREVIOUS = dict(crr=95.0, churn=6.0, nps=30.0, cac=20.0, clv_to_cac=10.0)
LAST = dict(crr=96.5, churn=5.0, nps=25.0, cac=25.0, clv_to_cac=9.0)

# customer_id, channel, has_purchased, historical_clv, rfm (R, F, segment) or None
CUSTOMERS = [
    ("C1", "paid_search", True, 100.0, (5, 5, "Champions")),
    ("C2", "paid_search", True, 300.0, (4, 4, "Loyal")),
    ("C3", "email", True, 50.0, (1, 1, "Lost")),
    ("C4", "email", True, 150.0, (3, 3, "Need attention")),
    ("C5", "organic", True, 1000.0, (2, 5, "Can't lose them")),
    ("C6", "organic", False, 0.0, None),
    ("C7", None, True, 20.0, (1, 2, "Hibernating")),
]
# predicted_clv, p10, p90, health_score, health_band, probability_alive per purchasing customer
PREDICTIONS = {
    "C1": (400.0, 350.0, 450.0, 90.0, "healthy", 0.95),
    "C2": (200.0, 150.0, 250.0, 75.0, "healthy", 0.9),
    "C3": (5.0, 1.0, 9.0, 10.0, "lost", 0.1),
    "C4": (80.0, 60.0, 100.0, 55.0, "watch", 0.7),
    "C5": (60.0, 30.0, 90.0, 35.0, "at_risk", 0.4),
    "C7": (2.0, 1.0, 3.0, 12.0, "lost", 0.05),
}
# channel -> (spend, new customers) in each complete month; the oldest month counts double to prove the
# 12-month window leaves it out.
CHANNEL_SPEND = {"paid_search": (300.0, 10), "email": (50.0, 5), "organic": (0.0, 4)}
QUARANTINE = [
    ("orders", "orders_2025.csv", "invalid_date", "ordered_at", 3, 17, "'2025-02-30' is not a valid date"),
    ("customers", "customers.csv", "malformed_row", None, 1, 4, "expected 7 fields, found 8 (line 5)"),
]
UNFITTED_REASON = "Too few repeat purchases to fit the purchase model"
# Cohorts of 20 customers: share still active, and customers who purchased, in months 0, 1, ... since the first
# purchase (month 0: all 20); each purchase brings 50.
COHORT_ACTIVE_PCT = {date(2025, 12, 1): [100.0, 80.0, 60.0, 55.0], date(2026, 1, 1): [100.0, 70.0, 65.0],
                     date(2026, 2, 1): [100.0, 90.0]}
COHORT_PURCHASING = {date(2025, 12, 1): [20, 5, 3, 4], date(2026, 1, 1): [20, 7, 2], date(2026, 2, 1): [20, 6]}
COHORT_REVENUE_PER_PURCHASE = 50.0
# retention_metrics_by_segment (country): period_start, is_complete, segment, CS, CRR, churned, churn %, revenue
SEGMENT_ROWS = [
    (PREVIOUS_MONTH, True, "FR", 400, 90.0, 40, 10.0, 1000.0), (LAST_MONTH, True, "FR", 410, 91.5, 35, 8.5, 1100.0),
    (PREVIOUS_MONTH, True, "DE", 100, 86.0, 14, 14.0, 300.0), (LAST_MONTH, True, "DE", 120, 88.25, 14, 11.7, 320.0),
    (MONTHS[-1], False, "FR", 420, 50.0, 1, 0.2, 10.0)]
# retention_drivers: metric, dimension, segment, previous, current, change, mix, rate, share of the total change
DRIVER_ROWS = [
    ("churned_customers", "total", "all", 54.0, 49.0, -5.0, None, None, 100.0),
    ("churned_customers", "country", "FR", 40.0, 35.0, -5.0, 1.0, -6.0, 100.0),
    ("churned_customers", "country", "DE", 14.0, 14.0, 0.0, 2.8, -2.8, 0.0),
    ("churned_customers", "acquisition_channel", "paid_search", 30.0, 34.0, 4.0, 0.5, 3.5, -80.0),
    ("churned_customers", "acquisition_channel", "email", 24.0, 15.0, -9.0, -7.0, -2.0, 180.0),
    ("retention_rate_pct", "total", "all", 95.0, 96.5, 1.5, None, None, 100.0),
    ("retention_rate_pct", "country", "FR", 72.0, 74.0, 2.0, 0.4, 1.6, 133.3),
    ("retention_rate_pct", "country", "DE", 23.0, 22.5, -0.5, -0.6, 0.1, -33.3),
    ("revenue", "total", "all", 1300.0, 1420.0, 120.0, None, None, 100.0),
]
# feedback_themes: scope_type, scope, side, rank, term, z, comments (of its side), detractor and promoter comments
# with the term, example 1 and 2 as published (the customer's key in front)
FEEDBACK_ROWS = [
    ("all", "all", "detractor", 1, "late", 4.2, 12, 12, 1, "c_0123456789abcdef0123: Late again, twice", "c_1111111111aaaaaaaaaa: late and rude"),
    ("all", "all", "detractor", 2, "refund", 3.1, 8, 8, 0, "c_2222222222bbbbbbbbbb: still no refund", None),
    ("all", "all", "promoter", 1, "fast delivery", -5.0, 20, 1, 20, "c_3333333333cccccccccc: fast delivery, thanks", "c_4444444444dddddddddd: fast delivery"),
    ("quarter", "2026Q1", "detractor", 1, "quarterly term", 2.0, 3, 3, 0, "c_5555555555eeeeeeeeee: a quarterly term", None),
]
# customer_survival: (curve, dimension, slice) -> steps (days, at risk, events, censored, S, lower, upper); the
# cohort year's curve is published but not drawn.
SURVIVAL_STEPS = {
    ("lapse", "all", "all"): [(0, 100, 0, 0, 1.0, 1.0, 1.0), (365, 100, 20, 10, 0.8, 0.71, 0.87),
                              (400, 70, 7, 63, 0.72, 0.62, 0.8)],
    ("lapse", "acquisition_channel", "paid_search"): [(0, 60, 0, 0, 1.0, 1.0, 1.0), (365, 60, 9, 6, 0.85, 0.73, 0.92),
                                                      (400, 45, 4, 41, 0.774, 0.64, 0.86)],
    ("lapse", "acquisition_channel", "email"): [(0, 40, 0, 0, 1.0, 1.0, 1.0), (365, 40, 11, 4, 0.74, 0.56, 0.84),
                                                (400, 25, 3, 22, 0.65, 0.47, 0.77)],
    ("lapse", "cohort_year", "2025"): [(0, 100, 0, 0, 1.0, 1.0, 1.0), (400, 100, 30, 70, 0.7, 0.6, 0.8)],
    ("second_purchase", "all", "all"): [(0, 100, 0, 0, 1.0, 1.0, 1.0), (20, 100, 30, 5, 0.7, 0.6, 0.78),
                                        (60, 65, 25, 10, 0.43, 0.33, 0.53), (400, 30, 3, 27, 0.387, 0.28, 0.49)],
    ("second_purchase", "acquisition_channel", "paid_search"): [(0, 60, 0, 0, 1.0, 1.0, 1.0),
                                                                (20, 60, 18, 2, 0.7, 0.57, 0.8),
                                                                (60, 40, 10, 30, 0.525, 0.39, 0.64)],
    ("second_purchase", "acquisition_channel", "email"): [(0, 40, 0, 0, 1.0, 1.0, 1.0), (20, 40, 20, 3, 0.5, 0.34, 0.64),
                                                          (60, 17, 3, 14, 0.412, 0.25, 0.56)],
}
# customer_survival_summary: (curve, dimension, slice) -> customers, events, censored, longest observed, median
# and its 95 % bounds, survival at 30, 90, 180 and 365 days
SURVIVAL_SUMMARIES = {
    ("lapse", "all", "all"): (100, 27, 73, 400, None, None, None, 1.0, 1.0, 1.0, 0.8),
    ("lapse", "acquisition_channel", "paid_search"): (60, 13, 47, 400, None, None, None, 1.0, 1.0, 1.0, 0.85),
    ("lapse", "acquisition_channel", "email"): (40, 14, 26, 400, None, None, None, 1.0, 1.0, 1.0, 0.74),
    ("lapse", "cohort_year", "2025"): (100, 30, 70, 400, None, None, None, 1.0, 1.0, 1.0, 0.7),
    ("second_purchase", "all", "all"): (100, 58, 42, 400, 60, 20, None, 0.7, 0.43, 0.43, 0.43),
    ("second_purchase", "acquisition_channel", "paid_search"): (60, 28, 32, 60, None, 20, None, 0.7, None, None,
                                                                None),
    ("second_purchase", "acquisition_channel", "email"): (40, 23, 17, 60, 20, 20, 60, 0.5, None, None, None),
}
# clv_backtest of a run with fitted models: forecast -> (scope, actual, predicted, customers, below p10, at or
# below p10, above p90, at or above p90); BG/NBD chosen over Pareto/NBD by the mean absolute error.
BACKTEST_ROWS = [
    ("model", "all customers", 300.0, 306.0, 50, 0.02, 0.55, 0.06, 0.27),
    ("model", "calibration frequency 0", 100.0, 102.0, 20, 0.0, 0.64, 0.05, 0.14),
    ("model", "calibration frequency 1+", 200.0, 204.0, 30, 0.03, 0.5, 0.14, 0.33),
    ("naive", "all customers", 300.0, 420.0, 50, None, None, None, None),
    ("naive", "calibration frequency 0", 100.0, 140.0, 20, None, None, None, None),
    ("naive", "calibration frequency 1+", 200.0, 280.0, 30, None, None, None, None),
    ("bg_nbd", "all customers", 300.0, 306.0, 50, None, None, None, None),
    ("pareto_nbd", "all customers", 300.0, 318.0, 50, None, None, None, None),
]
BACKTEST_MAE = {"model": 0.5, "naive": 0.9, "bg_nbd": 0.5, "pareto_nbd": 0.6}
CHOICE_REASON = ("lowest back-test error: mean absolute error of each customer's purchases in the last 91 days "
                 "0.5000 (Pareto/NBD 0.6000)")
COVARIATE_VERDICT = ("the covariates significantly explain how often customers buy (likelihood ratio 9.2 on 2 "
                     "degrees of freedom, p = 0.010)")
# clv_model_fits of a run with fitted models: model, fitted on, variant, parameter, estimate, standard error,
# used for predictions, choice reason
FIT_ROWS = [
    ("bg_nbd", "full history", "bg_nbd", "r", 0.66, 0.01, True, None),
    ("bg_nbd", "full history", "bg_nbd", "alpha", 17.6, 0.01, True, None),
    ("bg_nbd", "history to as-of - 91 days (back-test)", "bg_nbd", "r", 0.6, 0.02, False, CHOICE_REASON),
    ("pareto_nbd", "history to as-of - 91 days (back-test)", "pareto_nbd", "r", 0.7, 0.03, False,
     "higher back-test error: mean absolute error of each customer's purchases in the last 91 days 0.6000 "
     "(BG/NBD 0.5000)"),
    ("bg_nbd_covariates", "full history", None, "r", 0.65, 0.01, False, None),
    ("bg_nbd_covariates", "full history", None, "rate[acquisition_channel=paid_search]", 0.26, 0.05, False, None),
    ("bg_nbd_covariates", "full history", None, "rate[country_code=DE]", -0.1, 0.08, False, None),
    ("bg_nbd_covariates", "full history", None, "likelihood_ratio_p_value", 0.01, None, False, COVARIATE_VERDICT),
    ("gamma_gamma_covariates", "full history", None, "spend[first_purchase_year=2026]", -0.3, 0.1, False, None),
    ("gamma_gamma_covariates", "full history", None, "likelihood_ratio_p_value", 0.003, None, False,
     "the covariates significantly explain how much customers spend per order (likelihood ratio 8.8 on 1 "
     "degrees of freedom, p = 0.003); the predictions use the plain model"),
]
# customers_at_risk: key, segment, band, score, P(alive), days since last purchase, revenue, predicted CLV, NPS
AT_RISK_ROWS = [
    ("c_aaaaaaaaaaaaaaaaaaaa", "Can't lose them", "at_risk", 35.0, 0.4, 120, 1000.0, 60.0, 3),
    ("c_bbbbbbbbbbbbbbbbbbbb", "Need attention", "watch", 55.0, 0.7, 30, 150.0, 80.0, None),
]


def _month_end(start: date) -> date:
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def _retention_rows() -> list[tuple]:
    rows = []
    for i, month in enumerate(MONTHS):
        complete = month != MONTHS[-1]
        values = LAST if month == LAST_MONTH else PREVIOUS if month == PREVIOUS_MONTH else dict(
            crr=90.0 + i * 0.1, churn=8.0 - i * 0.1, nps=10.0 + i, cac=30.0, clv_to_cac=5.0)
        cs = 1000 + 10 * i
        crr = None if i == 0 else values["crr"]
        rows.append(("month", month, _month_end(month), _month_end(month), complete, False, cs, cs + 10, 60, crr,
                     round(cs * values["churn"] / 100), values["churn"], cs - 50, 5, 0, 400, 40.0, 50.0, 60.0,
                     20000.0 + i, 80.0, values["nps"], 100 + i, 1500.0, values["cac"], 300.0,
                     values["clv_to_cac"], None, None))
    rows.append(("quarter", date(2025, 1, 1), date(2025, 3, 31), date(2025, 3, 31), True, False, 1, 1, 1, 1.0, 1,
                 1.0, 1, 1, 1, 1, 1.0, 1.0, 1.0, 1.0, 1.0, 99.0, 1, 1.0, 1.0, 1.0, 1.0, None, None))
    return rows


def _channel_economics_rows(predictions: bool) -> list[tuple]:
    """What the mart channel_economics publishes for this file, computed by hand: spend and new customers
    over the last 12 complete months, against the historical CLV of the channel's purchasing customers and
    (with predictions) their average predicted 12-month CLV."""
    window = COMPLETE_MONTHS[-12:]
    rows = []
    for channel in (*CHANNEL_SPEND, "unknown", "all"):
        spend, new = ((sum(s for s, _ in CHANNEL_SPEND.values()), sum(n for _, n in CHANNEL_SPEND.values()))
                      if channel == "all" else CHANNEL_SPEND.get(channel, (0.0, 0)))
        spend, new = spend * len(window), new * len(window)
        buyers = [c for c in CUSTOMERS if c[2] and (channel == "all" or (c[1] or "unknown") == channel)]
        clvs = [c[3] for c in buyers]
        predicted = [PREDICTIONS[c[0]][0] for c in buyers] if predictions else []
        cac = spend / new if new else None
        clv = sum(clvs) / len(clvs) if clvs else None
        rows.append((window[0], window[-1], len(window), channel, spend, new, cac, len(clvs), clv,
                     clv / cac if cac and clv is not None else None,
                     sum(predicted) / len(predicted) if predicted else None))
    return sorted(rows, key=lambda row: row[3])


def make_bi_file(path: Path, *, predictions: bool = False, quarantine: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(duckdb.connect(str(path))) as con:
        con.execute("begin")     # one commit: a file-backed DuckDB syncs at each one
        con.execute("""create table retention_metrics (
            period_grain varchar, period_start date, period_end date, measured_through_date date,
            is_complete boolean, is_history_shorter_than_window boolean, customers_at_start bigint,
            customers_at_end bigint, new_customers bigint, retention_rate_pct double, churned_customers bigint,
            churn_rate_pct double, retained_customers bigint,
            reactivated_customers bigint, new_customers_inactive_at_end bigint, purchasing_customers bigint,
            repeat_purchase_rate_pct double, avg_basket_first_purchase double, avg_basket_repeat_purchase double,
            revenue decimal(38,2), revenue_existing_customers_pct double, nps double, nps_responses bigint,
            marketing_spend decimal(38,2), cac double, avg_historical_clv double, clv_to_cac double,
            avg_predicted_clv double, predicted_clv_to_cac double)""")
        con.executemany(f"insert into retention_metrics values ({', '.join(['?'] * 29)})", _retention_rows())

        con.execute("""create table customers (
            customer_key varchar, signup_date date, country_code varchar, acquisition_channel varchar,
            has_marketing_consent boolean, has_purchased boolean, purchases bigint, revenue decimal(38,2),
            rfm_segment varchar, historical_clv decimal(38,2), probability_alive double,
            predicted_clv_12m double, predicted_clv_12m_p10 double, predicted_clv_12m_p90 double,
            health_score double, health_band varchar)""")
        for customer_id, channel, purchased, clv, rfm in CUSTOMERS:
            predicted, p10, p90, score, band, alive = (
                PREDICTIONS.get(customer_id, (None,) * 6) if predictions else (None,) * 6)
            con.execute(f"insert into customers values ({', '.join(['?'] * 16)})",
                        [customer_id, date(2025, 1, 5), "FR", channel, True, purchased, 2 if purchased else 0,
                         clv, rfm[2] if rfm else None, clv, alive, predicted, p10, p90, score, band])

        con.execute("""create table customer_cohorts (
            cohort_month date, activity_month date, months_since_first_purchase bigint, is_complete boolean,
            cohort_size bigint, active_customers bigint, retention_pct double, purchases bigint,
            revenue decimal(38,2), cumulative_revenue decimal(38,2), cumulative_revenue_per_customer double,
            purchasing_customers bigint, purchasing_customers_pct double)""")
        # Three cohorts of 20: Dec 2025 (3 complete months), Jan 2026 (2), Feb 2026 (1); Mar 2026 is running.
        for cohort, shares in COHORT_ACTIVE_PCT.items():
            cumulative = 0.0
            for k, share in enumerate(shares):
                activity = MONTHS[MONTHS.index(cohort) + k]
                buyers = COHORT_PURCHASING[cohort][k]
                revenue = buyers * COHORT_REVENUE_PER_PURCHASE
                cumulative += revenue
                con.execute("insert into customer_cohorts values (?, ?, ?, ?, 20, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [cohort, activity, k, activity != MONTHS[-1], round(20 * share / 100), share, buyers,
                             revenue, cumulative, cumulative / 20, buyers, 100 * buyers / 20])

        con.execute("""create table rfm_scores (
            customer_key varchar, as_of_date date, recency_days bigint, frequency bigint, monetary decimal(38,2),
            recency_score integer, frequency_score integer, monetary_score integer, rfm_code varchar,
            rfm_segment varchar)""")
        for customer_id, _, _, clv, rfm in CUSTOMERS:
            if rfm:
                con.execute("insert into rfm_scores values (?, '2026-03-10', 10, 2, ?, ?, ?, 3, ?, ?)",
                            [customer_id, clv, rfm[0], rfm[1], f"{rfm[0]}{rfm[1]}3", rfm[2]])

        con.execute("""create table nps_by_period (
            period_grain varchar, period_start date, period_end date, is_complete boolean, responses bigint,
            promoters bigint, passives bigint, detractors bigint, nps double, average_score double)""")
        for i, month in enumerate(MONTHS):
            con.execute("insert into nps_by_period values ('month', ?, ?, ?, ?, ?, ?, ?, ?, 8.0)",
                        [month, _month_end(month), month != MONTHS[-1], 100 + i, 50, 30, 20 + i,
                         (50 - 20 - i) / (100 + i) * 100])

        con.execute("""create table acquisition_costs (
            period_grain varchar, period_start date, period_end date, is_complete boolean, channel varchar,
            spend decimal(38,2), new_customers hugeint, cac double, first_purchases hugeint,
            repeat_purchases hugeint, cost_per_first_purchase double, cost_per_repeat_purchase double)""")
        for month in MONTHS:
            factor = 2 if month == MONTHS[0] else 1
            total_spend = total_new = 0
            for channel, (spend, new) in CHANNEL_SPEND.items():
                total_spend += spend * factor
                total_new += new * factor
                con.execute("insert into acquisition_costs values ('month', ?, ?, ?, ?, ?, ?, ?, ?, 10, 1.0, 1.0)",
                            [month, _month_end(month), month != MONTHS[-1], channel, spend * factor, new * factor,
                             spend / new, new * factor])
            con.execute("insert into acquisition_costs values ('month', ?, ?, ?, 'all', ?, ?, ?, ?, 30, 1.0, 1.0)",
                        [month, _month_end(month), month != MONTHS[-1], total_spend, total_new,
                         total_spend / total_new, total_new])

        con.execute("""create table channel_economics (
            first_month_start date, last_month_start date, months_in_window bigint, channel varchar,
            spend decimal(38,2), new_customers bigint, cac double, purchasing_customers bigint,
            avg_historical_clv double, clv_to_cac double, avg_predicted_clv_12m double)""")
        con.executemany(f"insert into channel_economics values ({', '.join(['?'] * 11)})",
                        _channel_economics_rows(predictions))

        con.execute("""create table customer_survival (
            curve varchar, dimension varchar, dimension_value varchar, days bigint, at_risk hugeint, events bigint,
            censored bigint, survival double, survival_lower_95 double, survival_upper_95 double)""")
        con.executemany(f"insert into customer_survival values ({', '.join(['?'] * 10)})",
                        [(*key, *step) for key, steps in SURVIVAL_STEPS.items() for step in steps])
        con.execute("""create table customer_survival_summary (
            curve varchar, dimension varchar, dimension_value varchar, customers hugeint, events bigint,
            censored bigint, longest_observed_days bigint, median_days bigint, median_days_lower_95 bigint,
            median_days_upper_95 bigint, survival_30_days double, survival_90_days double,
            survival_180_days double, survival_365_days double)""")
        con.executemany(f"insert into customer_survival_summary values ({', '.join(['?'] * 14)})",
                        [(*key, *row) for key, row in SURVIVAL_SUMMARIES.items()])

        con.execute("""create table quarantine_summary (
            extract_name varchar, source_file varchar, reason varchar, column_name varchar, rejected_rows bigint,
            first_source_row bigint, example_detail varchar)""")
        if quarantine:
            con.executemany("insert into quarantine_summary values (?, ?, ?, ?, ?, ?, ?)", QUARANTINE)

        con.execute("create table publication (key varchar, value varchar)")
        con.executemany("insert into publication values (?, ?)", [
            ("activity_window_days", "365"), ("as_of_date_setting", "latest order date"),
            ("dagster_run_id", "fixture"), ("published_at_utc", "2026-03-10T06:00:00")])

        for table in ("alerts", "clv_model_fits", "clv_backtest", "customers_at_risk", "retention_drivers",
                      "retention_metrics_by_segment", "feedback_themes"):
            _table_shown_as_it_is(con, table, predictions)
        con.execute("commit")
    return path


def _table_shown_as_it_is(con, table: str, predictions: bool) -> None:
    if table == "clv_backtest":
        con.execute("""create table clv_backtest (as_of_date date, holdout_days integer, model_status varchar,
            purchase_model varchar, forecast varchar, scope varchar, customers bigint, actual_purchases double,
            predicted_purchases double, total_error double, total_error_pct double, mean_absolute_error double,
            share_below_p10 double, share_at_or_below_p10 double, share_above_p90 double,
            share_at_or_above_p90 double)""")
        for forecast, scope, actual, predicted, customers, *shares in BACKTEST_ROWS:
            con.execute("insert into clv_backtest values ('2026-03-10', 91, 'fitted', 'bg_nbd', ?, ?, ?, ?, ?, ?, "
                        "?, ?, ?, ?, ?, ?)",
                        [forecast, scope, customers, actual, predicted, predicted - actual,
                         (predicted - actual) / actual * 100 if scope == "all customers" else None,
                         BACKTEST_MAE[forecast], *shares])
    elif table == "clv_model_fits":
        con.execute("""create table clv_model_fits (model varchar, fitted_on varchar, status varchar,
            variant varchar, parameter varchar, estimate double, standard_error double, time_unit varchar,
            log_likelihood double, customers bigint, converged boolean, reason varchar, as_of_date date,
            used_for_predictions boolean, choice_reason varchar)""")
        if predictions:
            con.executemany("insert into clv_model_fits values (?, ?, 'fitted', ?, ?, ?, ?, 'days', -1234.5, 6, true, "
                            "null, '2026-03-10', ?, ?)", FIT_ROWS)
        else:
            con.execute("insert into clv_model_fits values ('bg_nbd', 'full history', 'not_fitted', null, null, "
                        "null, null, 'days', null, 6, false, ?, '2026-03-10', false, null)", [UNFITTED_REASON])
    elif table == "retention_metrics_by_segment":
        con.execute("""create table retention_metrics_by_segment (period_grain varchar, period_start date,
            is_complete boolean, dimension varchar, segment varchar, customers_at_start bigint,
            retention_rate_pct double, churned_customers bigint, churn_rate_pct double, revenue decimal(38,2))""")
        con.executemany("insert into retention_metrics_by_segment values ('month', ?, ?, 'country', ?, ?, ?, ?, ?, ?)",
                        SEGMENT_ROWS)
    elif table == "retention_drivers":
        con.execute("""create table retention_drivers (period_grain varchar, previous_period_start date,
            current_period_start date, metric varchar, dimension varchar, segment varchar, previous_value double,
            current_value double, change double, mix_effect double, rate_effect double,
            share_of_total_change_pct double)""")
        con.executemany("insert into retention_drivers values ('month', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [(PREVIOUS_MONTH, LAST_MONTH, *row) for row in DRIVER_ROWS])
    elif table == "feedback_themes":
        con.execute("""create table feedback_themes (scope_type varchar, scope varchar, side varchar, rank bigint,
            term varchar, z_score double, log_odds double, comments_with_term bigint,
            detractor_comments_with_term bigint, promoter_comments_with_term bigint,
            detractor_comments_in_scope bigint, promoter_comments_in_scope bigint, example_1 varchar,
            example_2 varchar)""")
        con.executemany("insert into feedback_themes values (?, ?, ?, ?, ?, ?, 0.5, ?, ?, ?, 40, 60, ?, ?)",
                        FEEDBACK_ROWS)
    elif table == "customers_at_risk":
        con.execute("""create table customers_at_risk (customer_key varchar, rfm_segment varchar,
            health_band varchar, health_score double, probability_alive double, days_since_last_purchase bigint,
            historical_clv decimal(38,2), predicted_clv_12m double, predicted_clv_12m_p10 double,
            predicted_clv_12m_p90 double, latest_nps_score integer, acquisition_channel varchar,
            country_code varchar)""")
        if predictions:
            con.executemany("insert into customers_at_risk values (?, ?, ?, ?, ?, ?, ?, ?, 1.0, 2.0, ?, 'email', 'FR')",
                            AT_RISK_ROWS)
    else:
        con.execute("""create table alerts (period_grain varchar, period_start date, metric varchar,
            direction varchar, current_value double, trailing_average double, change double, change_pct double,
            driver_dimension varchar, driver_segment varchar, driver_change double, message varchar)""")
        con.execute("insert into alerts values ('month', ?, 'churn_rate_pct', 'rise', 7.5, 5.0, 2.5, 50.0, "
                    "'acquisition_channel', 'paid_search', 12.0, 'Churn rose 50 %, led by paid search')", [LAST_MONTH])
