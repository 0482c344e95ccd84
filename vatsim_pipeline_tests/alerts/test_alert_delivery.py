"""Alerts: each new anomaly of a configured kind POSTed once to a real local webhook, with
retries; what cannot be delivered is marked and counted; bad settings refused."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from sqlalchemy import select

from vatsim_pipeline.alerts.delivery import deliver_pending
from vatsim_pipeline.alerts.settings import AlertSettings, SettingError
from vatsim_pipeline.alerts.webhook import post_json
from vatsim_pipeline.storage.anomalies import anomalies
from vatsim_pipeline.storage.anomaly_reads import alert_counts
from vatsim_pipeline_tests.alerts.webhook_receiver import running_webhook
from vatsim_pipeline_tests.storage.anomaly_support import (
    copies,
    ingest,
    pilot,
    sequence_files,
    stamps,
)

NO_WAIT = {"sleep": lambda seconds: None}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_post_retries_server_errors_then_delivers() -> None:
    with running_webhook() as hook:
        hook.fail_with = [503, 500]
        assert post_json(hook.url, {"content": "x"}, timeout_s=2, retries=3, **NO_WAIT) is None
        assert hook.attempts == 3
        assert hook.bodies == [{"content": "x"}]


def test_post_gives_up_after_the_retries_and_says_why() -> None:
    with running_webhook() as hook:
        hook.fail_with = [503] * 5
        error = post_json(hook.url, {}, timeout_s=2, retries=2, **NO_WAIT)
        assert error == "HTTP 503 Service Unavailable"
        assert hook.attempts == 3
        hook.fail_with = [404]
        assert post_json(hook.url, {}, timeout_s=2, retries=2, **NO_WAIT) == "HTTP 404 Not Found"
        assert hook.attempts == 4  # a 404 is not retried
    down = f"http://127.0.0.1:{_free_port()}/hook"
    assert post_json(down, {}, timeout_s=1, retries=1, **NO_WAIT).startswith("ConnectionError")


def _emergencies(index: int, document: dict) -> None:
    if index >= 1:
        pilot(document, "AAL1233")["transponder"] = "7700"
    if index == 3:
        pilot(document, "AAL298")["latitude"] += 5.0  # a teleport: not an alert kind


def test_each_new_squawk_is_posted_once(engine, tmp_path) -> None:
    paths = copies(tmp_path, sequence_files(), _emergencies)
    ingest(engine, paths[:3])
    with running_webhook() as hook:
        settings = AlertSettings(webhook_url=hook.url)
        delivery = deliver_pending(engine, settings)
        assert len(delivery.sent) == 2
        assert sorted(b["anomaly"]["callsign"] for b in hook.bodies) == ["AAL1233", "RDF7"]
        body = next(b for b in hook.bodies if b["anomaly"]["callsign"] == "AAL1233")
        assert body["content"].startswith("emergency_squawk: AAL1233 (cid 815803) squawks 7700")
        assert body["text"] == body["content"]
        assert body["anomaly"]["trigger"]["transponder"] == "7700"
        assert body["anomaly"]["active"] is True
        # More snapshots extend the same anomalies, a replay changes nothing: no new POST.
        ingest(engine, paths[3:] + paths)
        assert deliver_pending(engine, settings).sent == []
        assert len(hook.bodies) == 2


def test_an_unreachable_webhook_marks_the_alert_failed_and_counts_it(engine, tmp_path) -> None:
    paths = copies(tmp_path, sequence_files(), _emergencies)
    ingest(engine, paths)
    down = AlertSettings(webhook_url=f"http://127.0.0.1:{_free_port()}/hook", retries=1)
    delivery = deliver_pending(engine, down)
    # The first failure stops the batch: the next waits for the next call.
    assert len(delivery.failed) == 1
    assert delivery.sent == []
    assert next(iter(delivery.failed.values())).startswith("ConnectionError")
    t = stamps(paths)
    with engine.connect() as connection:
        counts = alert_counts(connection, t[0], t[-1] + timedelta(days=10_000))
        statuses = connection.execute(
            select(anomalies.c.kind, anomalies.c.alert_status).order_by(anomalies.c.id)
        ).all()
    assert counts == {"sent": 0, "failed": 1, "skipped": 0}
    assert [status for _, status in statuses].count(None) == 2  # one squawk, the teleport


def test_old_anomalies_are_not_news(engine, tmp_path) -> None:
    paths = copies(tmp_path, sequence_files(), _emergencies)
    ingest(engine, paths)
    with running_webhook() as hook:
        # RDF7's started 105 s before the newest snapshot, AAL1233's 45 s.
        delivery = deliver_pending(engine, AlertSettings(webhook_url=hook.url, max_age_s=60))
        assert len(delivery.skipped) == 1
        assert [b["anomaly"]["callsign"] for b in hook.bodies] == ["AAL1233"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"VATSIM_ALERT_WEBHOOK_URL": "discord.com/api/webhooks/1"},
            "VATSIM_ALERT_WEBHOOK_URL: 'discord.com/api/webhooks/1' is not an http(s) URL "
            "with a host",
        ),
        (
            {"VATSIM_ALERT_WEBHOOK_URL": "https://host:port/x"},
            "VATSIM_ALERT_WEBHOOK_URL: 'https://host:port/x' is not a URL",
        ),
        ({"VATSIM_ALERT_KINDS": "teleport,squawk"}, "VATSIM_ALERT_KINDS: squawk is not a kind"),
        ({"VATSIM_ALERT_TIMEOUT_S": "0"}, "VATSIM_ALERT_TIMEOUT_S: '0' must be a positive"),
        ({"VATSIM_ALERT_INTERVAL_S": "7.5"}, "VATSIM_ALERT_INTERVAL_S: '7.5' must be a whole"),
        ({"VATSIM_ALERT_INTERVAL_S": "0"}, "VATSIM_ALERT_INTERVAL_S: '0' must be a positive"),
    ],
)
def test_malformed_settings_are_refused_naming_the_variable(env, message) -> None:
    with pytest.raises(SettingError) as raised:
        AlertSettings.from_env(env)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_default_settings() -> None:
    settings = AlertSettings.from_env({"VATSIM_ALERT_WEBHOOK_URL": "https://example.org/h"})
    assert settings.webhook_url == "https://example.org/h"
    assert settings.kinds == (
        "emergency_squawk",
        "radio_failure_squawk",
        "hijack_squawk",
        "stale_feed",
    )
    assert settings.interval_s == 15  # one feed update between two ticks of the sensor
    assert AlertSettings.from_env({}).webhook_url is None
    assert AlertSettings.from_env({"VATSIM_ALERT_INTERVAL_S": "30"}).interval_s == 30
