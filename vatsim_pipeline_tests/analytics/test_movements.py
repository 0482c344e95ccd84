"""Movement detection on simulated tracks (known takeoff and landing moments) and on
hand-made tracks for each rule: airborne connections, gaps, paused simulators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from vatsim_pipeline.analytics.movements import MovementSettings, detect_movements
from vatsim_pipeline_tests.analytics.movement_support import simulated_tracks, vatspy_airports

START = datetime(2026, 12, 4, 10, tzinfo=UTC)
SETTINGS = MovementSettings()


@pytest.fixture(scope="module")
def airports() -> pd.DataFrame:
    return vatspy_airports()


def test_simulated_takeoffs_and_landings_are_found_within_one_snapshot(airports) -> None:
    positions, filed, truth, ids = simulated_tracks(pilots=80, hours=2, seed=5, start=START)
    found = detect_movements(positions, airports, SETTINGS, filed)
    assert len(truth) > 40
    detected = {(row.flight_id, row.kind): row for row in found.itertuples(index=False)}
    end = positions["observed_at"].max()
    for movement in truth:
        key = (ids[movement.connection], movement.kind)
        if key not in detected:
            # Only a landing whose roll-out the recording ends in can be missing.
            assert movement.kind == "arrival", movement
            assert movement.before > end - timedelta(seconds=90), movement
            continue
        row = detected.pop(key)
        assert row.airport == movement.airport
        # The real moment lies between two snapshots; the detected one is one of them.
        assert movement.after <= row.moved_at <= movement.before + timedelta(seconds=15)
        assert row.moved_at - movement.after <= timedelta(seconds=15)
        assert row.distance_nm <= SETTINGS.airport_nm
    assert detected == {}, "a movement the simulator did not fly"


def _track(*points: tuple[int, int, int], start: datetime = START, lat=51.4775, lon=-0.4614):
    """(seconds after start, altitude ft, ground speed kt) near Heathrow, one flight."""
    return pd.DataFrame(
        {
            "flight_id": 1,
            "observed_at": [start + timedelta(seconds=s) for s, _, _ in points],
            "latitude": lat,
            "longitude": lon,
            "altitude": [a for _, a, _ in points],
            "groundspeed": [g for _, _, g in points],
        }
    )


def _kinds(frame: pd.DataFrame) -> list[tuple[str, int]]:
    return [
        (row.kind, int((row.moved_at - START).total_seconds()))
        for row in frame.itertuples(index=False)
    ]


def test_a_full_flight_departs_and_arrives(airports) -> None:
    track = _track(
        (0, 80, 0),
        (15, 80, 18),
        (30, 80, 20),
        (45, 400, 160),
        (60, 1200, 180),
        (600, 1500, 170),
        (615, 150, 140),
        (630, 83, 60),
        (645, 83, 25),
    )
    assert _kinds(detect_movements(track, airports, SETTINGS)) == [
        ("departure", 45),
        ("arrival", 630),
    ]
    found = detect_movements(track, airports, SETTINGS)
    assert set(found["airport"]) == {"EGLL"}


def test_connecting_or_disconnecting_in_the_air_has_no_movement_there(airports) -> None:
    airborne_only = _track((0, 3000, 200), (15, 2500, 190), (30, 2000, 180))
    assert detect_movements(airborne_only, airports, SETTINGS).empty
    lands = _track((0, 1000, 150), (15, 300, 140), (30, 83, 30))
    assert _kinds(detect_movements(lands, airports, SETTINGS)) == [("arrival", 30)]
    leaves = _track((0, 83, 10), (15, 500, 150), (30, 1500, 200))
    assert _kinds(detect_movements(leaves, airports, SETTINGS)) == [("departure", 15)]


def test_a_gap_never_invents_a_movement(airports) -> None:
    # Seen on the ground, then 30 minutes later in the air: the takeoff time is unknown.
    track = _track((0, 83, 10), (15, 83, 12), (1815, 9000, 300), (1830, 9500, 310))
    assert detect_movements(track, airports, SETTINGS).empty
    # Just inside the gap allowed, it is found.
    track = _track((0, 83, 10), (120, 900, 160))
    assert _kinds(detect_movements(track, airports, SETTINGS)) == [("departure", 120)]


def test_movements_alternate_when_a_gap_hides_a_landing(airports) -> None:
    track = _track(
        (0, 83, 10),
        (15, 500, 150),  # departure
        (5000, 83, 10),  # landed during the gap: no arrival
        (5015, 83, 15),
        (5030, 600, 150),  # the next takeoff would be a second in a row
        (9000, 300, 140),
        (9015, 83, 20),  # arrival
    )
    assert _kinds(detect_movements(track, airports, SETTINGS)) == [
        ("departure", 15),
        ("arrival", 9015),
    ]


def test_the_filed_airport_wins_over_a_nearer_heliport(airports) -> None:
    # The threshold of Sydney's runway 16R: St George Hospital (YXSG) is nearer to it
    # than Sydney's own reference point.
    track = _track((0, 21, 10), (15, 600, 150), lat=-33.965, lon=151.14)
    assert set(detect_movements(track, airports, SETTINGS)["airport"]) == {"YXSG"}
    filed = pd.DataFrame({"flight_id": [1], "departure": ["YSSY"], "arrival": ["YMML"]})
    found = detect_movements(track, airports, SETTINGS, filed)
    assert list(found["airport"]) == ["YSSY"] and 1.5 < found["distance_nm"][0] < 2.5


def test_far_from_any_airport_or_paused_at_altitude_is_no_movement(airports) -> None:
    mid_atlantic = _track((0, 0, 10), (15, 500, 150), lat=45.0, lon=-35.0)
    assert detect_movements(mid_atlantic, airports, SETTINGS).empty
    paused = _track((0, 35000, 450), (15, 35000, 0), (30, 35000, 0), (45, 35000, 450))
    assert detect_movements(paused, airports, SETTINGS).empty


def test_taxiing_fast_without_climbing_is_no_movement(airports) -> None:
    track = _track((0, 83, 10), (15, 90, 60), (30, 83, 25))
    assert detect_movements(track, airports, SETTINGS).empty


def test_settings_come_from_the_environment_and_refuse_nonsense() -> None:
    settings = MovementSettings.from_env({"VATSIM_MOVEMENT_AIRPORT_NM": "3"})
    assert settings.airport_nm == 3.0 and settings.ground_kt == 40.0
    with pytest.raises(ValueError, match="VATSIM_MOVEMENT_GROUND_KT: 'fast' is not a number"):
        MovementSettings.from_env({"VATSIM_MOVEMENT_GROUND_KT": "fast"})
    with pytest.raises(ValueError, match="VATSIM_MOVEMENT_MAX_GAP_S: must be positive"):
        MovementSettings.from_env({"VATSIM_MOVEMENT_MAX_GAP_S": "0"})


def test_the_last_stored_movement_before_the_tracks_keeps_the_alternation(airports) -> None:
    # A takeoff already stored for this flight (an earlier hour), then a landing hidden
    # by a gap: the next takeoff would be the second in a row.
    track = _track((0, 83, 10), (15, 500, 150))
    assert detect_movements(track, airports, SETTINGS, before={1: "departure"}).empty
    assert _kinds(detect_movements(track, airports, SETTINGS, before={1: "arrival"})) == [
        ("departure", 15)
    ]
