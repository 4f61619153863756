"""When the incremental customer histories must be rebuilt: the as-of date compared as the setting it is given
as (dbt resolves the date itself, in int_run_settings)."""

from __future__ import annotations

from dataclasses import replace

from pipelines.transform.incremental import HistoryInputs, full_refresh_reason

BUILT = HistoryInputs(raw_orders_generation="g1", as_of_date_setting=None, activity_window_days=365,
                      backtest_holdout_days=91, models_fingerprint="f", dbt_target="duckdb")


def test_the_latest_order_date_as_of_keeps_the_histories(tmp_path):
    warehouse = tmp_path / "retentio.duckdb"
    warehouse.touch()
    assert full_refresh_reason(BUILT, BUILT, warehouse) is None
    assert "raw orders were rebuilt" in full_refresh_reason(BUILT, replace(BUILT, raw_orders_generation="g2"),
                                                            warehouse)


def test_an_as_of_date_set_unset_or_moved_back_rebuilds_them_and_one_moved_forward_does_not(tmp_path):
    warehouse = tmp_path / "retentio.duckdb"
    warehouse.touch()
    on = replace(BUILT, as_of_date_setting="2025-06-30")
    assert full_refresh_reason(on, replace(on, as_of_date_setting="2025-07-31"), warehouse) is None
    assert "2025-06-30 -> 2025-05-31" in full_refresh_reason(on, replace(on, as_of_date_setting="2025-05-31"),
                                                             warehouse)
    assert "latest order date -> 2025-06-30" in full_refresh_reason(BUILT, on, warehouse)
    assert "2025-06-30 -> latest order date" in full_refresh_reason(on, BUILT, warehouse)


def test_no_warehouse_file_needs_no_rebuild(tmp_path):
    assert full_refresh_reason(None, BUILT, tmp_path / "retentio.duckdb") is None
