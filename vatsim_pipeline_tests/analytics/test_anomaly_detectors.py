"""The detectors as plain functions: what fires, what does not, and bad input skipped."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from vatsim_pipeline.analytics.anomalies.altitude import altitude_jump
from vatsim_pipeline.analytics.anomalies.duplicates import Connection, duplicates
from vatsim_pipeline.analytics.anomalies.frozen import frozen, stationary
from vatsim_pipeline.analytics.anomalies.observation import Observation
from vatsim_pipeline.analytics.anomalies.squawk import squawk
from vatsim_pipeline.analytics.anomalies.stale_feed import stale_feed
from vatsim_pipeline.analytics.anomalies.teleport import teleport
from vatsim_pipeline.analytics.anomalies.thresholds import Thresholds
from vatsim_pipeline.analytics.anomalies.track import intervals, track_flags

T0 = datetime(2024, 11, 22, 12, 0, tzinfo=UTC)
DEFAULT = Thresholds()


def at(seconds: float, lat=50.0, lon=8.0, alt=30000, gs=450, squawk_code="2000") -> Observation:
    return Observation(T0 + timedelta(seconds=seconds), lat, lon, alt, gs, squawk_code)


@pytest.mark.parametrize(
    ("code", "kind"),
    [("7700", "emergency_squawk"), ("7600", "radio_failure_squawk"), ("7500", "hijack_squawk")],
)
def test_squawks(code, kind) -> None:
    found = squawk(at(0, squawk_code=code))
    assert found is not None
    assert found[0] == kind
    assert found[1]["transponder"] == code


@pytest.mark.parametrize("code", ["2000", "7000", "", None, 7700])
def test_ordinary_or_missing_transponder_is_not_a_squawk(code) -> None:
    assert squawk(at(0, squawk_code=code)) is None


def test_teleport_follows_the_dump1090_rule_with_the_sim_rate_factor() -> None:
    # 450 kt for 15 s is 1.87 NM; a 4x sim rate 7.5 NM is allowed, 5 degrees is not.
    assert teleport(at(0), at(15, lat=50.0 + 7.4 / 60), DEFAULT) is None
    jump = teleport(at(0), at(15, lat=55.0), DEFAULT)
    assert jump is not None
    assert jump["distance_nm"] == pytest.approx(300.0, rel=0.01)
    assert jump["elapsed_s"] == 15
    assert jump["implied_speed_kt"] == pytest.approx(72_000, rel=0.01)
    # dump1090's own factor, 4/3, flags a pilot flying at 2x sim rate.
    strict = Thresholds(teleport_speed_factor=4 / 3)
    assert teleport(at(0), at(15, lat=50.0 + 3.8 / 60), strict) is not None


def test_a_gap_between_snapshots_is_not_a_teleport() -> None:
    # Parked at both ends, 300 NM apart after an hour: it may have flown it.
    parked = {"gs": 0, "alt": 300}
    assert teleport(at(0, **parked), at(3600, lat=55.0, **parked), DEFAULT) is None
    assert teleport(at(0, **parked), at(60, lat=55.0, **parked), DEFAULT) is not None


def test_altitude_jump() -> None:
    assert altitude_jump(at(0, alt=10000), at(15, alt=12400), DEFAULT) is None  # 9,600 ft/min
    jump = altitude_jump(at(0, alt=10000), at(15, alt=30000), DEFAULT)
    assert jump == {
        "altitude_before": 10000,
        "altitude": 30000,
        "change_ft": 20000,
        "elapsed_s": 15.0,
        "vertical_rate_fpm": 80000,
        "previous_observed_at": T0.isoformat(),
    }


def test_frozen_needs_speed_and_five_minutes() -> None:
    assert stationary(at(0), at(15), DEFAULT)
    assert not stationary(at(0, gs=0), at(15, gs=0), DEFAULT)  # parked
    assert not stationary(at(0), at(15, lat=50.01), DEFAULT)  # moved 1.1 km
    assert frozen(T0, at(299), DEFAULT) is None
    assert frozen(T0, at(300), DEFAULT)["held_s"] == 300
    assert frozen(None, at(900), DEFAULT) is None


def test_duplicates_name_the_later_connection() -> None:
    first = Connection(1, "DLH1", 100, T0)
    later = Connection(2, "DLH1", 200, T0 + timedelta(minutes=5))
    other = Connection(3, "BAW1", 300, T0)
    found = duplicates([later, other, first])
    assert set(found) == {2}
    assert found[2]["held_by_flight_id"] == 1
    assert found[2]["connections"] == 2


def test_stale_feed_needs_a_fetch_as_evidence() -> None:
    assert stale_feed(T0, None, DEFAULT) is None
    assert stale_feed(T0, T0 + timedelta(seconds=119), DEFAULT) is None
    assert stale_feed(T0, T0 + timedelta(seconds=120), DEFAULT)["age_s"] == 120


@pytest.mark.parametrize("bad", [None, math.nan, math.inf, "12", True])
def test_missing_or_impossible_values_skip_the_check(bad) -> None:
    assert altitude_jump(at(0, alt=bad), at(15, alt=30000), DEFAULT) is None
    assert teleport(at(0, lat=bad), at(15, lat=55.0), DEFAULT) is None
    assert not stationary(at(0, gs=bad), at(15, gs=bad), DEFAULT)
    # Without any ground speed the allowed distance is unknown: no teleport check.
    assert teleport(at(0, gs=bad), at(15, lat=55.0, gs=bad), DEFAULT) is None
    assert teleport(at(0, gs=bad), at(15, lat=55.0), DEFAULT) is not None
    flags = track_flags([at(0, alt=bad, gs=bad), at(15, lat=bad, alt=bad)], {}, DEFAULT)
    assert flags == [{}, {}]


def test_intervals_are_runs_of_consecutive_flagged_observations() -> None:
    track = [
        at(0, squawk_code="7700"),
        at(15, squawk_code="7700"),
        at(30),
        at(45, squawk_code="7700"),
    ]
    found = intervals(track, track_flags(track, {}, DEFAULT))
    assert [(i.kind, i.started_at, i.last_seen_at) for i in found] == [
        ("emergency_squawk", track[0].observed_at, track[1].observed_at),
        ("emergency_squawk", track[3].observed_at, track[3].observed_at),
    ]


def test_thresholds_from_the_environment() -> None:
    assert Thresholds.from_env({}) == DEFAULT
    assert Thresholds.from_env({"VATSIM_ANOMALY_FROZEN_S": "600"}).frozen_s == 600
    with pytest.raises(ValueError, match=r"^VATSIM_ANOMALY_FROZEN_S: 'soon' is not a number$"):
        Thresholds.from_env({"VATSIM_ANOMALY_FROZEN_S": "soon"})
    with pytest.raises(ValueError, match=r"^VATSIM_ANOMALY_STALE_FEED_S: '-1' must be"):
        Thresholds.from_env({"VATSIM_ANOMALY_STALE_FEED_S": "-1"})
