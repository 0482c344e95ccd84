"""The report window: `--since` parsing, and which times it holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vatsim_pipeline.reports.window import Window, chunks, parse_since

NOW = datetime(2024, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "back"),
    [
        ("24h", timedelta(hours=24)),
        ("90m", timedelta(minutes=90)),
        ("7d", timedelta(days=7)),
        ("30s", timedelta(seconds=30)),
        ("2w", timedelta(weeks=2)),
        ("1.5h", timedelta(minutes=90)),
        ("15m", timedelta(minutes=15)),
    ],
)
def test_durations_count_back_from_now(text: str, back: timedelta) -> None:
    assert parse_since(text, NOW) == NOW - back


def test_iso_times_are_taken_as_given_and_naive_ones_as_utc() -> None:
    assert parse_since("2024-11-21T08:30:00+02:00", NOW) == datetime(
        2024, 11, 21, 6, 30, tzinfo=UTC
    )
    assert parse_since("2024-11-21T08:30:00Z", NOW) == datetime(2024, 11, 21, 8, 30, tzinfo=UTC)
    assert parse_since("2024-11-21 08:30", NOW) == datetime(2024, 11, 21, 8, 30, tzinfo=UTC)
    assert parse_since("2024-11-21", NOW) == datetime(2024, 11, 21, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("yesterday", "'yesterday' is neither a duration (30s, 90m, 24h, 7d, 2w) nor an ISO time"),
        ("24", "'24' is neither a duration (30s, 90m, 24h, 7d, 2w) nor an ISO time"),
        ("-1h", "'-1h' is neither a duration (30s, 90m, 24h, 7d, 2w) nor an ISO time"),
        ("0h", "'0h' is not in the past"),
        ("1.5H", "'1.5H' is neither a duration (30s, 90m, 24h, 7d, 2w) nor an ISO time"),
        (
            "99999999999d",
            "'99999999999d' is too long a duration (at most 9999999999s, 99999999m, "
            "999999h, 99999d or 9999w, with up to 6 decimals)",
        ),
        (
            "2023-02-29",
            "'2023-02-29' is neither a duration (30s, 90m, 24h, 7d, 2w) nor an ISO time",
        ),
        ("2024-11-23T00:00:00Z", "'2024-11-23T00:00:00Z' is not in the past"),
    ],
)
def test_what_is_not_a_start_in_the_past_is_refused_with_the_reason(
    text: str, message: str
) -> None:
    with pytest.raises(ValueError) as error:
        parse_since(text, NOW)
    assert str(error.value) == message


def test_a_window_lasts_a_day_by_default_and_holds_its_bounds() -> None:
    window = Window.between(until=NOW)
    assert window.since == NOW - timedelta(hours=24)
    assert window.as_dict() == {
        "since": "2024-11-21T12:00:00+00:00",
        "until": "2024-11-22T12:00:00+00:00",
    }
    assert window.holds(window.since.timestamp())
    assert window.holds(NOW.timestamp())
    assert not window.holds(NOW.timestamp() + 1)
    assert not window.holds(window.since.timestamp() - 1)


def test_chunks_fit_an_in_list() -> None:
    assert list(chunks(["a", "b", "c", "d", "e"], size=2)) == [["a", "b"], ["c", "d"], ["e"]]
    assert list(chunks([], size=2)) == []
