"""The feed sensor against the real local feed server: landing, run keys, skips and breakers."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from dagster import DagsterInstance, build_sensor_context

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.resources import build_resources
from vatsim_pipeline.defs.sensor_cursor import FeedCursor
from vatsim_pipeline.feed.landing import land, modified_at, read_payload
from vatsim_pipeline.resilience.breaker import CircuitState


class SensorDriver:
    """Evaluates the real sensor tick by tick, carrying its cursor like the daemon does."""

    def __init__(self) -> None:
        self.defs = build_definitions()
        self.sensor = self.defs.resolve_sensor_def("vatsim_feed_sensor")
        self.instance = DagsterInstance.get()
        self.cursor: str | None = None

    def tick(self):
        context = build_sensor_context(
            instance=self.instance, cursor=self.cursor, resources=build_resources()
        )
        data = self.sensor.evaluate_tick(context)
        self.cursor = data.cursor or self.cursor
        for event in data.asset_events:  # stored as the daemon stores them
            self.instance.report_runless_asset_event(event)
        return data

    @property
    def state(self) -> FeedCursor:
        return FeedCursor.parse(self.cursor)


def _current(feed) -> tuple[str, bytes]:
    body = requests.get(feed.data_url, timeout=10).content
    stamp = feed.source.render()[0]
    return stamp, body


def test_each_new_update_is_landed_once_and_requests_one_run(feed, vatsim_env) -> None:
    driver = SensorDriver()

    first = driver.tick()
    assert len(first.run_requests) == 1
    request = first.run_requests[0]
    landed = Path(request.run_config["ops"]["ingest"]["config"]["data_path"])
    assert landed.name.endswith(".json.zst")
    assert read_payload(landed) == requests.get(feed.data_url, timeout=10).content
    assert landed.is_relative_to(vatsim_env["VATSIM_LANDING_DIR"])
    stamp = driver.state.last_landed
    assert request.run_key == stamp.isoformat()
    assert request.tags["vatsim/update_timestamp"] == stamp.isoformat()
    assert request.run_config["ops"]["ingest"]["config"]["transceivers_path"]

    again = driver.tick()
    assert again.run_requests == []
    assert again.skip_message.startswith("no new update:")
    assert stamp.isoformat() in again.skip_message

    newer = datetime.fromisoformat(feed.advance())
    third = driver.tick()
    assert [r.run_key for r in third.run_requests] == [driver.state.last_landed.isoformat()]
    assert abs(driver.state.last_landed - newer) < timedelta(microseconds=1)
    assert driver.state.last_landed > stamp


def test_a_landed_payload_without_a_run_is_requested_on_the_next_tick(feed, vatsim_env) -> None:
    driver = SensorDriver()
    first = driver.tick().run_requests[0]
    orphan_time = driver.state.last_landed + timedelta(seconds=1)
    orphan = land(Path(vatsim_env["VATSIM_LANDING_DIR"]), orphan_time, b"{}", None)
    feed.advance()

    result = driver.tick()

    keys = [r.run_key for r in result.run_requests]
    assert keys[0] == orphan_time.isoformat()
    assert len(keys) == 2 and keys[1] > keys[0] > first.run_key
    assert result.run_requests[0].run_config["ops"]["ingest"]["config"] == {
        "data_path": orphan.data_path,
        "fetched_at": modified_at(orphan.data_path).isoformat(),
        "transceivers_missing": "no transceivers payload was landed with this snapshot",
    }


def test_feed_failures_open_the_breaker_and_a_probe_closes_it(feed) -> None:
    driver = SensorDriver()
    driver.tick()
    feed.set_faults(fail_mode="http500")

    one = driver.tick()
    assert one.skip_message.startswith("feed unreachable:")
    assert "HTTP 500" in one.skip_message
    assert feed.data_url in one.skip_message
    two = driver.tick()
    assert two.skip_message.startswith("feed breaker OPEN after 2 consecutive failures")
    assert "next probe at" in two.skip_message
    state = driver.state.breakers.state("feed")
    assert state.state is CircuitState.OPEN and state.consecutive_failures == 2

    feed.clear_faults()
    feed.advance()
    held = driver.tick()
    assert held.skip_message.startswith("feed breaker OPEN")
    assert held.run_requests == []

    time.sleep(0.6)
    probe = driver.tick()
    assert len(probe.run_requests) == 1
    assert driver.state.breakers.state("feed").state is CircuitState.CLOSED


def test_retry_after_holds_the_breaker_open_as_long_as_the_server_asks(feed) -> None:
    driver = SensorDriver()
    driver.tick()
    feed.set_faults(fail_mode="http503", retry_after=120)
    driver.tick()
    driver.tick()
    state = driver.state.breakers.state("feed")
    assert state.state is CircuitState.OPEN
    wait = (state.next_attempt_time - datetime.now(UTC)).total_seconds()
    assert 100 < wait <= 120


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("truncated", "did not serve a data feed"),
        ("html", "did not serve a data feed"),
        ("close", "connection failed"),
        ("timeout", "timed out"),
    ],
)
def test_broken_payloads_are_skipped_with_their_reason(feed, mode: str, expected: str) -> None:
    driver = SensorDriver()
    feed.set_faults(fail_mode=mode, hang_seconds=3)
    result = driver.tick()
    assert result.run_requests == []
    assert expected in result.skip_message
    assert driver.state.breakers.state("feed").consecutive_failures == 1
    assert driver.state.last_landed is None


def test_stale_and_future_payloads_never_move_the_cursor(feed) -> None:
    driver = SensorDriver()
    driver.tick()
    landed = driver.state.last_landed
    feed.advance()
    feed.set_faults(fail_mode="stale")
    stale = driver.tick()
    assert stale.run_requests == []
    assert stale.skip_message.startswith("no new update:")
    feed.set_faults(fail_mode="future")
    future = driver.tick()
    assert future.run_requests == []
    assert "lies in the future" in future.skip_message
    assert driver.state.last_landed == landed


def test_the_sensor_does_not_fetch_before_the_next_update_is_due(feed, monkeypatch) -> None:
    from vatsim_pipeline.defs import feed_sensor

    monkeypatch.setattr(feed_sensor, "FEED_PERIOD_S", 30.0)
    monkeypatch.setattr(feed_sensor, "SENSOR_INTERVAL_S", 9)  # the default with a period
    driver = SensorDriver()
    assert len(driver.tick().run_requests) == 1
    landed = driver.state.last_landed
    # The simulated feed starts now: with a 30 s period its next update is due in about
    # 30 s, after the next tick could come (9 s, a daemon loop and its jitter: 16 s), so
    # this tick neither waits nor downloads.
    due_in_s = (landed + timedelta(seconds=30) - datetime.now(UTC)).total_seconds()
    assert due_in_s > feed_sensor._next_tick_within_s() == 16
    early = driver.tick()
    assert early.run_requests == []
    expected = landed + timedelta(seconds=30)
    assert early.skip_message == (
        f"next feed update expected at {expected:%H:%M:%S}Z; not fetching yet"
    )


def _due_in(driver: SensorDriver, seconds: float) -> float:
    """A feed period that makes the update after the last landed one due in `seconds`."""
    return (datetime.now(UTC) - driver.state.last_landed).total_seconds() + seconds


def _tick_while_publishing_after(driver: SensorDriver, feed, seconds: float):
    """One tick while the feed publishes its next update `seconds` from now; the tick's
    result and how long it took."""
    timer = threading.Timer(seconds, feed.advance)
    timer.start()
    started = time.monotonic()
    try:
        result = driver.tick()
    finally:
        timer.join()
    return result, time.monotonic() - started


def test_a_tick_waits_for_an_update_due_within_the_loop_and_fetches_it_then(
    feed, monkeypatch
) -> None:
    from vatsim_pipeline.defs import feed_sensor

    driver = SensorDriver()
    assert len(driver.tick().run_requests) == 1
    first = driver.state.last_landed
    monkeypatch.setattr(feed_sensor, "FEED_PERIOD_S", _due_in(driver, 1.0))
    # The feed publishes its next update 2 s from now, a second after it was due: the
    # tick waits for the due time, peeks at the feed's head until the update shows,
    # and lands it in the same tick.
    due, _ = _tick_while_publishing_after(driver, feed, 2.0)
    assert len(due.run_requests) == 1
    assert driver.state.last_landed > first
    assert due.run_requests[0].run_key == driver.state.last_landed.isoformat()


def test_a_tick_waits_for_a_late_update_until_the_next_tick_could_have_come(
    feed, monkeypatch
) -> None:
    from vatsim_pipeline.defs import feed_sensor

    monkeypatch.setattr(feed_sensor, "DAEMON_LOOP_S", 1)
    monkeypatch.setattr(feed_sensor, "SENSOR_INTERVAL_S", 3)
    driver = SensorDriver()
    assert len(driver.tick().run_requests) == 1
    first = driver.state.last_landed
    monkeypatch.setattr(feed_sensor, "FEED_PERIOD_S", _due_in(driver, 0.5))
    # The update comes 2.5 s late, after a loop past its due time but before the next
    # tick could have come (3 s + 1 s after this one started): this tick still lands it,
    # as it appears, instead of leaving it to a tick up to 15 s later.
    late, took_s = _tick_while_publishing_after(driver, feed, 3.0)
    assert 3.0 <= took_s < 3.9
    assert len(late.run_requests) == 1
    assert driver.state.last_landed > first


def test_a_tick_gives_up_peeking_when_the_next_tick_could_have_come(feed, monkeypatch) -> None:
    from vatsim_pipeline.defs import feed_sensor

    monkeypatch.setattr(feed_sensor, "SENSOR_INTERVAL_S", 1)
    monkeypatch.setattr(feed_sensor, "DAEMON_LOOP_S", 1)
    driver = SensorDriver()
    assert len(driver.tick().run_requests) == 1
    landed = driver.state.last_landed
    monkeypatch.setattr(feed_sensor, "FEED_PERIOD_S", _due_in(driver, 0.5))
    started = time.monotonic()
    late = driver.tick()
    # No update appeared: due in 0.5 s, peeked until the next tick could have come (the
    # shortened interval and loop: 2 s after the tick started), then the full fetch
    # reports the feed unchanged; the next tick looks again.
    assert 2.0 <= time.monotonic() - started < 4.0
    assert late.run_requests == []
    assert late.skip_message.startswith("no new update:")
    assert driver.state.last_landed == landed
