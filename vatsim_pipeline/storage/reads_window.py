"""The one grammar of a time given by a user, for the HTTP API, the command line and the
reports: an ISO 8601 date or date and time (UTC when it names no zone) or a duration
back from "now" (`30s`, `90m`, `24h`, `7d`, `2w`).

`TIME_PATTERN` states it exactly, calendar included (no 30 February, 29 February only in
leap years), and bounds durations to what a datetime can count back (about three
centuries), so that every text it matches is a time and every other text is refused:
the HTTP API publishes the same pattern in its OpenAPI document, and clients and fuzzers
see what the server takes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

YEAR = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
DATE = rf"(?:{YEAR}-{MONTH_DAY}|{LEAP_YEAR}-02-29)"
CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
ZONE = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
ISO_TIME = rf"{DATE}(?:[T ]{CLOCK}{ZONE}?)?"
FRACTION = r"(?:\.[0-9]{1,6})?"
DURATION = (
    rf"(?:[0-9]{{1,10}}{FRACTION}s|[0-9]{{1,8}}{FRACTION}m|[0-9]{{1,6}}{FRACTION}h"
    rf"|[0-9]{{1,5}}{FRACTION}d|[0-9]{{1,4}}{FRACTION}w)"
)
TIME_PATTERN = rf"^(?:{DURATION}|{ISO_TIME})$"
TIME_HELP = (
    "an ISO 8601 date or date and time (2024-11-22, 2024-11-22T12:00Z; UTC unless zoned) "
    "or a duration back from now: 30s, 90m, 24h, 7d, 2w (at most about 300 years)"
)
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TIME = re.compile(TIME_PATTERN)
_DURATION = re.compile(rf"^{DURATION}$")
_ANY_DURATION = re.compile(r"^[0-9]+(?:\.[0-9]+)?[smhdw]$")
FIRST = datetime.min.replace(tzinfo=UTC)
LAST = datetime.max.replace(tzinfo=UTC)


def parse_moment(text: str, now: datetime) -> datetime:
    """The aware UTC time `text` names; `ValueError` with the reason when it names none."""
    if not _TIME.match(text):
        if not text.strip():
            raise ValueError("is empty")
        if _ANY_DURATION.match(text):
            raise ValueError(
                f"{text!r} is too long a duration (at most 9999999999s, 99999999m, "
                "999999h, 99999d or 9999w, with up to 6 decimals)"
            )
        raise ValueError(f"{text!r} is neither a duration (30s, 90m, 24h, 7d, 2w) nor an ISO time")
    if _DURATION.match(text):
        seconds = float(text[:-1]) * UNIT_SECONDS[text[-1]]
        return shifted(now, -timedelta(seconds=seconds))
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00, before the first datetime
        return FIRST if moment.year == 1 else LAST


def narrowed_window(
    start: datetime, end: datetime, limit: timedelta | None
) -> tuple[datetime, datetime]:
    """The window an HTTP API answers where its schema cannot state the rule: one that
    ends before it starts is the empty window at `end`, and one longer than `limit` (a
    retention) starts `limit` before `end`. The command line refuses both instead."""
    if limit is not None and end - start > limit:
        start = end - limit
    return min(start, end), end


def shifted(moment: datetime, delta: timedelta) -> datetime:
    """`moment + delta`, clamped to the datetimes that exist."""
    try:
        return moment + delta
    except OverflowError:
        return FIRST if delta < timedelta(0) else LAST
