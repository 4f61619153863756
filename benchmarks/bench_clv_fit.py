"""Benchmark: BG/NBD + Gamma-Gamma fit and per-customer predictions on simulated customers, Retentio's
``models`` against lifetimes 0.11.3 on the same arrays.

    .venv/bin/python benchmarks/bench_clv_fit.py            # 1,000,000 customers, a few minutes
    .venv/bin/python benchmarks/bench_clv_fit.py --customers 100000

Customers are simulated in days from known parameters (``models.simulation``): first purchases spread
uniformly over three years, the as-of date at the end; recency is rounded up to whole days, as a daily
transaction table gives it; average order values to cents. Each implementation then, in its own spawned
process that simulates the same customers first (so each reports its own peak RSS): fits BG/NBD and
Gamma-Gamma, and predicts per customer the
expected purchases in the next 365 days, P(alive), the expected order value and the 12-month CLV at 1% a
month. lifetimes measures months as 30 days (4.345 weeks), so ours is given the same month length here.
Ours additionally computes the 80% intervals (``forecast_customers``), timed separately since lifetimes
has no equivalent.

Each implementation runs ``--repeats`` times (default 3) and its fastest run is kept, as timeit does: on a
shared machine the minimum is the best estimate of the cost itself (all run times are in the JSON).

Asserts: every estimate and every prediction equal to 1e-4 relative, and from 1,000,000 customers ours at
least 10x faster (fit + point predictions). Writes benchmarks/results/clv_fit.json and prints a short table.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))  # run as a script from anywhere: import this checkout's models

from models.bgnbd import BGNBDParams, conditional_expected_purchases, fit_bgnbd  # noqa: E402
from models.clv import customer_lifetime_value, forecast_customers  # noqa: E402
from models.gamma_gamma import GammaGammaParams, fit_gamma_gamma  # noqa: E402
from models.simulation import simulate_bgnbd, simulate_monetary_value  # noqa: E402

TRUE_BGNBD_DAYS = BGNBDParams(r=0.5, alpha=60.0, a=0.7, b=3.0)  # ~1 purchase per 4 months while alive
TRUE_GAMMA_GAMMA = GammaGammaParams(p=6.0, q=4.0, gamma=15.0)  # mean order value 30
HISTORY_DAYS = 3 * 365
DAYS_PER = {"days": 1.0, "weeks": 7.0}
LIFETIMES_FREQ = {"days": "D", "weeks": "W"}
LIFETIMES_DAYS_PER_MONTH = 30.0  # lifetimes' "D" month; its "W" month is 4.345 weeks
LIFETIMES_UNITS_PER_MONTH = {"days": 30.0, "weeks": 4.345}
RESULTS_PATH = PROJECT_ROOT / "benchmarks" / "results" / "clv_fit.json"
# The >= 10x claim is about a million customers; on small runs per-fit fixed costs (the optimiser's Python
# loop, process warm-up) dominate both sides and the ratio is not the point.
SPEEDUP_ASSERTED_FROM = 1_000_000

DATA: dict[str, np.ndarray] = {}  # the simulated customers, in each worker process


def simulate(n_customers: int, seed: int, time_unit: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    first_day = rng.integers(0, HISTORY_DAYS, n_customers)
    T_days = (HISTORY_DAYS - first_day).astype(float)
    histories = simulate_bgnbd(TRUE_BGNBD_DAYS, T_days, rng)
    recency_days = np.minimum(np.ceil(histories.recency), T_days)
    monetary = np.round(simulate_monetary_value(TRUE_GAMMA_GAMMA, histories.frequency, rng), 2)
    monetary[histories.frequency > 0] = np.maximum(monetary[histories.frequency > 0], 0.01)
    scale = DAYS_PER[time_unit]
    return {
        "frequency": histories.frequency,
        "recency": recency_days / scale,
        "T": T_days / scale,
        "monetary_value": monetary,
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def best_of(repeats: int, run) -> tuple[dict, list[float]]:
    """Run ``run`` (returning timings and results) ``repeats`` times; keep the fastest, as timeit does:
    on a shared machine the minimum is the best estimate of the cost itself. The peak RSS is read after
    the first run, before any other run's results are held, so it is the peak of one run."""
    best, totals, first_run_peak_rss = None, [], None
    for _ in range(max(repeats, 1)):
        candidate = run()
        totals.append(candidate["total_seconds"])
        first_run_peak_rss = first_run_peak_rss or peak_rss_mb()
        if best is None or candidate["total_seconds"] < best["total_seconds"]:
            best = candidate
        del candidate
    return best | {"peak_rss_mb": first_run_peak_rss}, totals


def run_ours(time_unit: str, repeats: int) -> dict:
    x, t_x, T, m = DATA["frequency"], DATA["recency"], DATA["T"], DATA["monetary_value"]
    horizon = 365.0 / DAYS_PER[time_unit]
    month = LIFETIMES_UNITS_PER_MONTH[time_unit]

    def run() -> dict:
        started = time.perf_counter()
        bgnbd = fit_bgnbd(x, t_x, T, time_unit=time_unit)
        gamma_gamma = fit_gamma_gamma(x, m)
        fitted = time.perf_counter()
        point = forecast_customers(
            bgnbd,
            gamma_gamma,
            x,
            t_x,
            T,
            m,
            purchase_horizon=horizon,
            time_units_per_month=month,
            intervals=False,
        )
        predicted = time.perf_counter()
        forecast = forecast_customers(
            bgnbd, gamma_gamma, x, t_x, T, m, purchase_horizon=horizon, time_units_per_month=month
        )
        with_intervals = time.perf_counter()
        return {
            "bgnbd": bgnbd,
            "gamma_gamma": gamma_gamma,
            "point": point,
            "forecast": forecast,
            "fit_seconds": fitted - started,
            "predict_seconds": predicted - fitted,
            "total_seconds": predicted - started,
            "forecast_with_intervals_seconds": with_intervals - predicted,
        }

    best, totals = best_of(repeats, run)
    bgnbd, gamma_gamma, point, forecast = best["bgnbd"], best["gamma_gamma"], best["point"], best["forecast"]
    predictions = {
        name: getattr(point, name)
        for name in ("expected_purchases", "probability_alive", "expected_order_value", "clv")
    }
    # the one-call forecast is the same as the model functions one by one
    assert np.allclose(
        predictions["clv"],
        customer_lifetime_value(bgnbd, gamma_gamma, x, t_x, T, m, time_units_per_month=month),
        rtol=1e-12,
    )
    assert np.allclose(
        predictions["expected_purchases"],
        conditional_expected_purchases(bgnbd.params, horizon, x, t_x, T),
        rtol=1e-12,
    )
    assert np.allclose(forecast.clv, predictions["clv"], rtol=1e-12)
    return {
        "params": {**bgnbd.params._asdict(), **gamma_gamma.params._asdict()},
        "converged": bool(bgnbd.converged and gamma_gamma.converged),
        "n_distinct_histories": bgnbd.n_distinct_histories,
        **{
            key: best[key]
            for key in ("fit_seconds", "predict_seconds", "total_seconds", "forecast_with_intervals_seconds")
        },
        "total_seconds_all_repeats": totals,
        "peak_rss_mb": best["peak_rss_mb"],
        "predictions": predictions,
        "mean_relative_clv_interval_width": float(
            np.mean((forecast.clv_upper - forecast.clv_lower) / forecast.clv)
        ),
    }


def run_lifetimes(time_unit: str, repeats: int) -> dict:
    import lifetimes
    import pandas as pd

    warnings.simplefilter("ignore")
    x, t_x, T, m = DATA["frequency"], DATA["recency"], DATA["T"], DATA["monetary_value"]
    horizon = 365.0 / DAYS_PER[time_unit]
    repeat = x > 0
    m_or_zero = np.where(repeat, m, 0.0)  # lifetimes' convention for customers without repeat purchase

    def run() -> dict:
        started = time.perf_counter()
        bgf = lifetimes.BetaGeoFitter(penalizer_coef=0.0).fit(x, t_x, T)
        ggf = lifetimes.GammaGammaFitter(penalizer_coef=0.0).fit(x[repeat], m[repeat])
        fitted = time.perf_counter()
        predictions = {
            "expected_purchases": np.asarray(
                bgf.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, T)
            ),
            "probability_alive": np.asarray(bgf.conditional_probability_alive(x, t_x, T)),
            "expected_order_value": np.asarray(ggf.conditional_expected_average_profit(x, m_or_zero)),
            "clv": ggf.customer_lifetime_value(
                bgf,
                pd.Series(x),
                pd.Series(t_x),
                pd.Series(T),
                pd.Series(m_or_zero),
                time=12,
                discount_rate=0.01,
                freq=LIFETIMES_FREQ[time_unit],
            ).to_numpy(),
        }
        predicted = time.perf_counter()
        return {
            "bgf": bgf,
            "ggf": ggf,
            "predictions": predictions,
            "fit_seconds": fitted - started,
            "predict_seconds": predicted - fitted,
            "total_seconds": predicted - started,
        }

    best, totals = best_of(repeats, run)
    bgf, ggf = best["bgf"], best["ggf"]
    return {
        "params": {
            **bgf.params_.to_dict(),
            **{"p": ggf.params_["p"], "q": ggf.params_["q"], "gamma": ggf.params_["v"]},
        },
        **{key: best[key] for key in ("fit_seconds", "predict_seconds", "total_seconds")},
        "total_seconds_all_repeats": totals,
        "peak_rss_mb": best["peak_rss_mb"],
        "predictions": best["predictions"],
    }


def worker(implementation: str, n_customers: int, seed: int, time_unit: str, repeats: int) -> dict:
    """Simulate (deterministically, same seed) and run one implementation in this fresh process."""
    DATA.update(simulate(n_customers, seed, time_unit))
    data_rss = peak_rss_mb()
    if implementation == "simulation only":
        return {"peak_rss_mb": data_rss, "repeat_buyers": int(np.sum(DATA["frequency"] > 0))}
    result = {"ours": run_ours, "lifetimes": run_lifetimes}[implementation](time_unit, repeats)
    result["rss_before_mb"] = data_rss
    return result


def in_fresh_process(implementation: str, args: argparse.Namespace) -> dict:
    """Each implementation in its own spawned process, so each peak RSS is its own (data included)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(worker, (implementation, args.customers, args.seed, args.time_unit, args.repeats))


def max_relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20050301)
    parser.add_argument("--time-unit", choices=sorted(DAYS_PER), default="days")
    parser.add_argument("--repeats", type=int, default=3, help="runs per implementation; the fastest is kept")
    args = parser.parse_args()

    simulation = in_fresh_process("simulation only", args)
    ours = in_fresh_process("ours", args)
    theirs = in_fresh_process("lifetimes", args)

    parameter_differences = {
        name: abs(ours["params"][name] / theirs["params"][name] - 1) for name in ours["params"]
    }
    prediction_differences = {
        name: max_relative_difference(ours["predictions"][name], theirs["predictions"][name])
        for name in ours["predictions"]
    }
    speedup = theirs["total_seconds"] / ours["total_seconds"]
    for side in (ours, theirs):
        side.pop("predictions")
    result = {
        "customers": args.customers,
        "seed": args.seed,
        "time_unit": args.time_unit,
        "repeats": args.repeats,
        "repeat_buyers": simulation["repeat_buyers"],
        "true_params": {**TRUE_BGNBD_DAYS._asdict(), **TRUE_GAMMA_GAMMA._asdict(), "alpha_unit": "days"},
        "peak_rss_mb_simulated_data_only": simulation["peak_rss_mb"],
        "ours": ours,
        "lifetimes": theirs,
        "speedup_fit_and_predict": speedup,
        "max_relative_difference_params": parameter_differences,
        "max_relative_difference_predictions": prediction_differences,
        "environment": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "machine": platform.machine(),
            "cpus": multiprocessing.cpu_count(),
        },
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(result, indent=2) + "\n")

    print(
        f"{args.customers:,} customers ({result['repeat_buyers']:,} repeat buyers, "
        f"{ours['n_distinct_histories']:,} distinct histories), time unit {args.time_unit}"
    )
    print(f"{'':28}{'ours':>12}{'lifetimes':>12}{'ratio':>9}")
    for label, key in (
        ("fit BG/NBD + Gamma-Gamma (s)", "fit_seconds"),
        ("point predictions (s)", "predict_seconds"),
        ("total (s)", "total_seconds"),
    ):
        print(f"{label:28}{ours[key]:12.2f}{theirs[key]:12.2f}{theirs[key] / ours[key]:9.1f}x")
    print(
        f"{'peak RSS (MB)':28}{ours['peak_rss_mb']:12.0f}{theirs['peak_rss_mb']:12.0f}"
        f"{'':9}  (process with the simulated data alone: {simulation['peak_rss_mb']:.0f})"
    )
    print(f"{'+ 80% intervals (s)':28}{ours['forecast_with_intervals_seconds']:12.2f}{'-':>12}")
    print("estimates       " + "  ".join(f"{k}={v:.5g}" for k, v in ours["params"].items()))
    print(
        f"max relative difference: parameters {max(parameter_differences.values()):.1e}, "
        f"predictions {max(prediction_differences.values()):.1e}"
    )
    print(f"results written to {RESULTS_PATH.relative_to(PROJECT_ROOT)}")

    assert ours["converged"], "our fits did not converge"
    assert max(parameter_differences.values()) < 1e-4, parameter_differences
    assert max(prediction_differences.values()) < 1e-4, prediction_differences
    if args.customers >= SPEEDUP_ASSERTED_FROM:
        assert speedup >= 10, f"ours is only {speedup:.1f}x faster than lifetimes"
    else:
        print(f"(speed-up not asserted below {SPEEDUP_ASSERTED_FROM:,} customers: fixed costs dominate)")


if __name__ == "__main__":
    main()
