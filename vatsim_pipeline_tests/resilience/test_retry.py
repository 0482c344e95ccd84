"""The retry policies and the fail-fast, on their own and inside a real Dagster run."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import requests
from dagster import (
    Backoff,
    DagsterEventType,
    ExecuteInProcessResult,
    Failure,
    Jitter,
    RetryPolicy,
    asset,
    materialize,
)
from dagster._core.execution.plan.objects import StepFailureData

from vatsim_pipeline.resilience.errors import ErrorCategory, classify, classify_error_info
from vatsim_pipeline.resilience.retry import (
    database_retry_policy,
    fail_fast_if_unretryable,
    network_retry_policy,
)

POLICIES = [network_retry_policy, database_retry_policy]


@pytest.mark.parametrize("policy", POLICIES)
def test_defaults(policy: Callable[..., RetryPolicy]) -> None:
    assert policy({}) == RetryPolicy(
        max_retries=3, delay=1.0, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
    )


@pytest.mark.parametrize("policy", POLICIES)
def test_the_environment_configures_them(
    policy: Callable[..., RetryPolicy], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VATSIM_RETRY_MAX", "5")
    monkeypatch.setenv("VATSIM_RETRY_DELAY_S", "0.25")
    made = policy()
    assert (made.max_retries, made.delay) == (5, 0.25)
    assert (made.backoff, made.jitter) == (Backoff.EXPONENTIAL, Jitter.PLUS_MINUS)
    assert policy({"VATSIM_RETRY_MAX": " 0 ", "VATSIM_RETRY_DELAY_S": ""}).max_retries == 0


def test_the_default_retries_end_before_the_next_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dagster's own delay arithmetic, with the jitter at its largest."""
    monkeypatch.setattr("dagster._core.definitions.policy.random", lambda: 1.0)
    policy = network_retry_policy({})
    assert [policy.calculate_delay(attempt) for attempt in (1, 2, 3)] == [2.0, 4.0, 8.0]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VATSIM_RETRY_MAX", "three"),
        ("VATSIM_RETRY_MAX", "-1"),
        ("VATSIM_RETRY_MAX", "1.5"),
        ("VATSIM_RETRY_DELAY_S", "soon"),
        ("VATSIM_RETRY_DELAY_S", "-0.5"),
        ("VATSIM_RETRY_DELAY_S", "nan"),
        ("VATSIM_RETRY_DELAY_S", "inf"),
    ],
)
def test_bad_settings_are_configuration_errors(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name) as raised:
        network_retry_policy({name: value})
    verdict = classify(raised.value)
    assert (verdict.category, verdict.retryable) == (ErrorCategory.CONFIGURATION, False)


def test_an_unretryable_error_becomes_a_final_failure() -> None:
    try:
        json.loads("<html>")
    except ValueError as error:
        original = error
        with pytest.raises(Failure) as raised:
            fail_fast_if_unretryable(error, "data_feed")
    failure = raised.value
    assert failure.allow_retries is False
    assert failure.__cause__ is original
    assert {key: value.value for key, value in failure.metadata.items()} == {
        "category": "validation",
        "severity": "high",
        "service": "data_feed",
        "retryable": False,
        "exception_type": "json.decoder.JSONDecodeError",
    }
    assert failure.description == (
        "data_feed: validation error (high), not retryable: "
        "JSONDecodeError: Expecting value: line 1 column 1 (char 0)"
    )
    assert classify(failure) == classify(original, "data_feed")


def test_a_retryable_error_is_reraised_unchanged() -> None:
    error = requests.ReadTimeout("read timed out")
    with pytest.raises(requests.ReadTimeout) as raised:
        fail_fast_if_unretryable(error, "data_feed")
    assert raised.value is error
    assert raised.value.__cause__ is None


def run_failing(raise_error: Callable[[], None]) -> tuple[ExecuteInProcessResult, list[int]]:
    """Materialize one asset that fails through the fail-fast, with two quick retries."""
    attempts: list[int] = []

    @asset(
        retry_policy=database_retry_policy({"VATSIM_RETRY_MAX": "2", "VATSIM_RETRY_DELAY_S": "0"})
    )
    def pilots() -> None:
        attempts.append(1)
        try:
            raise_error()
        except Exception as error:
            fail_fast_if_unretryable(error, "database")

    return materialize([pilots], raise_on_error=False), attempts


def _step_failure(result: ExecuteInProcessResult) -> StepFailureData:
    (event,) = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    return event.step_failure_data


def test_in_a_run_a_retryable_error_uses_every_retry() -> None:
    def drop() -> None:
        raise ConnectionResetError(104, "Connection reset by peer")

    result, attempts = run_failing(drop)
    assert not result.success
    assert len(attempts) == 3
    failure = _step_failure(result)
    assert failure.user_failure_data is None
    verdict = classify_error_info(failure.error)
    assert (verdict.category, verdict.retryable, verdict.exception_type) == (
        ErrorCategory.NETWORK,
        True,
        "ConnectionResetError",
    )


def test_in_a_run_an_unretryable_error_fails_at_once() -> None:
    def misconfigured() -> None:
        raise KeyError("VATSIM_DATABASE_URL")

    result, attempts = run_failing(misconfigured)
    assert not result.success
    assert len(attempts) == 1
    failure = _step_failure(result)
    metadata = {key: value.value for key, value in failure.user_failure_data.metadata.items()}
    assert metadata["category"] == "configuration"
    assert metadata["service"] == "database"
    verdict = classify_error_info(failure.error)
    assert (verdict.category, verdict.service, verdict.exception_type) == (
        ErrorCategory.CONFIGURATION,
        "database",
        "KeyError",
    )
