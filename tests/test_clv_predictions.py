"""Predictive CLV on generated data, where the generator knows the truth behind every customer."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pytest
from scipy.stats import rankdata

from models import fit_bgnbd, summarise_transactions
from pipelines.sample_data import generate

# Purchases observed in the extracts are the generated ones minus refunds and cancellations (6 %) and with
# same-day purchases merged, which slows the apparent purchase rate: alpha is allowed more room than r, a, b.
RELATIVE_TOLERANCE = {"r": 0.10, "alpha": 0.20, "a": 0.15, "b": 0.20}


def roc_auc(score: np.ndarray, positive: np.ndarray) -> float:
    ranks = rankdata(score)
    n_positive, n_negative = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative))


def test_bgnbd_recovers_the_generating_parameters(tmp_path):
    summary = generate(tmp_path / "landing", customers=20_000, seed=3, progress=False)
    truth = json.loads((summary.truth_dir / "generation.json").read_text())
    orders = duckdb.sql(f"""
        select customer_id, cast(ordered_at as date) as day, amount
        from read_csv('{tmp_path / "landing"}/orders_*.csv') where status = 'completed'
    """).df()
    history = summarise_transactions(orders["customer_id"].to_numpy(), orders["day"].to_numpy(),
                                     orders["amount"].to_numpy(float), orders["day"].max(), time_unit="days")
    fit = fit_bgnbd(history["frequency"], history["recency"], history["T"], time_unit="days")
    generating = next(v for v in truth["parameters"].values() if isinstance(v, dict) and v.get("model") == "BG/NBD")
    print("\nBG/NBD on 20,000 generated customers (days):",
          {name: (round(getattr(fit.params, name), 3), generating[name]) for name in RELATIVE_TOLERANCE})
    for name, tolerance in RELATIVE_TOLERANCE.items():
        assert getattr(fit.params, name) == pytest.approx(generating[name], rel=tolerance), name


def test_health_score_ranks_customers_who_really_dropped_out_as_riskier(published_workspace, sample_landing):
    workspace, _ = published_workspace
    rows = duckdb.sql(f"""
        select c.health_score, c.probability_alive, t.is_alive_at_end
        from read_parquet('{workspace.warehouse_dir / "exports" / "customers.parquet"}') as c
        join read_parquet('{workspace.warehouse_dir / "private" / "customer_pseudonyms.parquet"}') as p
            using (customer_key)
        join read_parquet('{sample_landing.parent / "truth" / "customer_truth.parquet"}') as t using (customer_id)
        where c.has_purchased
    """).fetchnumpy()
    alive = rows["is_alive_at_end"].astype(bool)
    health_auc = roc_auc(rows["health_score"], alive)
    p_alive_auc = roc_auc(rows["probability_alive"], alive)
    print(f"\nROC AUC against the true drop-outs ({alive.size} customers): health score {health_auc:.3f}, "
          f"P(alive) alone {p_alive_auc:.3f}")
    assert health_auc > 0.75


def test_published_predictions_have_intervals_fits_and_a_backtest(published_workspace):
    workspace, result = published_workspace
    con = duckdb.connect(str(workspace.bi_db), read_only=True)
    try:
        bad_intervals = con.execute("""
            select count(*) from customers
            where has_purchased and not (predicted_clv_12m_p10 <= predicted_clv_12m
                                         and predicted_clv_12m <= predicted_clv_12m_p90
                                         and expected_purchases_12m_p10 <= expected_purchases_12m
                                         and expected_purchases_12m <= expected_purchases_12m_p90)
        """).fetchall()[0][0]
        missing = con.execute("select count(*) from customers where has_purchased and predicted_clv_12m is null"
                              ).fetchall()[0][0]
        parameters = {row[0] for row in con.execute(
            "select parameter from clv_model_fits where fitted_on = 'full history'").fetchall()}
        backtest = dict(con.execute(
            "select forecast, mean_absolute_error from clv_backtest where scope = 'all customers'").fetchall())
        at_risk_without_consent = con.execute("""
            select count(*) from customers_at_risk r join customers c using (customer_key)
            where not c.has_marketing_consent
        """).fetchall()[0][0]
    finally:
        con.close()
    assert bad_intervals == 0 and missing == 0
    assert {"r", "alpha", "a", "b", "p", "q", "gamma", "frequency_monetary_correlation"} <= parameters
    assert set(backtest) == {"model", "naive"}
    assert at_risk_without_consent == 0
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["fits_converged"] is True
    assert "model_beats_naive_forecast" in checks
