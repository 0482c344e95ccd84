"""A circuit breaker per service, as pure functions over a JSON-able state.

The sensor keeps every service's breaker in its cursor and passes the tick's time in (an
aware UTC `datetime`), so the transitions are plain data in, data out, testable without
a clock:

- CLOSED: calls go through; `failure_threshold` consecutive failures open it.
- OPEN: calls are refused until `next_attempt_time`; then one call is let through as a
  probe and the breaker is HALF_OPEN.
- HALF_OPEN: the probe is outstanding and every other call is refused. Its success
  closes the breaker; its failure opens it again for a cool-down `backoff_factor` times
  longer, capped at `max_cooldown_s`. A probe that never reports (its tick crashed) is
  given up after one cool-down and another probe is allowed.

A server's Retry-After longer than the cool-down pushes the next probe later, but never
past `max_cooldown_s`, so a bogus header cannot silence the recorder for a day.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

REASON_LIMIT = 200


class CircuitState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass(frozen=True)
class BreakerConfig:
    """When to open, and how long to wait before probing again."""

    failure_threshold: int = 3
    cooldown_s: float = 30.0
    max_cooldown_s: float = 600.0
    backoff_factor: float = 2.0

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError(f"failure_threshold {self.failure_threshold} must be at least 1")
        if not 0 <= self.cooldown_s <= self.max_cooldown_s < math.inf:
            raise ValueError(f"need 0 <= cooldown_s <= max_cooldown_s < inf, got {self}")
        if not 1 <= self.backoff_factor < math.inf:
            raise ValueError(f"backoff_factor {self.backoff_factor} must be at least 1")

    def cooldown(self, opened_count: int) -> float:
        """Cool-down after the breaker opened `opened_count` times without a success."""
        exponent = max(opened_count - 1, 0)
        try:
            grown = self.cooldown_s * self.backoff_factor**exponent
        except OverflowError:
            grown = math.inf
        return min(grown, self.max_cooldown_s)


DEFAULT_CONFIG = BreakerConfig()


@dataclass(frozen=True)
class BreakerState:
    """Everything a breaker remembers; `to_dict`/`from_dict` make it a cursor value."""

    state: CircuitState = CircuitState.CLOSED
    consecutive_failures: int = 0
    opened_count: int = 0
    last_failure_time: datetime | None = None
    last_failure_reason: str | None = None
    next_attempt_time: datetime | None = None
    last_success_time: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "consecutive_failures": self.consecutive_failures,
            "opened_count": self.opened_count,
            "last_failure_time": _iso(self.last_failure_time),
            "last_failure_reason": self.last_failure_reason,
            "next_attempt_time": _iso(self.next_attempt_time),
            "last_success_time": _iso(self.last_success_time),
        }

    @classmethod
    def from_dict(cls, data: Any) -> BreakerState:
        """The stored state, or a fresh CLOSED one if the stored value makes no sense."""
        try:
            state = cls(
                state=CircuitState(data["state"]),
                consecutive_failures=_count(data.get("consecutive_failures", 0)),
                opened_count=_count(data.get("opened_count", 0)),
                last_failure_time=_time(data.get("last_failure_time")),
                last_failure_reason=_reason(data.get("last_failure_reason")),
                next_attempt_time=_time(data.get("next_attempt_time")),
                last_success_time=_time(data.get("last_success_time")),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return cls()
        if state.state is not CircuitState.CLOSED and state.next_attempt_time is None:
            return cls()
        return state


def allow(
    state: BreakerState, now: datetime, config: BreakerConfig = DEFAULT_CONFIG
) -> tuple[bool, BreakerState]:
    """May a call go out now? Opening the door for a probe is itself a transition."""
    if state.state is CircuitState.CLOSED:
        return True, state
    if state.next_attempt_time is not None and now < state.next_attempt_time:
        return False, state
    probe_deadline = now + timedelta(seconds=config.cooldown(state.opened_count))
    return True, replace(state, state=CircuitState.HALF_OPEN, next_attempt_time=probe_deadline)


def record_success(state: BreakerState, now: datetime) -> BreakerState:
    """A call succeeded: close, and forget the failures and the grown cool-down."""
    return replace(
        state,
        state=CircuitState.CLOSED,
        consecutive_failures=0,
        opened_count=0,
        next_attempt_time=None,
        last_success_time=now,
    )


def record_failure(
    state: BreakerState,
    now: datetime,
    reason: str,
    retry_after_s: float | None = None,
    config: BreakerConfig = DEFAULT_CONFIG,
) -> BreakerState:
    """A call failed: count it, and open (or re-open, for longer) when it is time to."""
    failed = replace(
        state,
        consecutive_failures=state.consecutive_failures + 1,
        last_failure_time=now,
        last_failure_reason=_reason(reason),
    )
    wait_for_server = _retry_after(retry_after_s, config)
    if state.state is CircuitState.OPEN:
        # A call that went out despite the breaker: keep the schedule unless told to wait.
        later = now + timedelta(seconds=wait_for_server)
        return replace(failed, next_attempt_time=max(state.next_attempt_time or later, later))
    below_threshold = failed.consecutive_failures < config.failure_threshold
    if state.state is CircuitState.CLOSED and below_threshold:
        return failed
    opened_count = state.opened_count + 1
    wait = max(config.cooldown(opened_count), wait_for_server)
    return replace(
        failed,
        state=CircuitState.OPEN,
        opened_count=opened_count,
        next_attempt_time=now + timedelta(seconds=wait),
    )


def describe(service: str, state: BreakerState, now: datetime) -> str:
    """One line for a `SkipReason` or a log: the state, why, and when the next probe is."""
    failures = state.consecutive_failures
    why = f"{failures} consecutive failure{'s' if failures != 1 else ''}"
    if state.last_failure_reason:
        why += f" (last: {state.last_failure_reason})"
    if state.state is CircuitState.CLOSED:
        return f"{service} breaker CLOSED" + (f" after {why}" if failures else "")
    if state.state is CircuitState.HALF_OPEN:
        return f"{service} breaker HALF_OPEN, probing after {why}"
    line = f"{service} breaker OPEN after {why}"
    if state.next_attempt_time is None:
        return line
    seconds = math.ceil((state.next_attempt_time - now).total_seconds())
    when = f"in {seconds} s" if seconds > 0 else "due now"
    return f"{line}; next probe at {state.next_attempt_time.astimezone(UTC):%H:%M:%SZ} ({when})"


class BreakerBoard(Mapping[str, BreakerState]):
    """The breakers of all services; an unknown service has a fresh CLOSED breaker."""

    def __init__(self, states: Mapping[str, BreakerState] | None = None) -> None:
        self._states = dict(states or {})

    def __getitem__(self, service: str) -> BreakerState:
        return self._states[service]

    def __iter__(self) -> Iterator[str]:
        return iter(self._states)

    def __len__(self) -> int:
        return len(self._states)

    def __repr__(self) -> str:
        return f"BreakerBoard({self._states!r})"

    def state(self, service: str) -> BreakerState:
        return self._states.get(service, BreakerState())

    def with_state(self, service: str, state: BreakerState) -> BreakerBoard:
        """A new board with one breaker replaced; boards are values, like the states."""
        return BreakerBoard({**self._states, service: state})

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {service: state.to_dict() for service, state in sorted(self._states.items())}

    @classmethod
    def from_dict(cls, data: Any) -> BreakerBoard:
        """Read a cursor's breakers; anything missing or unreadable starts CLOSED."""
        if not isinstance(data, Mapping):
            return cls()
        return cls(
            {
                service: BreakerState.from_dict(value)
                for service, value in data.items()
                if isinstance(service, str)
            }
        )


def _retry_after(retry_after_s: float | None, config: BreakerConfig) -> float:
    if retry_after_s is None or not math.isfinite(retry_after_s) or retry_after_s <= 0:
        return 0.0
    return min(retry_after_s, config.max_cooldown_s)


def _reason(value: Any) -> str | None:
    if value is None:
        return None
    line = " ".join(str(value).split())
    return line if len(line) <= REASON_LIMIT else line[: REASON_LIMIT - 1] + "…"


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{value!r} is not a count")
    return value


def config_from_env(env: Mapping[str, str]) -> BreakerConfig:
    """`VATSIM_BREAKER_THRESHOLD`, `VATSIM_BREAKER_COOLDOWN_S`, `VATSIM_BREAKER_MAX_COOLDOWN_S`."""
    try:
        return BreakerConfig(
            failure_threshold=int(
                env.get("VATSIM_BREAKER_THRESHOLD", DEFAULT_CONFIG.failure_threshold)
            ),
            cooldown_s=float(env.get("VATSIM_BREAKER_COOLDOWN_S", DEFAULT_CONFIG.cooldown_s)),
            max_cooldown_s=float(
                env.get("VATSIM_BREAKER_MAX_COOLDOWN_S", DEFAULT_CONFIG.max_cooldown_s)
            ),
        )
    except ValueError as error:
        raise ValueError(f"VATSIM_BREAKER_*: {error}") from None
