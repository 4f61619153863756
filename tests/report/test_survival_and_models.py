"""Issue 17's report parts as pure functions on hand-made rows: the survival section's sentences and tables,
the step chart, the back-test's calibration, the purchase model's choice and the covariate effects in words,
and the predicted value per customer by channel."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from pipelines.report import charts
from pipelines.report.charts import StepSeries, step_at
from pipelines.report.queries import ChannelEconomics, ChannelWindow, SurvivalSummary, load_report_data
from pipelines.report.readme_markdown import readme_list_item
from pipelines.report.sections import section_channels, section_survival, survival_sentences, survival_table_rows
from pipelines.report.table_sections import (
    calibration_chart,
    calibration_sentence,
    covariate_effect_sentence,
    covariate_lines,
    model_card,
    purchase_model_choice,
)
from tests.report.bi_fixture import SURVIVAL_STEPS

SVG = "{http://www.w3.org/2000/svg}"


def summary(curve, dimension, value, customers, median=None, low=None, high=None, at=(None,) * 4):
    return SurvivalSummary(curve, dimension, value, customers, 0, customers, 400, median, low, high,
                           dict(zip((30, 90, 180, 365), at)))


SUMMARIES = [
    summary("lapse", "all", "all", 100, at=(1.0, 1.0, 1.0, 0.8)),
    summary("lapse", "acquisition_channel", "paid_search", 60, at=(1.0, 1.0, 1.0, 0.853)),
    summary("lapse", "acquisition_channel", "email", 30, at=(1.0, 1.0, 1.0, 0.74)),
    summary("lapse", "acquisition_channel", "organic", 10, at=(1.0, 1.0, None, None)),    # too young for a year
    summary("second_purchase", "all", "all", 100, 60, 20, None, (0.7, 0.43, 0.43, 0.43)),
    summary("second_purchase", "acquisition_channel", "email", 30, 20, 18, 25, (0.5, 0.4, None, None)),
]


def test_the_survival_curves_in_plain_sentences():
    assert survival_sentences(SUMMARIES, "365") == [
        "Of 100 customers, 80 are still active a year after their first purchase (they have not gone 365 days "
        "without a purchase): 85 of 100 acquired through paid search, 74 of 100 through email.",
        "Half of all customers buy a second time within 60 days; 57 of 100 have within 90 days of their first "
        "purchase.",
    ]


def test_a_young_shop_says_what_it_can():
    young = [summary("lapse", "all", "all", 5, at=(1.0, 0.9, None, None)),
             summary("second_purchase", "all", "all", 5, at=(0.9, None, None, None))]
    assert survival_sentences(young) == [
        "Of 100 customers, 90 are still active 90 days after their first purchase (they have not lapsed).",
        "Fewer than half of all customers have bought a second time so far.",
    ]
    assert survival_sentences([]) == []


def test_the_survival_table_has_all_customers_first_then_the_channels_by_size():
    assert survival_table_rows(SUMMARIES, "second_purchase") == [
        ["all customers", "100", "60 (20 – not reached)", "70.0%", "43.0%", "43.0%", "43.0%"],
        ["email", "30", "20 (18 – 25)", "50.0%", "40.0%", "—", "—"],
    ]
    assert survival_table_rows(SUMMARIES, "lapse")[1][:3] == ["paid search", "60", "not reached"]


def test_step_at_reads_the_last_step_on_or_before_the_day():
    steps = [(0, 1.0), (20, 0.7), (60, 0.43)]
    assert [step_at(steps, d) for d in (0, 19, 20, 59, 60, 61)] == [1.0, 1.0, 0.7, 0.7, 0.43, None]


def test_the_step_chart_draws_a_step_line_per_series_and_a_point_per_marked_day():
    svg = charts.step_chart(
        "s", "Survival", [StepSeries("all customers", charts.INK, [(0, 1.0), (20, 0.7), (60, 0.43)],
                                     [(0, 1.0, 1.0), (20, 0.6, 0.8), (60, 0.3, 0.5)], {30: "all at 30"}),
                          StepSeries("email", charts.BLUE, [(0, 1.0), (20, 0.5)])],
        "Days", "Share (%)", marker_days=(30, 90))
    root = ET.fromstring(svg)
    curves = [e for e in root.iter(f"{SVG}path") if e.get("class") == "curve"]
    assert len(curves) == 2 and len([e for e in root.iter(f"{SVG}path") if e.get("class") == "band"]) == 1
    assert re.fullmatch(r"M[\d.]+ [\d.]+( L[\d.]+ [\d.]+){4}", curves[-1].get("d"))   # the first series on top
    points = [e for e in root.iter(f"{SVG}circle") if e.get("class") == "point"]
    assert [p.get("data-tip") for p in points] == ["all at 30"]     # day 90 is past both curves; email ends at 20
    assert {"all customers", "email", "half (median)"} <= {t.text for t in root.iter(f"{SVG}text")}


def test_the_readme_definition_is_quoted_as_it_is():
    markdown = "- **CRR**: one\n  two\n- **Survival curves** (`s`): the share\n  still without it.\n  - nested\n- **NPS**"
    assert readme_list_item(markdown, "Survival curves") == "**Survival curves** (`s`): the share still without it."
    assert readme_list_item(markdown, "Missing") == ""


def test_the_survival_section_draws_the_two_curves_and_quotes_the_readme(full_bi_file):
    data = load_report_data(full_bi_file)
    assert {(s.curve, s.dimension_value) for s in data.survival} == {
        (c, v) for (c, d, v) in SURVIVAL_STEPS if d != "cohort_year"}           # all and channels, no cohort years
    html = section_survival(data, "- **Survival curves** (`customer_survival`): the share still without.").html
    assert 'id="chart-survival-lapse"' in html and 'id="chart-survival-second-purchase"' in html
    assert "Of 100 customers, 80 are still active a year after their first purchase" in html
    assert "<code>customer_survival</code>" in html and 'href="#definitions"' in html


def test_the_calibration_chart_and_sentence():
    rows = [
        {"forecast": "model", "scope": "all customers", "customers": 6668, "share_below_p10": 0.0106,
         "share_at_or_below_p10": 0.531, "share_above_p90": 0.1265, "share_at_or_above_p90": 0.272},
        {"forecast": "model", "scope": "calibration frequency 0", "customers": 1203, "share_below_p10": 0.0,
         "share_at_or_below_p10": 0.64, "share_above_p90": 0.055, "share_at_or_above_p90": 0.145},
        {"forecast": "naive", "scope": "calibration frequency 0", "customers": 1203, "share_below_p10": None},
    ]
    assert calibration_sentence(rows) == (
        "Over all 6,668 customers, 1.1% made fewer purchases in the hold-out days than their p10 and 12.7% more "
        "than their p90 (a calibrated 80 % interval: at most 10 % on each side); 53.1% made at most p10 and 27.2% "
        "at least p90 (a calibrated one: at least 10 % each, a count often equals its quantile): the interval is "
        "off at its high end.")
    root = ET.fromstring(calibration_chart(rows))
    bars = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "bar"]
    assert [b.get("data-tip")[:40] for b in bars] == ["calibration frequency 0: 0.0% of 1,203 c",
                                                     "calibration frequency 0: 5.5% of 1,203 c"]
    assert len([e for e in root.iter(f"{SVG}line") if e.get("class") == "reference"]) == 1
    assert calibration_sentence(rows[1:]) == "" and calibration_chart(rows[2:]) == ""   # not measured


def test_the_model_card_says_which_purchase_model_predicts_and_why():
    reason = "lowest back-test error: mean absolute error 1.1780 (Pareto/NBD 1.1793)"
    fits = [{"model": "bg_nbd", "fitted_on": "full history", "status": "fitted", "variant": "bg_nbd",
             "customers": 10, "converged": True, "choice_reason": None},
            {"model": "bg_nbd", "fitted_on": "history to as-of - 91 days (back-test)", "choice_reason": reason},
            {"model": "bg_nbd_covariates", "fitted_on": "full history", "status": "fitted", "parameter": "r"}]
    backtest = [{"forecast": "model", "scope": "all customers", "purchase_model": "bg_nbd"}]
    assert purchase_model_choice(fits, backtest) == f"The predictions come from BG/NBD, chosen by the back-test ({reason})."
    assert purchase_model_choice(fits, [{"forecast": "model"}]) == ""
    assert [line.split(" — ")[0] for line in model_card(fits, [])] == [   # the covariate fit is not a model line
        "Purchase model (BG/NBD): how often customers buy and when they stop"]


@pytest.mark.parametrize(("parameter", "estimate", "sentence"), [
    ("rate[acquisition_channel=paid_search]", 0.26, "Customers acquired through paid search buy 1.3× as often as "
                                                    "those acquired through the baseline channel."),
    ("spend[country_code=FR]", 0.0583, "Customers in FR spend 1.06× as much per order as those in the baseline "
                                       "country."),
    ("rate[first_purchase_year=2026]", -0.223, "Customers who first bought in 2026 buy 0.8× as often as those who "
                                               "first bought in the baseline year."),
    ("rate[device=mobile_app]", 0.693, "Customers with device mobile app buy 2× as often as those with the "
                                       "baseline device."),
    ("alpha0", 1.0, ""),
])
def test_a_covariate_effect_in_words(parameter, estimate, sentence):
    assert covariate_effect_sentence(parameter, estimate) == sentence


def test_only_significant_effects_are_told_with_the_likelihood_ratio_verdict():
    verdict = "the covariates do not significantly explain how much customers spend per order (p = 0.230)"
    fits = [
        {"model": "bg_nbd_covariates", "status": "fitted", "parameter": "r", "estimate": 0.8, "standard_error": 0.01},
        {"model": "bg_nbd_covariates", "status": "fitted", "parameter": "rate[country_code=DE]", "estimate": -0.1,
         "standard_error": 0.05},                                          # |z| = 2: told
        {"model": "bg_nbd_covariates", "status": "fitted", "parameter": "rate[acquisition_channel=email]",
         "estimate": 0.4, "standard_error": 0.1},                          # |z| = 4: told first
        {"model": "bg_nbd_covariates", "status": "fitted", "parameter": "rate[acquisition_channel=other]",
         "estimate": 0.3, "standard_error": 0.2},                          # |z| = 1.5: chance
        {"model": "gamma_gamma_covariates", "status": "fitted", "parameter": "spend[country_code=DE]",
         "estimate": 0.05, "standard_error": 0.04},
        {"model": "gamma_gamma_covariates", "status": "fitted", "parameter": "likelihood_ratio_p_value",
         "estimate": 0.23, "standard_error": None, "choice_reason": verdict},
    ]
    assert covariate_lines(fits) == [
        "Differences in how often customers buy: Customers acquired through email buy 1.49× as often as those "
        "acquired through the baseline channel. Customers in DE buy 0.9× as often as those in the baseline country.",
        "Differences in how much customers spend per order: no effect is clearly more than chance (|estimate| / "
        f"standard error below 2 for every one). Taken together, {verdict}.",
    ]
    assert covariate_lines([{"model": "bg_nbd_covariates", "status": "not_fitted", "reason": "one channel only"}]) == [
        "Differences in how often customers buy between channels, countries and first-purchase years: not fitted "
        "(one channel only)."]


def channel(name, predicted):
    return ChannelEconomics(name, 100.0, 10, 10.0, 8, 50.0, 5.0, predicted)


def test_the_predicted_value_per_customer_stands_beside_the_historical_one(full_bi_file, bi_file):
    window = ChannelWindow(date(2025, 3, 1), date(2026, 2, 1), 12, (channel("paid_search", 300.0),),
                           channel("all", 124.5))
    data = load_report_data(bi_file)
    html = section_channels(type(data)(**{**data.__dict__, "channels": window}), "EUR").html
    assert "predicted 12-month value per customer" in html and "€300.00" in html and "€124.50" in html
    without = ChannelWindow(window.first_month, window.last_month, 12, (channel("paid_search", None),),
                            channel("all", None))
    assert "predicted 12-month" not in section_channels(type(data)(**{**data.__dict__, "channels": without}),
                                                        "EUR").html
    by_channel = {c.channel: c for c in load_report_data(full_bi_file).channels.channels}
    assert by_channel["paid_search"].avg_predicted_clv_12m == pytest.approx(300.0)     # C1 400, C2 200
    assert load_report_data(bi_file).channels.blended.avg_predicted_clv_12m is None    # models not fitted
