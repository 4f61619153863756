"""The Dagster asset: key, group and dependency, and a materialization with its metadata."""

from __future__ import annotations

import re
import shutil

from dagster import AssetKey, AssetSpec, DagsterInstance, materialize

from pipelines.report.assets import PUBLISHED_MARTS_KEY, report_assets, retention_report
from pipelines.shared import RetentioSettings
from tests.conftest import Workspace, environment


def test_the_report_follows_the_publication():
    spec = next(iter(retention_report.specs))
    assert spec.key == AssetKey(["report", "retention_report"])
    assert spec.group_name == "report"
    assert {dep.asset_key for dep in spec.deps} == {AssetKey(["bi", "published_marts"])}
    assert report_assets == [retention_report]


def test_materializing_writes_the_report_and_describes_it(full_bi_file, tmp_path):
    workspace = Workspace(tmp_path / "landing", tmp_path / "warehouse")
    workspace.warehouse_dir.mkdir()
    shutil.copy(full_bi_file, workspace.bi_db)
    with environment(workspace):
        result = materialize([retention_report, AssetSpec(PUBLISHED_MARTS_KEY)], selection=[retention_report],
                             instance=DagsterInstance.ephemeral(), raise_on_error=True, resources={"retentio_settings": RetentioSettings()})
    assert result.success
    metadata = result.asset_materializations_for_node("report__retention_report")[0].metadata
    path = workspace.warehouse_dir / "report" / "retention_report.html"
    assert metadata["report"].path == str(path) and path.stat().st_size == metadata["size_bytes"].value
    assert metadata["last_complete_month"].text == "February 2026"
    assert metadata["row_counts"].data["customers"] == 7 and metadata["row_counts"].data["alerts"] == 1
    table = metadata["last_12_months"].md_str.splitlines()
    assert len(table) == 2 + 12 and table[2].startswith("| Feb 2026 | 1,130 |")
    trend = metadata["crr_and_churn_trend"].md_str
    assert len(re.findall(r"!\[[^\]]+\]\(data:image/svg\+xml;base64,[A-Za-z0-9+/=]+\)", trend)) == 2
    assert "**CRR** `" in trend and "96.5%" in trend
