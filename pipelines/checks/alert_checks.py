"""Retention alerts as a warning-severity asset check, and an optional webhook to tell a person.

The `alerts` mart decides what is an alert (thresholds in the README); this check surfaces it in the
run's check results and, when RETENTIO_ALERT_WEBHOOK_URL is set, POSTs the alerts as JSON (e.g. to a Slack
or Teams incoming webhook). It never blocks publishing: the numbers are right, they are just worrying.
"""

import json
import urllib.request

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from pipelines.checks.warehouse_reads import rows_as_dicts
from pipelines.shared import RetentioSettings
from pipelines.transform.assets import dbt_model_key

WEBHOOK_TIMEOUT_SECONDS = 10


def read_alerts(warehouse_db) -> list[dict]:
    return rows_as_dicts(warehouse_db, "select * from marts.alerts order by metric")


def post_to_webhook(url: str, alerts: list[dict]) -> None:
    body = json.dumps({"text": "\n".join(a["message"] for a in alerts), "alerts": alerts}, default=str).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS):
        pass


@asset_check(
    asset=dbt_model_key("alerts"),
    name="no_retention_alert",
    blocking=False,
    description="Warns when churn rises, CRR or NPS drops, or CAC rises beyond its threshold (the alerts mart).",
)
def retention_alerts(context, retentio_settings: RetentioSettings) -> AssetCheckResult:
    settings = retentio_settings.get()
    alerts = read_alerts(settings.warehouse_db)
    webhook = settings.alert_webhook_url
    if alerts and webhook:
        try:
            post_to_webhook(webhook, alerts)
        except OSError as exc:  # an unreachable webhook must not hide the alert itself
            context.log.warning(f"could not post the alerts to RETENTIO_ALERT_WEBHOOK_URL: {exc}")
    return AssetCheckResult(
        passed=not alerts,
        severity=AssetCheckSeverity.WARN,
        description="; ".join(a["message"] for a in alerts) or None,
        metadata={"alerts": MetadataValue.json([{k: str(v) for k, v in a.items()} for a in alerts])},
    )
