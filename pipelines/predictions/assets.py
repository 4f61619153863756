"""Predictive CLV as Dagster assets: predictions, the fitted parameters and the back-test.

Reads the dbt model int_customer_transaction_summaries, writes Parquet that dbt reads back as sources
(the customers mart gains the predicted columns, retention_metrics the predicted CLV:CAC). A fit that does
not converge fails a blocking check; a model that forecasts worse than the naive "same rate as before"
forecast on the back-test raises a warning.
"""

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from pipelines.partitions import IN_ONE_RUN
from pipelines.predictions.horizon import HORIZON_MONTHS, MONTHLY_DISCOUNT_RATE, TIME_UNIT
from pipelines.settings import Settings
from pipelines.transform.assets import WAREHOUSE_POOL, dbt_model_key

if TYPE_CHECKING:  # the models (numpy, scipy, pandas) load when the asset runs, not with the code location
    import pandas as pd

    from pipelines.predictions.clv import ClvRun

PREDICTIONS_KEY = AssetKey(["predictions", "customer_clv_predictions"])
MODEL_FITS_KEY = AssetKey(["predictions", "clv_model_fits"])
BACKTEST_KEY = AssetKey(["predictions", "clv_backtest"])
SUMMARIES_MODEL = "int_customer_transaction_summaries"


def _write_parquet(frame: "pd.DataFrame", path: Path) -> None:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        con.execute(f"copy (select * from frame) to '{tmp}' (format parquet, compression zstd)")
    finally:
        con.close()
    os.replace(tmp, path)


def _read_summaries(settings: Settings) -> tuple["pd.DataFrame", object, int]:
    import duckdb

    con = duckdb.connect(str(settings.warehouse_db), read_only=True)
    try:
        summaries = con.sql(f"select * from intermediate.{SUMMARIES_MODEL} order by customer_id").df()
        as_of, holdout_days = con.execute(
            "select as_of_date, backtest_holdout_days from intermediate.int_run_settings").fetchall()[0]
    finally:
        con.close()
    return summaries, as_of, holdout_days


def _calibration_table(run: "ClvRun") -> str:
    rows = run.backtest[run.backtest["scope"] != "all customers"]
    if rows.empty:
        return "no back-test (not enough history before the cut-off)"
    pivot = rows.pivot_table(index="scope", columns="forecast", values="predicted_purchases", sort=False)
    actual = rows.groupby("scope", sort=False)["actual_purchases"].first()
    lines = ["| calibration frequency | actual | model | naive |", "|---|---:|---:|---:|"]
    for scope in actual.index:
        lines.append(f"| {scope.removeprefix('calibration frequency ')} | {actual[scope]:,.0f} | "
                     f"{pivot.loc[scope, 'model']:,.1f} | {pivot.loc[scope, 'naive']:,.1f} |")
    return "Holdout repeat purchases, actual vs predicted (calibration plot as a table):\n\n" + "\n".join(lines)


def _fits_table(fits: "pd.DataFrame") -> str:
    lines = ["| model | fitted on | parameter | estimate | standard error |", "|---|---|---|---:|---:|"]
    for row in fits.itertuples():
        lines.append(f"| {row.model} | {row.fitted_on} | {row.parameter} | {row.estimate:.6g} | "
                     f"{row.standard_error:.3g} |")
    return "\n".join(lines)


@multi_asset(
    name="customer_clv_models",
    group_name="predictions",
    specs=[
        AssetSpec(PREDICTIONS_KEY, deps=[dbt_model_key(SUMMARIES_MODEL)],
                  kinds={"python", "parquet"},
                  description=f"Per customer: P(alive), expected purchases and predicted CLV over the next "
                              f"{HORIZON_MONTHS} months ({MONTHLY_DISCOUNT_RATE:.0%} monthly discount) with 80% "
                              "intervals, expected order value, health score and band."),
        AssetSpec(MODEL_FITS_KEY, deps=[dbt_model_key(SUMMARIES_MODEL)],
                  kinds={"python", "parquet"},
                  description="Fitted BG/NBD (time in days) and Gamma-Gamma parameters with standard errors, "
                              "log-likelihoods and the frequency/spend correlation."),
        AssetSpec(BACKTEST_KEY, deps=[dbt_model_key(SUMMARIES_MODEL)],
                  kinds={"python", "parquet"},
                  description="The model fitted without the last H days, scored on them beside the naive "
                              "'same rate as before' forecast."),
    ],
    check_specs=[
        AssetCheckSpec("fits_converged", asset=PREDICTIONS_KEY, blocking=True,
                       description="BG/NBD and Gamma-Gamma maximum-likelihood fits converged."),
        AssetCheckSpec("model_beats_naive_forecast", asset=BACKTEST_KEY, blocking=False,
                       description="On the back-test, the model's MAE and total error are no worse than the naive "
                                   "forecast's (a warning: the predictions are still published)."),
    ],
    pool=WAREHOUSE_POOL,
    backfill_policy=IN_ONE_RUN,
)
def customer_clv_models(context: AssetExecutionContext):
    from models import ModelFitError
    from pipelines.predictions.clv import predict_customers

    settings = Settings.from_env()
    summaries, as_of, holdout_days = _read_summaries(settings)
    try:
        run = predict_customers(summaries, as_of, holdout_days)
    except ModelFitError as exc:
        raise Failure(description=f"the CLV models cannot be fitted on this data: {exc}", allow_retries=False) from None
    out = settings.warehouse_dir / "predictions"
    _write_parquet(run.predictions, out / "customer_clv_predictions.parquet")
    _write_parquet(run.model_fits, out / "clv_model_fits.parquet")
    _write_parquet(run.backtest, out / "clv_backtest.parquet")

    params = {**{k: round(v, 6) for k, v in run.bgnbd.params._asdict().items()},
              **{f"gg_{k}": round(v, 6) for k, v in run.gamma_gamma.params._asdict().items()}}
    yield MaterializeResult(asset_key=PREDICTIONS_KEY, metadata={
        "dagster/row_count": len(run.predictions),
        "parameters": MetadataValue.json(params),
        "time_unit": TIME_UNIT,
        "bgnbd_log_likelihood": float(run.bgnbd.log_likelihood),
        "gamma_gamma_log_likelihood": float(run.gamma_gamma.log_likelihood),
        "total_predicted_clv_12m": float(run.predictions["predicted_clv_12m"].sum()),
        "health_bands": MetadataValue.json(run.predictions["health_band"].value_counts().to_dict()),
        "frequency_monetary_correlation": float(run.spend_independence.correlation),
        "calibration": MetadataValue.md(_calibration_table(run)),
    })
    yield MaterializeResult(asset_key=MODEL_FITS_KEY, metadata={
        "dagster/row_count": len(run.model_fits),
        "fits": MetadataValue.md(_fits_table(run.model_fits)),
    })
    yield MaterializeResult(asset_key=BACKTEST_KEY, metadata={
        "dagster/row_count": len(run.backtest),
        "summary": MetadataValue.json(run.backtest[run.backtest["scope"] == "all customers"]
                                      .drop(columns=["as_of_date"]).to_dict(orient="records")),
    })
    converged = run.bgnbd.converged and run.gamma_gamma.converged
    yield AssetCheckResult(
        check_name="fits_converged", asset_key=PREDICTIONS_KEY, passed=converged,
        severity=AssetCheckSeverity.ERROR,
        description=None if converged else f"BG/NBD: {run.bgnbd.message}; Gamma-Gamma: {run.gamma_gamma.message}",
        metadata={"bgnbd_converged": run.bgnbd.converged, "gamma_gamma_converged": run.gamma_gamma.converged},
    )
    yield AssetCheckResult(
        check_name="model_beats_naive_forecast", asset_key=BACKTEST_KEY,
        passed=bool(run.model_beats_naive) if run.model_beats_naive is not None else True,
        severity=AssetCheckSeverity.WARN,
        description=None if run.model_beats_naive is not False else
        "on the back-test the BG/NBD forecast did worse than the naive 'same rate as before' forecast",
        metadata={"back_tested": run.model_beats_naive is not None},
    )
