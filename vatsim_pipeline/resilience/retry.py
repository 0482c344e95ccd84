"""Retry policies, and the fail-fast that keeps them from retrying what cannot succeed.

Dagster does the retrying: a `RetryPolicy` with exponential backoff and jitter on the
assets. An asset that catches an exception hands it to `fail_fast_if_unretryable`: a
bad payload or a constraint violation fails at once with `Failure(allow_retries=False)`
carrying its classification; a timeout or a dropped connection is re-raised untouched,
so the policy retries it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import NoReturn, TypeVar

from dagster import Backoff, Failure, Jitter, RetryPolicy

from vatsim_pipeline.resilience.errors import classify

DEFAULT_MAX_RETRIES = 3
DEFAULT_DELAY_S = 1.0

N = TypeVar("N", int, float)


def network_retry_policy(env: Mapping[str, str] | None = None) -> RetryPolicy:
    """For steps that call the VATSIM feeds or fetch boundaries over HTTP."""
    return _policy(os.environ if env is None else env)


def database_retry_policy(env: Mapping[str, str] | None = None) -> RetryPolicy:
    """For steps that write the database; separate from the network one so either can change
    without touching the assets that use it."""
    return _policy(os.environ if env is None else env)


def _policy(env: Mapping[str, str]) -> RetryPolicy:
    """`VATSIM_RETRY_MAX` retries, the first after about `VATSIM_RETRY_DELAY_S` seconds.

    Dagster waits `(2**n - 1) * delay ± delay` before retry n, so the defaults (3, 1.0 s)
    give up within about 14 s: before the next snapshot is due 15 s later.
    """
    return RetryPolicy(
        max_retries=_number(env, "VATSIM_RETRY_MAX", DEFAULT_MAX_RETRIES, int),
        delay=_number(env, "VATSIM_RETRY_DELAY_S", DEFAULT_DELAY_S, float),
        backoff=Backoff.EXPONENTIAL,
        jitter=Jitter.PLUS_MINUS,
    )


def _number(env: Mapping[str, str], name: str, default: N, kind: type[N]) -> N:
    """A non-negative number from the environment; a `ValueError` naming the variable if not."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}={raw!r} must be a finite number >= 0")
    return value


def fail_fast_if_unretryable(exc: Exception, service: str) -> NoReturn:
    """Re-raise `exc` if a retry may help; otherwise raise a `Failure` that skips retries.

    Call it from an `except` block of an asset. The `Failure` is chained to `exc` and its
    description starts with the service, which `errors.classify_error_info` reads back.
    """
    verdict = classify(exc, service)
    if verdict.retryable:
        raise exc
    raise Failure(
        description=(
            f"{verdict.service}: {verdict.category} error ({verdict.severity}), "
            f"not retryable: {verdict.message}"
        ),
        metadata={
            "category": verdict.category.value,
            "severity": verdict.severity.value,
            "service": verdict.service,
            "retryable": False,
            "exception_type": verdict.exception_type,
        },
        allow_retries=False,
    ) from exc
