"""The circuit-breakers report: each service's breaker, as the feed sensor last stored it.

The breakers live in the sensor's cursor (see `defs.sensor_cursor`), which the daemon
stores in the instance's schedule storage after every tick; this reads it from there,
so it shows what the running sensor decides, not a copy.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dagster import DagsterInstance
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.scheduler.instigation import InstigatorState, SensorInstigatorData

from vatsim_pipeline.defs.feed_sensor import DATABASE, FEED, LANDING, SENSOR_INTERVAL_S
from vatsim_pipeline.defs.sensor_cursor import FeedCursor
from vatsim_pipeline.resilience.breaker import BreakerState, describe

SENSOR_NAME = "vatsim_feed_sensor"
SERVICES = (FEED, LANDING, DATABASE)
# A sensor that has not ticked for this long is not running, whatever its stored status:
# the daemon is down.
STALE_AFTER = timedelta(seconds=max(60, 4 * SENSOR_INTERVAL_S))


def circuit_breakers_report(instance: DagsterInstance, now: datetime | None = None) -> dict:
    """Per service: state, failure count, last failure (time and reason), next probe.

    `sensor_running` is false when the sensor never ticked, is stopped, or has not ticked
    for `STALE_AFTER`; the breakers then show what it last stored (all CLOSED if nothing).
    """
    now = now or datetime.now(UTC)
    state = sensor_state(instance)
    data = state.instigator_data if state else None
    cursor = data.cursor if isinstance(data, SensorInstigatorData) else None
    board = FeedCursor.parse(cursor).breakers
    stamp = data.last_tick_timestamp if isinstance(data, SensorInstigatorData) else None
    last_tick = datetime.fromtimestamp(stamp, UTC) if stamp else None
    return {
        "sensor": SENSOR_NAME,
        "sensor_running": bool(
            state and state.is_running and last_tick and now - last_tick <= STALE_AFTER
        ),
        "last_tick_time": _iso(last_tick),
        "as_of": now.isoformat(),
        "services": {
            service: _breaker(service, board.state(service), now)
            for service in sorted({*SERVICES, *board})
        },
    }


def sensor_state(instance: DagsterInstance) -> InstigatorState | None:
    """The feed sensor's stored state; the most recently ticked if several locations hold one."""
    states = [
        state
        for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        if state.instigator_name == SENSOR_NAME
    ]
    return max(states, key=_last_tick, default=None)


def _last_tick(state: InstigatorState) -> float:
    data = state.instigator_data
    return (data.last_tick_timestamp or 0.0) if isinstance(data, SensorInstigatorData) else 0.0


def _breaker(service: str, state: BreakerState, now: datetime) -> dict:
    return {
        "state": state.state.value,
        "failure_count": state.consecutive_failures,
        "opened_count": state.opened_count,
        "last_failure_time": _iso(state.last_failure_time),
        "last_failure_reason": state.last_failure_reason,
        "last_success_time": _iso(state.last_success_time),
        "next_attempt_time": _iso(state.next_attempt_time),
        "summary": describe(service, state, now),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
