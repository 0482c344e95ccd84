"""Every transition of the circuit breaker, its cursor form, and a property over sequences."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vatsim_pipeline.resilience.breaker import (
    BreakerBoard,
    BreakerConfig,
    BreakerState,
    CircuitState,
    allow,
    describe,
    record_failure,
    record_success,
)

T0 = datetime(2024, 11, 22, 12, 0, 0, tzinfo=UTC)
REASON = "http://mirror-1/vatsim-data.json: HTTP 503 Service Unavailable"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def failed(times: int, start: float = 0) -> BreakerState:
    """The default breaker after `times` failures, one a second from `start`."""
    state = BreakerState()
    for i in range(times):
        state = record_failure(state, at(start + i), REASON)
    return state


def test_closed_allows_and_counts_failures_below_the_threshold() -> None:
    state = failed(2)
    assert state.state is CircuitState.CLOSED
    assert state.consecutive_failures == 2
    assert state.last_failure_time == at(1)
    assert state.last_failure_reason == REASON
    assert allow(state, at(2)) == (True, state)


def test_the_threshold_opens_for_one_cooldown() -> None:
    state = failed(3)
    assert state.state is CircuitState.OPEN
    assert (state.consecutive_failures, state.opened_count) == (3, 1)
    assert state.next_attempt_time == at(2 + 30)
    assert allow(state, at(31.9)) == (False, state)


def test_a_success_resets_the_count() -> None:
    state = record_success(failed(2), at(5))
    assert state == BreakerState(
        state=CircuitState.CLOSED,
        last_failure_time=at(1),
        last_failure_reason=REASON,
        last_success_time=at(5),
    )
    assert record_failure(state, at(6), REASON).state is CircuitState.CLOSED


def test_open_lets_exactly_one_probe_through_when_due() -> None:
    opened = failed(3)
    allowed, probing = allow(opened, at(32))
    assert allowed
    assert probing.state is CircuitState.HALF_OPEN
    assert allow(probing, at(33)) == (False, probing)


def test_a_lost_probe_is_replaced_after_a_cooldown() -> None:
    _, probing = allow(failed(3), at(32))
    assert allow(probing, at(61))[0] is False
    allowed, again = allow(probing, at(62))
    assert allowed and again.state is CircuitState.HALF_OPEN
    assert again.next_attempt_time == at(92)


def test_a_successful_probe_closes_and_forgets_the_grown_cooldown() -> None:
    _, probing = allow(failed(3), at(32))
    closed = record_success(probing, at(33))
    assert (closed.state, closed.consecutive_failures, closed.opened_count) == (
        CircuitState.CLOSED,
        0,
        0,
    )
    assert closed.next_attempt_time is None
    assert closed.last_success_time == at(33)
    reopened = failed(3, start=40)
    assert reopened.next_attempt_time == at(42 + 30)


def test_each_failed_probe_doubles_the_cooldown_up_to_the_maximum() -> None:
    state, now, waits = failed(3), 2.0, []
    for _ in range(8):
        waits.append((state.next_attempt_time - at(now)).total_seconds())
        now = (state.next_attempt_time - T0).total_seconds()
        allowed, state = allow(state, at(now))
        assert allowed
        state = record_failure(state, at(now), REASON)
        assert state.state is CircuitState.OPEN
    assert waits == [30, 60, 120, 240, 480, 600, 600, 600]
    assert state.opened_count == 9
    assert state.consecutive_failures == 11


def test_a_longer_retry_after_pushes_the_probe_later() -> None:
    state = record_failure(failed(2), at(2), REASON, retry_after_s=120)
    assert state.next_attempt_time == at(122)
    shorter = record_failure(failed(2), at(2), REASON, retry_after_s=5)
    assert shorter.next_attempt_time == at(32)


def test_retry_after_is_capped_at_the_maximum_cooldown() -> None:
    state = record_failure(failed(2), at(2), REASON, retry_after_s=86_400)
    assert state.next_attempt_time == at(602)


@pytest.mark.parametrize("bogus", [0, -5, float("nan"), float("inf")])
def test_a_bogus_retry_after_is_ignored(bogus: float) -> None:
    assert record_failure(failed(2), at(2), REASON, bogus).next_attempt_time == at(32)


def test_a_failed_probe_honours_retry_after() -> None:
    _, probing = allow(failed(3), at(32))
    state = record_failure(probing, at(33), REASON, retry_after_s=300)
    assert state.next_attempt_time == at(333)


def test_a_failure_while_open_keeps_the_schedule_unless_told_to_wait() -> None:
    opened = failed(3)
    again = record_failure(opened, at(10), "late report")
    assert again.next_attempt_time == opened.next_attempt_time
    assert (again.consecutive_failures, again.opened_count) == (4, 1)
    assert again.last_failure_reason == "late report"
    pushed = record_failure(opened, at(10), REASON, retry_after_s=100)
    assert pushed.next_attempt_time == at(110)


def test_custom_config() -> None:
    config = BreakerConfig(failure_threshold=1, cooldown_s=10, max_cooldown_s=15)
    state = record_failure(BreakerState(), at(0), REASON, config=config)
    assert state.next_attempt_time == at(10)
    _, probing = allow(state, at(10), config)
    assert probing.next_attempt_time == at(20)
    state = record_failure(probing, at(11), REASON, config=config)
    assert state.next_attempt_time == at(26)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"failure_threshold": 0},
        {"cooldown_s": -1},
        {"cooldown_s": 60, "max_cooldown_s": 30},
        {"max_cooldown_s": float("inf")},
        {"backoff_factor": 0.5},
    ],
)
def test_nonsensical_configs_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        BreakerConfig(**kwargs)


def test_long_reasons_are_kept_to_one_short_line() -> None:
    state = record_failure(BreakerState(), at(0), "x\n" * 500)
    assert len(state.last_failure_reason) == 200
    assert "\n" not in state.last_failure_reason


def test_describe() -> None:
    opened = failed(3)
    assert describe("data_feed", opened, at(5)) == (
        "data_feed breaker OPEN after 3 consecutive failures "
        f"(last: {REASON}); next probe at 12:00:32Z (in 27 s)"
    )
    assert describe("data_feed", opened, at(40)).endswith("next probe at 12:00:32Z (due now)")
    _, probing = allow(opened, at(32))
    assert describe("data_feed", probing, at(32)) == (
        f"data_feed breaker HALF_OPEN, probing after 3 consecutive failures (last: {REASON})"
    )
    assert describe("status", BreakerState(), at(0)) == "status breaker CLOSED"
    one = failed(1)
    assert describe("status", one, at(1)) == (
        f"status breaker CLOSED after 1 consecutive failure (last: {REASON})"
    )


def test_describe_shows_the_probe_time_in_utc() -> None:
    state = BreakerState.from_dict(
        {"state": "OPEN", "next_attempt_time": "2024-11-22T14:00:32+02:00"}
    )
    assert describe("data_feed", state, at(5)).endswith("next probe at 12:00:32Z (in 27 s)")


def test_states_round_trip_through_json() -> None:
    _, probing = allow(failed(3), at(32))
    for state in (BreakerState(), failed(2), failed(3), probing, record_success(probing, at(40))):
        assert BreakerState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


def test_boards_round_trip_through_json() -> None:
    board = BreakerBoard().with_state("data_feed", failed(3)).with_state("status", failed(1))
    text = json.dumps({"last_update": "2024-11-22T12:00:00Z", "breakers": board.to_dict()})
    again = BreakerBoard.from_dict(json.loads(text)["breakers"])
    assert again == board
    assert again.state("data_feed") == failed(3)
    assert again.state("transceivers_feed") == BreakerState()
    assert sorted(again) == ["data_feed", "status"]


def test_with_state_leaves_the_old_board_alone() -> None:
    board = BreakerBoard()
    newer = board.with_state("data_feed", failed(3))
    assert len(board) == 0 and len(newer) == 1


@pytest.mark.parametrize(
    "cursor",
    [None, "", "not json", 42, [], {"data_feed": None}, {"data_feed": "OPEN"}, {1: {}}],
)
def test_a_missing_or_corrupt_cursor_starts_closed(cursor: object) -> None:
    board = BreakerBoard.from_dict(cursor)
    assert board.state("data_feed") == BreakerState()


@pytest.mark.parametrize(
    "entry",
    [
        {},
        {"state": "AJAR"},
        {"state": "OPEN"},
        {"state": "HALF_OPEN", "next_attempt_time": None},
        {"state": "CLOSED", "consecutive_failures": -1},
        {"state": "CLOSED", "consecutive_failures": "3"},
        {"state": "CLOSED", "opened_count": True},
        {"state": "CLOSED", "last_failure_time": "yesterday"},
        {"state": "CLOSED", "last_success_time": 1732276800},
    ],
)
def test_a_corrupt_entry_starts_closed(entry: dict) -> None:
    assert BreakerBoard.from_dict({"data_feed": entry}).state("data_feed") == BreakerState()


def test_a_minimal_entry_is_read_with_defaults() -> None:
    state = BreakerState.from_dict(
        {"state": "OPEN", "next_attempt_time": "2024-11-22T12:00:32", "consecutive_failures": 3}
    )
    assert state.next_attempt_time == at(32)
    assert (state.opened_count, state.last_failure_reason) == (0, None)


CONFIG = BreakerConfig(failure_threshold=3, cooldown_s=5, max_cooldown_s=40, backoff_factor=3)
ACTIONS = st.tuples(
    # Mostly calls and failures, so that sequences reach OPEN and HALF_OPEN often.
    st.sampled_from(["allow", "allow", "failure", "failure", "failure", "success"]),
    st.floats(min_value=0, max_value=50, allow_nan=False),
    st.one_of(st.none(), st.floats(min_value=-10, max_value=1e9, allow_nan=False)),
)


@given(st.lists(ACTIONS, max_size=60))
def test_any_sequence_keeps_the_breaker_consistent(actions: list) -> None:
    state, now = BreakerState(), T0
    for action, step, retry_after in actions:
        now += timedelta(seconds=step)
        if action == "allow":
            before = state
            allowed, state = allow(state, now, CONFIG)
            if before.state is CircuitState.CLOSED:
                assert allowed
            if before.state is not CircuitState.CLOSED and now < before.next_attempt_time:
                assert not allowed and state == before
        elif action == "success":
            state = record_success(state, now)
        else:
            state = record_failure(state, now, REASON, retry_after, CONFIG)
        if state.state is CircuitState.CLOSED:
            assert state.consecutive_failures < CONFIG.failure_threshold
        else:
            assert state.next_attempt_time is not None
            assert state.next_attempt_time - now <= timedelta(seconds=CONFIG.max_cooldown_s)
        assert CONFIG.cooldown(state.opened_count) <= CONFIG.max_cooldown_s
        assert BreakerState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
        assert describe("data_feed", state, now).startswith(f"data_feed breaker {state.state}")
