"""The circuit-breakers report when the sensor never ran, stopped, or stored odd cursors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from dagster import DagsterInstance, instance_for_test
from dagster._core.scheduler.instigation import InstigatorStatus

from vatsim_pipeline.defs.sensor_cursor import FeedCursor
from vatsim_pipeline.reports.breakers_report import STALE_AFTER, circuit_breakers_report
from vatsim_pipeline.resilience.breaker import BreakerBoard, BreakerState, CircuitState
from vatsim_pipeline_tests.reports import store_sensor_state

NOW = datetime(2024, 11, 22, 12, 0, tzinfo=UTC)
CLOSED = {
    "state": "CLOSED",
    "failure_count": 0,
    "opened_count": 0,
    "last_failure_time": None,
    "last_failure_reason": None,
    "last_success_time": None,
    "next_attempt_time": None,
}


@pytest.fixture(scope="module")
def shared_instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as instance:
        yield instance


@pytest.fixture
def instance(shared_instance: DagsterInstance) -> DagsterInstance:
    """One instance for the module (they are slow to make), with no sensor state stored."""
    shared_instance.wipe_all_schedules()
    return shared_instance


def _without_summary(service: dict) -> dict:
    return {key: value for key, value in service.items() if key != "summary"}


def test_a_sensor_that_never_ran_shows_closed_breakers_and_is_not_running(instance) -> None:
    report = circuit_breakers_report(instance, NOW)
    assert report["sensor_running"] is False
    assert report["last_tick_time"] is None
    assert report["as_of"] == NOW.isoformat()
    assert {name: _without_summary(s) for name, s in report["services"].items()} == {
        "database": CLOSED,
        "feed": CLOSED,
        "landing": CLOSED,
    }
    assert report["services"]["feed"]["summary"] == "feed breaker CLOSED"


def test_every_service_in_the_cursor_is_shown_with_its_state(instance) -> None:
    opened = BreakerState(
        state=CircuitState.OPEN,
        consecutive_failures=3,
        opened_count=2,
        last_failure_time=NOW - timedelta(seconds=10),
        last_failure_reason="boundaries unreachable",
        next_attempt_time=NOW + timedelta(seconds=50),
    )
    cursor = FeedCursor(breakers=BreakerBoard({"boundaries": opened})).dump()
    store_sensor_state(instance, cursor, NOW.timestamp() - 5)
    report = circuit_breakers_report(instance, NOW)
    assert report["sensor_running"] is True
    assert report["last_tick_time"] == (NOW - timedelta(seconds=5)).isoformat()
    assert sorted(report["services"]) == ["boundaries", "database", "feed", "landing"]
    assert _without_summary(report["services"]["boundaries"]) == {
        "state": "OPEN",
        "failure_count": 3,
        "opened_count": 2,
        "last_failure_time": "2024-11-22T11:59:50+00:00",
        "last_failure_reason": "boundaries unreachable",
        "last_success_time": None,
        "next_attempt_time": "2024-11-22T12:00:50+00:00",
    }
    assert report["services"]["boundaries"]["summary"] == (
        "boundaries breaker OPEN after 3 consecutive failures (last: boundaries unreachable); "
        "next probe at 12:00:50Z (in 50 s)"
    )


def test_a_stopped_or_silent_sensor_is_not_running_but_its_breakers_still_show(
    instance,
) -> None:
    failing = BreakerState(consecutive_failures=1, last_failure_time=NOW, last_failure_reason="x")
    cursor = FeedCursor(breakers=BreakerBoard({"feed": failing})).dump()
    store_sensor_state(instance, cursor, NOW.timestamp(), InstigatorStatus.STOPPED)
    stopped = circuit_breakers_report(instance, NOW)
    instance.wipe_all_schedules()
    silent_since = NOW - STALE_AFTER - timedelta(seconds=1)
    store_sensor_state(instance, cursor, silent_since.timestamp())
    silent = circuit_breakers_report(instance, NOW)
    for report in (stopped, silent):
        assert report["sensor_running"] is False
        assert report["services"]["feed"]["failure_count"] == 1
        assert report["services"]["feed"]["state"] == "CLOSED"


def test_an_unreadable_cursor_reads_as_closed_breakers(instance) -> None:
    store_sensor_state(instance, "{not json", time.time())
    report = circuit_breakers_report(instance)
    assert report["sensor_running"] is True
    assert {_without_summary(s)["state"] for s in report["services"].values()} == {"CLOSED"}
    assert json.loads(json.dumps(report)) == report
