"""Deliver the alerts of new anomalies, each once: the row's `alert_status` records the
outcome (`sent`, `failed` after the retries, `skipped` when too old to be news), so a
replayed snapshot, which creates no new row, alerts nobody.

A webhook that is down costs at most one anomaly's retries per call: the rest wait for
the next call. Nothing here runs in the ingest run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from vatsim_pipeline.alerts.message import alert_payload
from vatsim_pipeline.alerts.settings import AlertSettings
from vatsim_pipeline.alerts.webhook import post_json
from vatsim_pipeline.storage.anomaly_reads import mark_alert, pending_alerts
from vatsim_pipeline.storage.schema import feed_snapshots

BATCH = 20

Post = Callable[[str, dict], str | None]


@dataclass
class Delivery:
    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)


def deliver_pending(
    engine: Engine, settings: AlertSettings, post: Post | None = None, now: datetime | None = None
) -> Delivery:
    """POST every pending anomaly of the configured kinds (up to `BATCH`), oldest first."""
    delivery = Delivery()
    if settings.webhook_url is None or not settings.kinds:
        return delivery
    post = post or (
        lambda url, body: post_json(
            url, body, timeout_s=settings.timeout_s, retries=settings.retries
        )
    )
    with engine.connect() as connection:
        pending = pending_alerts(connection, settings.kinds, BATCH)
        newest = connection.scalar(select(func.max(feed_snapshots.c.update_timestamp)))
    for record in pending:
        at = now or datetime.now(UTC)
        started = datetime.fromisoformat(record["started_at"])
        # A back-fill of old payloads is no news: alert only what is recent in feed time.
        if newest is not None and (newest - started).total_seconds() > settings.max_age_s:
            mark_alert(engine, record["id"], "skipped", at, "older than VATSIM_ALERT_MAX_AGE_S")
            delivery.skipped.append(record["id"])
            continue
        error = post(settings.webhook_url, alert_payload(record))
        if error is None:
            mark_alert(engine, record["id"], "sent", at)
            delivery.sent.append(record["id"])
        else:
            mark_alert(engine, record["id"], "failed", at, error)
            delivery.failed[record["id"]] = error
            break
    return delivery
