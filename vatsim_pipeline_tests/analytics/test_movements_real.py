"""Movement detection on the recorded real sequences: every movement at an airport within
the threshold, no two departures (or arrivals) in a row, and none across a gap."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vatsim_pipeline.analytics.movements import MovementSettings, detect_movements
from vatsim_pipeline.feed.parse import parse_data_feed
from vatsim_pipeline_tests.analytics.movement_support import vatspy_airports
from vatsim_pipeline_tests.shared_data import sequence_files, shared_data

SETTINGS = MovementSettings()


def _tracks(paths: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Positions and filed airports of every pilot connection of the recorded files."""
    ids: dict[tuple, int] = {}
    rows, plans = [], {}
    for path in paths:
        raw = path.read_bytes()
        snapshot = parse_data_feed(gzip.decompress(raw) if path.suffix == ".gz" else raw)
        for pilot in snapshot.pilots:
            flight_id = ids.setdefault((pilot.cid, pilot.callsign, pilot.logon_time), len(ids))
            plan = pilot.flight_plan
            plans[flight_id] = (plan.departure, plan.arrival) if plan else (None, None)
            rows.append(
                (
                    flight_id,
                    snapshot.update_timestamp,
                    pilot.latitude,
                    pilot.longitude,
                    pilot.altitude,
                    pilot.groundspeed,
                )
            )
    positions = pd.DataFrame(
        rows,
        columns=["flight_id", "observed_at", "latitude", "longitude", "altitude", "groundspeed"],
    )
    filed = pd.DataFrame(
        [(k, *v) for k, v in plans.items()], columns=["flight_id", "departure", "arrival"]
    )
    return positions, filed


def _check(positions: pd.DataFrame, found: pd.DataFrame, airports: pd.DataFrame) -> None:
    where = airports.set_index("icao")
    for row in found.itertuples(index=False):
        airport = where.loc[row.airport]
        lat = np.radians([row.latitude, airport.latitude])
        dlon = np.radians(row.longitude - airport.longitude)
        cos = np.sin(lat[0]) * np.sin(lat[1]) + np.cos(lat[0]) * np.cos(lat[1]) * np.cos(dlon)
        assert 3440.065 * np.arccos(min(1.0, cos)) <= SETTINGS.airport_nm + 1e-6
        assert row.distance_nm <= SETTINGS.airport_nm
        # The movement is bracketed: the flight was seen at most max_gap_s before it.
        track = positions[positions["flight_id"] == row.flight_id]
        earlier = track[track["observed_at"] < row.moved_at]["observed_at"]
        assert not earlier.empty
        assert (row.moved_at - earlier.max()).total_seconds() <= SETTINGS.max_gap_s
    for _, kinds in found.groupby("flight_id")["kind"]:
        listed = list(kinds)
        assert all(a != b for a, b in itertools.pairwise(listed)), listed


@pytest.fixture(scope="module")
def airports() -> pd.DataFrame:
    return vatspy_airports()


def test_movements_of_the_long_real_window_with_its_gaps(airports) -> None:
    paths = sorted(shared_data("long-20220624").glob("vatsim-data_*.json.gz"))
    positions, filed = _tracks(paths)
    found = detect_movements(positions, airports, SETTINGS, filed)
    _check(positions, found, airports)
    # Snapshots more than max_gap_s apart never produce a movement between them.
    stamps = sorted(positions["observed_at"].unique())
    close = {b for a, b in itertools.pairwise(stamps) if (b - a).total_seconds() <= 120}
    assert set(found["moved_at"]) <= close
    # Only four pairs of snapshots lie close enough together (10:06:57-10:07:42,
    # 11:36:57-11:38:12, 11:41:27-11:42:27, 11:58:57-11:59:57).
    assert len(close) == 4 and len(found) > 5
    assert set(found["kind"]) == {"departure", "arrival"}


def test_movements_of_the_real_15_second_sequence(airports) -> None:
    positions, filed = _tracks(sequence_files())
    found = detect_movements(positions, airports, SETTINGS, filed)
    _check(positions, found, airports)
    assert len(found) > 3
    # Two thirds or more are at the airport the pilot filed.
    plans = filed.set_index("flight_id")
    filed_at = [
        row.airport in (plans.loc[row.flight_id, "departure"], plans.loc[row.flight_id, "arrival"])
        for row in found.itertuples(index=False)
    ]
    assert sum(filed_at) >= 2 * len(filed_at) / 3
