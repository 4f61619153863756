"""Study: how many customers who came back before BG/NBD and Gamma-Gamma predictions are stable?

    nice .venv/bin/python -m benchmarks.minimum_history           # 4,320 shops: 1,290 s on 2 busy cores
    .venv/bin/python -m benchmarks.minimum_history --shops 5      # a quick look

Small shops are simulated from the BG/NBD and Gamma-Gamma stories (``models.simulation``) with known
parameters: 10 to 2,000 customers, acquired evenly over 6 months, 1 year or 3 years of history, in whole days
as the pipeline's summaries give them. Each shop is fitted as the pipeline fits it (``models.selection``: the
full model or a limiting case, chosen by likelihood) with the minimum-data rule switched off, and its
forecasts are compared with the forecasts the true parameters give for the same customers (the "oracle": the
best any fit can do with these histories; what remains is the error due to estimating the parameters):

- purchases: each customer's expected purchases in the next 365 days (FHL 2005 eq. 10). ``total error``: the
  shop's total against the oracle's; ``customer error``: sum |fitted - oracle| / sum oracle; ``beats naive``:
  the customer error is below that of the naive "same rate as before" forecast x / T * 365;
- spend: the expected order value (note 025 eq. 5) of a newcomer (the population mean, ``total error``) and of
  each repeat buyer (``customer error``); ``beats naive``: the customer error is below that of the customers'
  own averages m.

Four kinds of shop (parameters in days): the sample generator's (``pipelines/sample_data/parameters.py``),
CDNOW's estimates (FHL 2005, alpha x 7), slow buyers (``benchmarks/bench_clv_fit.py``'s), and steady buyers who
do not differ (a common rate and drop-out probability, a common spend: the limiting cases).

The criterion. Shops are grouped by their number of **repeat buyers** (customers with x >= 1, what the fits
learn from) into the bins of the tables. A bin is stable when 9 in 10 of its shops, all kinds and histories
together, are within 30 % of the oracle (the 90th percentile of |total error| is at most 30 %); the threshold
is the lower edge of the first bin from which every bin is stable (``models.minimum_data``).

Writes benchmarks/results/minimum_history.{md,json} and prints the tables.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))  # run as a script from anywhere: import this checkout's models

from models import bgnbd_limits, gamma_gamma_limits  # noqa: E402
from models.bgnbd import BGNBDParams  # noqa: E402
from models.gamma_gamma import GammaGammaParams  # noqa: E402
from models.selection import fit_purchase_model, fit_spend_model  # noqa: E402
from models.simulation import simulate_bgnbd, simulate_monetary_value  # noqa: E402

RESULTS_DIR = PROJECT_ROOT / "benchmarks" / "results"
HORIZON_DAYS = 365.0
SIZES = (10, 20, 35, 50, 75, 100, 200, 500, 2000)
HISTORIES_DAYS = (182, 365, 1095)
REPEAT_BUYER_BINS = (1, 5, 10, 20, 30, 50, 100, 200, 500, 100_000)
P90_ERROR_LIMIT = 0.30  # 9 shops in 10 within 30 % of the oracle
HUGE = 1e9  # r, alpha (a, b; q, gamma) this large simulate customers who do not differ


def _common(rate: float, dropout: float) -> BGNBDParams:
    return BGNBDParams(rate * HUGE, HUGE, dropout * HUGE, (1 - dropout) * HUGE)


# name -> (BG/NBD truth, Gamma-Gamma truth), parameters in days
SCENARIOS = {
    "sample shop": (BGNBDParams(0.9, 20.0, 0.8, 9.0), GammaGammaParams(6.0, 4.0, 30.0)),
    "CDNOW": (BGNBDParams(0.243, 4.414 * 7, 0.793, 2.426), GammaGammaParams(6.25, 3.74, 15.44)),
    "slow buyers": (BGNBDParams(0.5, 60.0, 0.7, 3.0), GammaGammaParams(6.0, 4.0, 15.0)),
    "steady buyers": (_common(1 / 30, 0.05), GammaGammaParams(20.0, HUGE, HUGE / (20.0 / 30.0))),
}


def _oracle_purchases(truth: BGNBDParams):
    """The true model's predictions: the full model, or the exact limit when customers do not differ."""
    if truth.alpha >= HUGE:
        theta = np.array([np.log(truth.r / truth.alpha), np.log(truth.a / truth.b)])
        return bgnbd_limits.COMMON_RATE_COMMON_DROPOUT, theta
    return bgnbd_limits.FULL, np.log(np.asarray(truth, dtype=float))


def _oracle_spend(truth: GammaGammaParams):
    if truth.q >= HUGE:
        return gamma_gamma_limits.COMMON_SPEND, np.log([truth.p, truth.q / truth.gamma])
    return gamma_gamma_limits.FULL, np.log(np.asarray(truth, dtype=float))


def simulate_shop(truth: BGNBDParams, spend: GammaGammaParams, customers: int, history_days: int, rng):
    """(x, t_x, T, m) in whole days: first purchases on uniform days of the history, the as-of date its end."""
    T = (history_days - rng.integers(0, history_days + 1, customers)).astype(float)
    histories = simulate_bgnbd(truth, T, rng)
    recency = np.minimum(np.ceil(histories.recency), T)  # a daily table: the last purchase's day
    m = np.round(simulate_monetary_value(spend, histories.frequency, rng), 2)
    return histories.frequency, recency, T, m


def _relative_error(fitted: np.ndarray, oracle: np.ndarray) -> float:
    return float(np.abs(fitted - oracle).sum() / oracle.sum())


def one_shop(task: tuple) -> dict:
    scenario, customers, history_days, seed = task
    truth, spend = SCENARIOS[scenario]
    rng = np.random.default_rng(seed)
    x, t_x, T, m = simulate_shop(truth, spend, customers, history_days, rng)
    row = {
        "scenario": scenario,
        "customers": customers,
        "history_days": history_days,
        "seed": seed,
        "repeat_buyers": int((x > 0).sum()),
        "repeat_purchases": int(x.sum()),
    }

    variant, theta = _oracle_purchases(truth)
    oracle = variant.conditional_expected_purchases(theta, HORIZON_DAYS, x, t_x, T)
    naive = np.divide(x, T, out=np.zeros_like(x), where=T > 0) * HORIZON_DAYS
    started = time.perf_counter()
    fit = fit_purchase_model(x, t_x, T, time_unit="days", apply_minimum_data=False)
    row["purchase_seconds"] = time.perf_counter() - started
    row["purchase_status"], row["purchase_variant"] = fit.status, fit.variant_name
    row["purchase_naive_error"] = _relative_error(naive, oracle)
    if fit.is_fitted:
        predicted = fit.conditional_expected_purchases(HORIZON_DAYS, x, t_x, T)
        row["purchase_total_error"] = float(predicted.sum() / oracle.sum() - 1)
        row["purchase_customer_error"] = _relative_error(predicted, oracle)

    repeat = x > 0
    spend_variant, spend_theta = _oracle_spend(spend)
    probe_x, probe_m = np.append(x[repeat], 0.0), np.append(m[repeat], np.nan)  # repeat buyers and a newcomer
    spend_oracle = spend_variant.expected_order_value(spend_theta, probe_x, probe_m)
    spend_fit = fit_spend_model(x, m, apply_minimum_data=False)
    row["spend_status"], row["spend_variant"] = spend_fit.status, spend_fit.variant_name
    if repeat.any():
        row["spend_naive_error"] = _relative_error(m[repeat], spend_oracle[:-1])
    if spend_fit.is_fitted:
        value = spend_fit.expected_order_value(probe_x, probe_m)
        row["spend_total_error"] = float(value[-1] / spend_oracle[-1] - 1)
        row["spend_customer_error"] = _relative_error(value[:-1], spend_oracle[:-1])
    return row


def _bin_label(low: int, high: int) -> str:
    return f"{low}-{high - 1}" if high < 100_000 else f"{low}+"


def _errors(shops: list[dict], key: str) -> np.ndarray:
    return np.abs([r[key] for r in shops if key in r])


def summarise(rows: list[dict], model: str) -> list[dict]:
    """Per repeat-buyer bin (``model``: purchase | spend): shops, share fitted and limiting, errors."""
    table = []
    for low, high in itertools.pairwise(REPEAT_BUYER_BINS):
        shops = [r for r in rows if low <= r["repeat_buyers"] < high]
        fitted = [r for r in shops if r[f"{model}_status"] != "not_fitted"]
        if not fitted:
            continue
        totals = _errors(fitted, f"{model}_total_error")
        customers = _errors(fitted, f"{model}_customer_error")
        by_history = {
            h: _errors([r for r in fitted if r["history_days"] == h], f"{model}_total_error")
            for h in HISTORIES_DAYS
        }
        beats = [
            r[f"{model}_customer_error"] < r[f"{model}_naive_error"]
            for r in fitted
            if f"{model}_naive_error" in r
        ]
        table.append(
            {
                "repeat_buyers": _bin_label(low, high),
                "shops": len(shops),
                "fitted_pct": 100 * len(fitted) / len(shops),
                "limiting_case_pct": 100
                * sum(r[f"{model}_status"] == "limiting_case" for r in shops)
                / len(shops),
                "total_error_median_pct": 100 * float(np.median(totals)),
                "total_error_p90_pct": 100 * float(np.quantile(totals, 0.9)),
                **{
                    f"total_error_p90_{h}_days_pct": 100 * float(np.quantile(e, 0.9))
                    if e.size
                    else float("nan")
                    for h, e in by_history.items()
                },
                "customer_error_median_pct": 100 * float(np.median(customers)),
                "beats_naive_pct": 100 * float(np.mean(beats)) if beats else float("nan"),
            }
        )
    return table


def threshold(table: list[dict]) -> int | None:
    """The lower edge of the first repeat-buyer bin from which every bin meets the criterion (module
    docstring), from ``summarise``'s table."""
    first = None
    for line in table:
        passes = line["total_error_p90_pct"] <= 100 * P90_ERROR_LIMIT
        first = (first or int(line["repeat_buyers"].split("-")[0].rstrip("+"))) if passes else None
    return first


def _markdown(table: list[dict], title: str, total: str) -> str:
    histories = " | ".join(f"p90 {h} d" for h in HISTORIES_DAYS)
    lines = [
        f"**{title}**",
        "",
        f"| repeat buyers | shops | limiting case % | {total} median % | p90 % | {histories} | "
        "customer error median % | beats naive % |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(HISTORIES_DAYS) + "---:|---:|",
    ]
    for t in table:
        by_history = " | ".join(f"{t[f'total_error_p90_{h}_days_pct']:.0f}" for h in HISTORIES_DAYS)
        lines.append(
            f"| {t['repeat_buyers']} | {t['shops']} | {t['limiting_case_pct']:.0f} | "
            f"{t['total_error_median_pct']:.1f} | {t['total_error_p90_pct']:.1f} | {by_history} | "
            f"{t['customer_error_median_pct']:.1f} | {t['beats_naive_pct']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shops", type=int, default=40, help="simulated shops per kind, size and history")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)

    tasks = [
        (scenario, size, history, 1000 * i + 7)
        for scenario in SCENARIOS
        for size in SIZES
        for history in HISTORIES_DAYS
        for i in range(args.shops)
    ]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
        rows = pool.map(one_shop, tasks, chunksize=8)
    elapsed = time.perf_counter() - started

    tables = {model: summarise(rows, model) for model in ("purchase", "spend")}
    thresholds = {model: threshold(table) for model, table in tables.items()}
    by_size = {}
    for r in rows:
        by_size.setdefault((r["customers"], r["history_days"]), []).append(r["repeat_buyers"])
    size_lines = [
        "| customers | " + " | ".join(f"{h} days" for h in HISTORIES_DAYS) + " |",
        "|---:|" + "---:|" * len(HISTORIES_DAYS),
    ]
    for size in SIZES:
        medians = " | ".join(f"{np.median(by_size[(size, h)]):.0f}" for h in HISTORIES_DAYS)
        size_lines.append(f"| {size:,} | {medians} |")
    report = "\n\n".join(
        [
            f"{len(rows):,} simulated shops ({args.shops} per kind, size and history), {elapsed:.0f} s.",
            _markdown(
                tables["purchase"],
                "BG/NBD: expected purchases in the next 365 days against the oracle's",
                "total error",
            ),
            _markdown(
                tables["spend"], "Gamma-Gamma: expected order value against the oracle's", "newcomer error"
            ),
            f"**Thresholds** (p90 of |total error| <= 30 % in every bin from there on): BG/NBD "
            f"{thresholds['purchase']} repeat buyers, Gamma-Gamma {thresholds['spend']}.",
            "**Median repeat buyers** per shop size and history (all kinds):\n\n" + "\n".join(size_lines),
        ]
    )
    print(report)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "minimum_history.md").write_text(report + "\n")
    (RESULTS_DIR / "minimum_history.json").write_text(
        json.dumps({"rows": rows, "tables": tables, "thresholds": thresholds}, indent=1)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
