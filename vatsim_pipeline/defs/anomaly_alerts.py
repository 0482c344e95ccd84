"""The `anomaly_alerts` sensor: POSTs each new anomaly of the configured kinds to the
webhook once, and notices a stale feed while it happens.

A sensor, not a step of the ingest run, so that a webhook that is down never fails or
delays ingest; and not a thread of our own, so the daemon runs, times and logs it. What
could not be delivered is marked `failed` on its row and counted by `report events`.

The sensor ticks every `VATSIM_ALERT_INTERVAL_S` (15 s, one feed update): an alert goes
out within about that long after its snapshot is stored. At 5 s it ticked three times
per update, each tick a sensor evaluation in the code server and a tick record written
by the daemon (docs/performance.md, issue 14).

A stale feed stores nothing (the feed sensor lands only new updates), so it is seen
here: the feed sensor's cursor holds its last successful fetch and the newest update it
landed; a fetch that long after that update is the evidence (`record_stale_feed`).
"""

from __future__ import annotations

from datetime import datetime

from dagster import (
    AssetObservation,
    DefaultSensorStatus,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from vatsim_pipeline.alerts.delivery import Delivery, deliver_pending
from vatsim_pipeline.alerts.settings import WEBHOOK_URL, AlertSettings, SettingError
from vatsim_pipeline.analytics.anomalies.thresholds import Thresholds
from vatsim_pipeline.defs.anomaly_assets import ANOMALIES
from vatsim_pipeline.defs.resources import DatabaseResource
from vatsim_pipeline.defs.sensor_cursor import FeedCursor
from vatsim_pipeline.storage.anomaly_writes import record_stale_feed

FEED_SENSOR = "vatsim_feed_sensor"
FEED = "feed"


def _interval_s() -> int:
    """The configured interval; a malformed one is refused when the definitions load
    (`definitions.build_definitions`), so the default stands in here."""
    try:
        return AlertSettings.from_env().interval_s
    except SettingError:
        return AlertSettings.interval_s


INTERVAL_S = _interval_s()


def _feed_sensor_cursor(context: SensorEvaluationContext) -> FeedCursor | None:
    for state in context.instance.all_instigator_state():
        if state.instigator_name == FEED_SENSOR and state.instigator_type.value == "SENSOR":
            cursor = getattr(state.instigator_data, "cursor", None)
            return FeedCursor.parse(cursor) if cursor else None
    return None


def fetched_while_landed(cursor: FeedCursor) -> tuple[datetime, datetime] | None:
    """(newest update landed, last successful fetch) from the feed sensor's cursor: a fetch
    after which no newer update was landed found the feed still at that update."""
    fetched = cursor.breakers.state(FEED).last_success_time
    if cursor.last_landed is None or fetched is None:
        return None
    return cursor.last_landed, fetched


def _notice_stale_feed(context: SensorEvaluationContext, database: DatabaseResource) -> str:
    cursor = _feed_sensor_cursor(context)
    seen = fetched_while_landed(cursor) if cursor is not None else None
    if seen is None:
        return ""
    landed, fetched = seen
    if record_stale_feed(database.engine(), landed, fetched, Thresholds.from_env()):
        return f"stale feed: still at {landed.isoformat()} when fetched at {fetched.isoformat()}"
    return ""


def _summary(delivery: Delivery) -> str:
    parts = [f"{len(delivery.sent)} alert(s) sent"]
    if delivery.failed:
        first = next(iter(delivery.failed.values()))
        parts.append(f"{len(delivery.failed)} could not be delivered ({first})")
    if delivery.skipped:
        parts.append(f"{len(delivery.skipped)} too old to alert")
    return ", ".join(parts)


@sensor(
    name="anomaly_alerts",
    minimum_interval_seconds=INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description=f"POSTs each new anomaly of VATSIM_ALERT_KINDS to {WEBHOOK_URL} once "
    "(retries, timeout); records a stale feed seen by the feed sensor.",
)
def anomaly_alerts(
    context: SensorEvaluationContext, database: DatabaseResource
) -> SensorResult | SkipReason:
    settings = AlertSettings.from_env()
    notes = [_notice_stale_feed(context, database)]
    if settings.webhook_url is None:
        notes.append(f"{WEBHOOK_URL} is not set: no alerts")
        return SkipReason("; ".join(note for note in notes if note))
    delivery = deliver_pending(database.engine(), settings)
    if not (delivery.sent or delivery.failed or delivery.skipped):
        notes.append("no new anomaly to alert")
        return SkipReason("; ".join(note for note in notes if note))
    notes.append(_summary(delivery))
    reason = "; ".join(note for note in notes if note)
    context.log.info(reason)
    return SensorResult(
        asset_events=[
            AssetObservation(
                asset_key=ANOMALIES,
                description=reason,
                metadata={
                    "alerts_sent": len(delivery.sent),
                    "alerts_failed": len(delivery.failed),
                    "alerts_skipped": len(delivery.skipped),
                },
            )
        ],
        skip_reason=reason,
    )
