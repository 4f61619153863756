"""BG/NBD + Gamma-Gamma: Retentio's `models` against `lifetimes` on a tier's own customers.

The histories are the pipeline's (dbt's int_customers_summarized_for_predictions in the tier's warehouse:
x = frequency, t_x = recency_days, T = tenure_days, m = monetary_value, in days). The fitting and the
comparison are benchmarks/bench_clv_fit.py's (`run_ours`, `run_lifetimes`), each implementation in its
own spawned process so that each peak RSS is its own.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import duckdb
import numpy as np

SUMMARIES = "intermediate.int_customers_summarized_for_predictions"


def save_histories(warehouse_db: Path, path: Path) -> int:
    """The tier's (x, t_x, T, m) as an .npz file the worker processes load; returns the customer count."""
    con = duckdb.connect(str(warehouse_db), read_only=True)
    try:
        x, t_x, T, m = (
            np.asarray(column, dtype=float)
            for column in con.execute(
                f"select frequency, recency_days, tenure_days, coalesce(monetary_value, 0) from {SUMMARIES}"
            )
            .fetchnumpy()
            .values()
        )
    finally:
        con.close()
    np.savez(path, frequency=x, recency=t_x, T=T, monetary_value=m)
    return len(x)


def _worker(implementation: str, histories: str, repeats: int) -> dict:
    from benchmarks import bench_clv_fit

    with np.load(histories) as data:
        bench_clv_fit.DATA.update({name: data[name] for name in data.files})
    data_rss = bench_clv_fit.peak_rss_mb()
    run = {"ours": bench_clv_fit.run_ours, "lifetimes": bench_clv_fit.run_lifetimes}[implementation]
    return run("days", repeats) | {"rss_before_mb": data_rss}


def compare(histories: Path, repeats: int = 1) -> dict:
    """Fit and predict with both; times, peak RSS and the largest relative differences."""
    from benchmarks.bench_clv_fit import max_relative_difference

    context = multiprocessing.get_context("spawn")
    results = {}
    for implementation in ("ours", "lifetimes"):
        with context.Pool(1) as pool:
            results[implementation] = pool.apply(_worker, (implementation, str(histories), repeats))
    ours, theirs = results["ours"], results["lifetimes"]
    parameters = {name: abs(ours["params"][name] / theirs["params"][name] - 1) for name in ours["params"]}
    predictions = {
        name: max_relative_difference(ours["predictions"][name], theirs["predictions"][name])
        for name in ours["predictions"]
    }
    for side in (ours, theirs):
        side.pop("predictions")
    return {
        "customers": int(np.load(histories)["frequency"].size),
        "repeats": repeats,
        "ours": ours,
        "lifetimes": theirs,
        "speedup_fit_and_predict": theirs["total_seconds"] / ours["total_seconds"],
        "max_relative_difference_params": max(parameters.values()),
        "max_relative_difference_predictions": max(predictions.values()),
        "agree_to_1e-4": max(parameters.values()) < 1e-4 and max(predictions.values()) < 1e-4,
    }
