"""Predictive CLV as Dagster assets: predictions, the fitted parameters and the back-test.

Reads the dbt model int_customers_summarized_for_predictions, writes Parquet that dbt reads back as sources
(the customers mart gains the predicted columns, retention_metrics the predicted CLV:CAC). Predictions never
block the metrics: a model that cannot be fitted (too little data, no maximum) leaves its prediction columns
null with the reason in clv_model_fits, and a warning-severity check says why; so does a back-test that
could not be scored, or a model that forecasts worse than the naive "same rate as before" forecast. The
asset does not raise for the data.
"""

import math
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
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from pipelines.checks import interval_checks
from pipelines.partitions import IN_ONE_RUN
from pipelines.predictions.horizon import HORIZON_MONTHS, MONTHLY_DISCOUNT_RATE, TIME_UNIT
from pipelines.settings import Settings
from pipelines.shared import WAREHOUSE_POOL, RetentioSettings
from pipelines.transform.assets import dbt_model_key

if TYPE_CHECKING:  # the models (numpy, scipy, pandas) load when the asset runs, not with the code location
    import pandas as pd

    from pipelines.predictions.clv import ClvRun

PREDICTIONS_KEY = AssetKey(["predictions", "customer_clv_predictions"])
MODEL_FITS_KEY = AssetKey(["predictions", "clv_model_fits"])
BACKTEST_KEY = AssetKey(["predictions", "clv_backtest"])
SUMMARIES_MODEL = "int_customers_summarized_for_predictions"


def _write_parquet(frame: "pd.DataFrame", columns: dict[str, str], path: Path) -> None:
    """Write ``frame`` with exactly ``columns`` (name -> DuckDB type): the types dbt's sources read stay the
    same when a column is all null or the frame is empty (NaN is stored as null)."""
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    select = ", ".join(f'cast("{name}" as {kind}) as "{name}"' for name, kind in columns.items())
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        con.execute(f"copy (select {select} from frame) to '{tmp}' (format parquet, compression zstd)")
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


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(value, digits: int) -> str:
    """A number for the Markdown tables; a dash for a missing one (null, NaN)."""
    return "–" if _missing(value) else f"{value:,.{digits}f}"


def _text(value) -> str:
    return "–" if _missing(value) else str(value)


def _records(frame: "pd.DataFrame") -> list[dict]:
    """Rows as JSON-ready dicts: dates as text, missing numbers as null (JSON has no NaN)."""
    def value(v):
        return None if _missing(v) else (v.isoformat() if hasattr(v, "isoformat") else v)

    return [{k: value(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _calibration_table(run: "ClvRun") -> str:
    rows = run.backtest[run.backtest["scope"] != "all customers"]
    if rows.empty:
        return "no back-test (not enough history before the cut-off)"
    lines = ["| calibration frequency | actual | model | naive |", "|---|---:|---:|---:|"]
    for scope, group in rows.groupby("scope", sort=False):
        predicted = dict(zip(group["forecast"], group["predicted_purchases"], strict=True))
        lines.append(f"| {scope.removeprefix('calibration frequency ')} | "
                     f"{_number(group['actual_purchases'].iloc[0], 0)} | {_number(predicted.get('model'), 1)} | "
                     f"{_number(predicted.get('naive'), 1)} |")
    note = "" if run.backtest_model.is_fitted else f" (model not fitted: {run.backtest_model.reason})"
    return (f"Holdout repeat purchases, actual vs predicted (calibration plot as a table){note}:\n\n"
            + "\n".join(lines))


def _fits_table(fits: "pd.DataFrame") -> str:
    lines = ["| model | fitted on | status | variant | parameter | estimate | standard error |",
             "|---|---|---|---|---|---:|---:|"]
    for row in fits.itertuples():
        lines.append(f"| {row.model} | {row.fitted_on} | {row.status} | {_text(row.variant)} | "
                     f"{_text(row.parameter)} | {_number(row.estimate, 6)} | {_number(row.standard_error, 4)} |")
    return "\n".join(lines)


def _candidates_table(run: "ClvRun") -> str:
    """Every model tried, with its log-likelihood: the evidence for the choice."""
    lines = ["| model | fitted on | variant | parameters | log-likelihood | converged |",
             "|---|---|---|---:|---:|---|"]
    for label, fit in (("full history", run.purchase_model), ("full history", run.spend_model),
                       ("back-test", run.backtest_model)):
        for c in fit.candidates:
            chosen = " (chosen)" if c.variant == fit.variant_name else ""
            lines.append(f"| {fit.model} | {label} | {c.variant}{chosen} | {c.parameters} | "
                         f"{_number(c.log_likelihood, 3)} | {'yes' if c.converged else c.message} |")
    return "\n".join(lines)


def _purchase_model_name(fit) -> str:
    return {"pareto_nbd": "Pareto/NBD", "bg_nbd_covariates": "BG/NBD with covariates"}.get(fit.model, "BG/NBD")


def _fit_summary(name: str, fit) -> str:
    """One model's outcome in words, for the check's description."""
    if fit.status == "fitted":
        return f"{name}: fitted ({fit.variant_name})"
    if fit.status == "limiting_case":
        return f"{name}: limiting case {fit.variant_name}, {fit.reason}"
    return f"{name} not fitted, its predictions are null: {fit.reason}"


@multi_asset(
    name="customer_clv_models",
    group_name="predictions",
    specs=[
        AssetSpec(PREDICTIONS_KEY, deps=[dbt_model_key(SUMMARIES_MODEL)],
                  kinds={"python", "parquet"},
                  description=f"Per customer: P(alive), expected purchases and predicted CLV over the next "
                              f"{HORIZON_MONTHS} months ({MONTHLY_DISCOUNT_RATE:.0%} monthly discount) with 80% "
                              "intervals, expected order value, health score and band, from the purchase model "
                              "the back-test chose (BG/NBD, Pareto/NBD or BG/NBD with covariates)."),
        AssetSpec(MODEL_FITS_KEY, deps=[dbt_model_key(SUMMARIES_MODEL)],
                  kinds={"python", "parquet"},
                  description="BG/NBD, Pareto/NBD and the covariate models (time in days; the back-test "
                              "chooses which one predicts) and Gamma-Gamma: status (fitted, limiting_case, "
                              "not_fitted), the variant chosen and why, parameters with standard errors, "
                              "log-likelihoods and the frequency/spend correlation."),
        AssetSpec(BACKTEST_KEY, deps=[dbt_model_key(SUMMARIES_MODEL)],
                  kinds={"python", "parquet"},
                  description="The model fitted without the last H days, scored on them beside the naive "
                              "'same rate as before' forecast, and the calibration of its 80 % purchase intervals "
                              "(shares of customers below / at or below p10, above / at or above p90)."),
    ],
    check_specs=[
        AssetCheckSpec("clv_models_fitted", asset=PREDICTIONS_KEY, blocking=False,
                       description="BG/NBD and Gamma-Gamma (or their limiting cases) could be fitted; a warning "
                                   "that says why when not: the metrics are published either way, the "
                                   "predictions null."),
        AssetCheckSpec("model_beats_naive_forecast", asset=BACKTEST_KEY, blocking=False,
                       description="On the back-test, the model was fitted and its MAE and total error are no "
                                   "worse than the naive forecast's (a warning: the predictions are still "
                                   "published)."),
        AssetCheckSpec(interval_checks.CHECK_NAME, asset=BACKTEST_KEY, blocking=False,
                       description=interval_checks.DESCRIPTION),
    ],
    pool=WAREHOUSE_POOL,
    backfill_policy=IN_ONE_RUN,
)
def customer_clv_models(context: AssetExecutionContext, retentio_settings: RetentioSettings):
    from pipelines.predictions.clv import (
        BACKTEST_COLUMNS,
        MODEL_FIT_COLUMNS,
        PREDICTION_COLUMNS,
        predict_customers,
    )
    from pipelines.predictions.huge_pages import huge_page_advice_off

    settings = retentio_settings.get()
    with huge_page_advice_off():
        summaries, as_of, holdout_days = _read_summaries(settings)
        run = predict_customers(summaries, as_of, holdout_days)
        out = settings.warehouse_dir / "predictions"
        _write_parquet(run.predictions, PREDICTION_COLUMNS, out / "customer_clv_predictions.parquet")
        _write_parquet(run.model_fits, MODEL_FIT_COLUMNS, out / "clv_model_fits.parquet")
        _write_parquet(run.backtest, BACKTEST_COLUMNS, out / "clv_backtest.parquet")

    params = {**{k: round(v, 6) for k, v in run.purchase_model.params.items()},
              **{f"gg_{k}": round(v, 6) for k, v in run.spend_model.params.items()}}
    predicted_clv = run.predictions["predicted_clv_12m"]
    yield MaterializeResult(asset_key=PREDICTIONS_KEY, metadata={
        "dagster/row_count": len(run.predictions),
        "purchase_model": _fit_summary(_purchase_model_name(run.purchase_model), run.purchase_model),
        "spend_model": _fit_summary("Gamma-Gamma", run.spend_model),
        "parameters": MetadataValue.json(params),
        "time_unit": TIME_UNIT,
        "purchase_model_log_likelihood": MetadataValue.float(float(run.purchase_model.log_likelihood)),
        "gamma_gamma_log_likelihood": MetadataValue.float(float(run.spend_model.log_likelihood)),
        "total_predicted_clv_12m": MetadataValue.float(float(predicted_clv.sum()) if predicted_clv.notna().any()
                                                       else float("nan")),
        "health_bands": MetadataValue.json(run.predictions["health_band"].value_counts().to_dict()),
        "frequency_monetary_correlation": MetadataValue.float(float(run.spend_independence.correlation)),
        "models_tried": MetadataValue.md(_candidates_table(run)),
        "calibration": MetadataValue.md(_calibration_table(run)),
    })
    yield MaterializeResult(asset_key=MODEL_FITS_KEY, metadata={
        "dagster/row_count": len(run.model_fits),
        "fits": MetadataValue.md(_fits_table(run.model_fits)),
    })
    yield MaterializeResult(asset_key=BACKTEST_KEY, metadata={
        "dagster/row_count": len(run.backtest),
        "model_status": run.backtest_model.status,
        "summary": MetadataValue.json(_records(run.backtest[run.backtest["scope"] == "all customers"]
                                               .drop(columns=["as_of_date"]))),
        "interval_calibration": MetadataValue.json(run.interval_shares or {}),
    })
    fitted = run.purchase_model.is_fitted and run.spend_model.is_fitted
    yield AssetCheckResult(
        check_name="clv_models_fitted", asset_key=PREDICTIONS_KEY, passed=fitted,
        severity=AssetCheckSeverity.WARN,
        description="; ".join([_fit_summary(_purchase_model_name(run.purchase_model), run.purchase_model),
                               _fit_summary("Gamma-Gamma", run.spend_model)]),
        metadata={"bgnbd_status": run.purchase_model.status, "gamma_gamma_status": run.spend_model.status,
                  "bgnbd_variant": run.purchase_model.variant_name or "",
                  "gamma_gamma_variant": run.spend_model.variant_name or ""},
    )
    if not run.backtest_model.is_fitted:
        backtest_description = ("the back-test was not scored: "
                                + _fit_summary("BG/NBD on the history before the cut-off", run.backtest_model))
    elif run.model_beats_naive is False:
        backtest_description = (f"on the back-test the {_purchase_model_name(run.backtest_model)} forecast did "
                                "worse than the naive 'same rate as before' forecast")
    else:
        backtest_description = None
    yield AssetCheckResult(
        check_name="model_beats_naive_forecast", asset_key=BACKTEST_KEY,
        passed=bool(run.model_beats_naive), severity=AssetCheckSeverity.WARN,
        description=backtest_description,
        metadata={"back_tested": run.model_beats_naive is not None, "model_status": run.backtest_model.status},
    )
    yield interval_checks.interval_calibration_result(
        run.interval_shares, run.backtest_model.status,
        None if run.backtest_model.is_fitted else _fit_summary("BG/NBD on the history before the cut-off",
                                                               run.backtest_model))
