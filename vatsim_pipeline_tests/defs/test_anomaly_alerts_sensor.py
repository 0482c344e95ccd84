"""The `anomaly_alerts` sensor evaluated in process against a real database and a real
local webhook; and the stale-feed evidence it reads from the feed sensor's cursor."""

from __future__ import annotations

from datetime import timedelta

from dagster import DagsterInstance, SensorResult, SkipReason, build_sensor_context

from vatsim_pipeline.analytics.anomalies.thresholds import Thresholds
from vatsim_pipeline.defs.anomaly_alerts import anomaly_alerts, fetched_while_landed
from vatsim_pipeline.defs.resources import DatabaseResource
from vatsim_pipeline.defs.sensor_cursor import FeedCursor
from vatsim_pipeline.resilience.breaker import BreakerState, record_success
from vatsim_pipeline.storage.anomaly_writes import record_stale_feed
from vatsim_pipeline_tests.alerts.webhook_receiver import running_webhook
from vatsim_pipeline_tests.storage.anomaly_support import (
    copies,
    ingest,
    pilot,
    sequence_files,
    stamps,
    summary,
)


def _emergency(index: int, document: dict) -> None:
    if index >= 1:
        pilot(document, "AAL1233")["transponder"] = "7700"


def _tick(database_url: str):
    context = build_sensor_context(
        instance=DagsterInstance.get(), resources={"database": DatabaseResource(url=database_url)}
    )
    return anomaly_alerts(context)


def test_the_sensor_posts_new_anomalies_once(
    vatsim_env, engine, database_url, tmp_path, monkeypatch
) -> None:
    ingest(engine, copies(tmp_path, sequence_files()[:3], _emergency))
    first = _tick(database_url)
    assert isinstance(first, SkipReason)
    assert "VATSIM_ALERT_WEBHOOK_URL is not set" in first.skip_message
    with running_webhook() as hook:
        monkeypatch.setenv("VATSIM_ALERT_WEBHOOK_URL", hook.url)
        sent = _tick(database_url)
        assert isinstance(sent, SensorResult)
        (observation,) = sent.asset_events
        assert observation.asset_key.to_user_string() == "anomalies"
        assert observation.metadata["alerts_sent"].value == 2
        assert sent.skip_reason.skip_message == "2 alert(s) sent"
        again = _tick(database_url)
        assert again.skip_message == "no new anomaly to alert"
        assert len(hook.bodies) == 2


def test_a_webhook_that_is_down_is_reported_not_raised(
    vatsim_env, engine, database_url, tmp_path, monkeypatch
) -> None:
    ingest(engine, copies(tmp_path, sequence_files()[:1]))
    with running_webhook() as hook:
        hook.fail_with = [503] * 10
        monkeypatch.setenv("VATSIM_ALERT_WEBHOOK_URL", hook.url)
        monkeypatch.setenv("VATSIM_ALERT_RETRIES", "1")
        result = _tick(database_url)
    assert result.asset_events[0].metadata["alerts_failed"].value == 1
    assert "1 could not be delivered (HTTP 503 Service Unavailable)" in (
        result.skip_reason.skip_message
    )


def test_a_fetch_long_after_the_newest_landed_update_is_a_stale_feed(engine, tmp_path) -> None:
    paths = copies(tmp_path, sequence_files())
    ingest(engine, paths[:4])
    t = stamps(paths)
    cursor = FeedCursor(last_landed=t[3])
    assert fetched_while_landed(cursor) is None  # never fetched
    fetched = t[3] + timedelta(seconds=125)
    cursor.breakers = cursor.breakers.with_state("feed", record_success(BreakerState(), fetched))
    parsed = FeedCursor.parse(cursor.dump())  # as the sensor stores it
    assert fetched_while_landed(parsed) == (t[3], fetched)
    assert record_stale_feed(engine, *fetched_while_landed(parsed), Thresholds())
    assert ("stale_feed", None, None, t[3], None) in summary(engine)
