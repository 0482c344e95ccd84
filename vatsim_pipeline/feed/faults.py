"""Fault injection for the local feed server: the ways a real feed misbehaves, on demand.

The pipeline's retry policies, circuit breaker and payload checks need each failure of
the real VATSIM feeds to be reproducible: a 5xx (with or without `Retry-After`), a hang
longer than the client's read timeout, a connection dropped without an answer, a body
cut short, an HTML error page served with 200, an older snapshot served again, a
timestamp from the future. `Faults` holds the settings (changeable at runtime) and draws,
from a seeded generator, which requests fail; the helpers below build the bad answers.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields, replace
from datetime import timedelta
from typing import Any

from vatsim_pipeline.feed.parse import parse_timestamp

FAIL_MODES = ("http500", "http503", "timeout", "close", "truncated", "html", "stale", "future")
FAIL_TARGETS = ("data", "transceivers", "status", "all")
RAW_SEND = "vatsim_pipeline.raw_send"
HTML_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>502 Bad Gateway</h1><p>The upstream server did not answer.</p>"
    b"<hr><p>simulated by the vatsim-pipeline feed server</p></body></html>"
)
_UPDATE = re.compile(rb'"update"\s*:\s*"(\d{14})"')
_UPDATE_TIMESTAMP = re.compile(rb'"update_timestamp"\s*:\s*"([^"]{10,40})"')


@dataclass(frozen=True)
class FaultSettings:
    """What goes wrong, how often, and where.

    `fail_mode` None means no faults. `fail_rate` is the share of targeted requests that
    fail; `fail_times`, when set, is how many more faults to inject before the feed heals
    by itself. `latency` (s) delays every targeted response; `hang_seconds` is how long a
    `timeout` fault holds a request; `retry_after` (s) goes in the 503's header.
    """

    fail_mode: str | None = None
    fail_rate: float = 1.0
    fail_target: str = "data"
    latency: float = 0.0
    hang_seconds: float = 30.0
    retry_after: int = 5
    fail_times: int | None = None

    def __post_init__(self) -> None:
        if self.fail_mode not in (None, *FAIL_MODES):
            raise ValueError(f"fail_mode: {self.fail_mode!r} is not one of {', '.join(FAIL_MODES)}")
        if self.fail_target not in FAIL_TARGETS:
            raise ValueError(
                f"fail_target: {self.fail_target!r} is not one of {', '.join(FAIL_TARGETS)}"
            )
        _check_number("fail_rate", self.fail_rate, high=1.0)
        _check_number("latency", self.latency)
        _check_number("hang_seconds", self.hang_seconds)
        _check_number("retry_after", self.retry_after, whole=True)
        if self.fail_times is not None:
            _check_number("fail_times", self.fail_times, whole=True)

    def updated(self, changes: dict[str, Any]) -> FaultSettings:
        """These settings with `changes` applied; `ValueError` names a bad key or value."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown setting; known are {', '.join(sorted(known))}")
        if changes.get("fail_mode") == "none":
            changes = {**changes, "fail_mode": None}
        return replace(self, **changes)

    def targets(self, feed: str) -> bool:
        """Whether faults and latency apply to `feed` (status, data or transceivers)."""
        return self.fail_target in ("all", feed)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_number(name: str, value: Any, *, high: float | None = None, whole: bool = False) -> None:
    kinds = int if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
        raise ValueError(f"{name}: {value!r} is not a finite {'whole ' if whole else ''}number")
    if value < 0 or (high is not None and value > high):
        raise ValueError(f"{name}: {value} is outside 0..{'inf' if high is None else f'{high:g}'}")


class Faults:
    """The current settings, shared by requests and the control endpoint, and the draws."""

    def __init__(self, settings: FaultSettings | None = None, seed: int | None = 0) -> None:
        self._settings = settings or FaultSettings()
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def update(self, changes: dict[str, Any]) -> FaultSettings:
        """Apply `changes` (validated as a whole, so a bad request changes nothing)."""
        with self._lock:
            self._settings = self._settings.updated(changes)
            return self._settings

    def draw(self, feed: str) -> tuple[str | None, float]:
        """The fault (or None) and the latency (s) for one request to `feed`."""
        with self._lock:
            settings = self._settings
            if not settings.targets(feed):
                return None, 0.0
            if settings.fail_mode is None or settings.fail_times == 0:
                return None, settings.latency
            if self._random.random() >= settings.fail_rate:
                return None, settings.latency
            if settings.fail_times is not None:
                self._settings = replace(settings, fail_times=settings.fail_times - 1)
            return settings.fail_mode, settings.latency


def truncated(payload: bytes) -> bytes:
    """The first half of a payload: valid JSON up to a point, then nothing."""
    return payload[: max(1, len(payload) // 2)]


def shifted(payload: bytes, delta: timedelta) -> bytes:
    """A data-feed payload whose `general.update`/`update_timestamp` lie `delta` away."""
    match = _UPDATE_TIMESTAMP.search(payload)
    if match is None:
        return payload
    moment = parse_timestamp(match.group(1).decode()) + delta
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%f").encode() + b"0Z"
    shifted_payload = payload[: match.start(1)] + stamp + payload[match.end(1) :]
    update = _UPDATE.search(shifted_payload, 0, 4096)
    if update is None:
        return shifted_payload
    digits = moment.strftime("%Y%m%d%H%M%S").encode()
    return shifted_payload[: update.start(1)] + digits + shifted_payload[update.end(1) :]


async def hang(seconds: float, is_disconnected: Callable[[], Awaitable[bool]]) -> None:
    """Hold a request for `seconds`, or until the client gives up and goes away."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if await is_disconnected():
            return
        await asyncio.sleep(min(0.1, max(0.0, deadline - loop.time())))


async def drop_connection(scope: dict) -> bool:
    """Close the client's connection before any byte of a response is sent.

    Starlette answers an exception with a 500, so the only way to send nothing is to
    close the socket. ASGI does not expose it; uvicorn's `send` is a bound method of its
    request cycle, which holds the transport. `KeepRawSend` stores that `send` in the
    scope. Returns False when the server is not uvicorn, so the caller can fall back to
    breaking the response body instead.
    """
    cycle = getattr(scope.get(RAW_SEND), "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "close"):
        return False
    transport.close()
    for _ in range(3):
        await asyncio.sleep(0)
    return True


class KeepRawSend:
    """ASGI middleware (outermost) that keeps the server's own `send` for `drop_connection`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)
