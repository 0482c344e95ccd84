"""Alert settings from the environment; a malformed value is refused with one line naming
the variable (`SettingError`), at the start of every command and when Dagster loads."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from vatsim_pipeline.analytics.anomalies import KINDS, SQUAWK_KINDS

WEBHOOK_URL = "VATSIM_ALERT_WEBHOOK_URL"
KINDS_VARIABLE = "VATSIM_ALERT_KINDS"
INTERVAL_VARIABLE = "VATSIM_ALERT_INTERVAL_S"
DEFAULT_KINDS = (*SQUAWK_KINDS, "stale_feed")


class SettingError(ValueError):
    """A setting that cannot be used: `<VARIABLE>: <reason>`."""


@dataclass(frozen=True)
class AlertSettings:
    """Where and what to alert; `webhook_url` None means alerts are off."""

    webhook_url: str | None = None
    kinds: tuple[str, ...] = DEFAULT_KINDS
    timeout_s: float = 5.0
    retries: int = 3
    max_age_s: float = 900.0
    # Least seconds between two ticks of the alerts' sensor: an alert's latency beyond
    # the anomaly's snapshot. One feed update (15 s) by default: each tick costs the
    # daemon and the code server a sensor evaluation and a tick record.
    interval_s: int = 15

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AlertSettings:
        env = os.environ if env is None else env
        return cls(
            webhook_url=_webhook_url(env.get(WEBHOOK_URL)),
            kinds=_kinds(env.get(KINDS_VARIABLE)),
            timeout_s=_number(env, "VATSIM_ALERT_TIMEOUT_S", 5.0),
            retries=int(_number(env, "VATSIM_ALERT_RETRIES", 3, whole=True, zero=True)),
            max_age_s=_number(env, "VATSIM_ALERT_MAX_AGE_S", 900.0),
            interval_s=int(_number(env, INTERVAL_VARIABLE, 15, whole=True)),
        )


def _webhook_url(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError as error:
        raise SettingError(f"{WEBHOOK_URL}: {text!r} is not a URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in text:
        raise SettingError(f"{WEBHOOK_URL}: {text!r} is not an http(s) URL with a host")
    return text


def _kinds(text: str | None) -> tuple[str, ...]:
    if text is None:
        return DEFAULT_KINDS
    kinds = tuple(kind.strip() for kind in text.split(",") if kind.strip())
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise SettingError(
            f"{KINDS_VARIABLE}: {', '.join(unknown)} is not a kind (one of {', '.join(KINDS)})"
        )
    return kinds


def _number(
    env: Mapping[str, str], name: str, default: float, *, whole: bool = False, zero: bool = False
) -> float:
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        raise SettingError(f"{name}: {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        raise SettingError(f"{name}: {text!r} must be a positive number")
    if whole and value != int(value):
        raise SettingError(f"{name}: {text!r} must be a whole number")
    return value
