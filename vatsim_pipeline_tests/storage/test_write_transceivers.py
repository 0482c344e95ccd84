"""Radios: stored per snapshot, linked to their connection, and placing controllers."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from sqlalchemy import Engine

from vatsim_pipeline.feed.models import Snapshot
from vatsim_pipeline.feed.parse import parse_transceivers
from vatsim_pipeline.storage.radio_runs import transceiver_snapshots
from vatsim_pipeline.storage.schema import (
    controllers,
    feed_snapshots,
    flights,
    rejected_records,
    transceivers,
)
from vatsim_pipeline.storage.writes import write_snapshot
from vatsim_pipeline_tests.shared_data import TRANSCEIVERS_FEED, shared_data
from vatsim_pipeline_tests.storage.support import parsed, raw, rows, update_timestamp

DATA = shared_data("vatsim-data_20250806T065457Z.json")


def _fresh_snapshot() -> Snapshot:
    """A copy of the parsed data feed that `parse_transceivers` may add to."""
    snapshot = parsed(DATA)
    return dataclasses.replace(
        snapshot, transceivers=[], rejected=list(snapshot.rejected), transceiver_stations=0
    )


def test_real_transceivers_feed_is_stored_radio_for_radio(engine: Engine) -> None:
    path = shared_data(TRANSCEIVERS_FEED)
    document = raw(path)
    snapshot = _fresh_snapshot()
    parse_transceivers(path.read_bytes(), snapshot)

    write = write_snapshot(engine, snapshot)

    expected = {
        (station["callsign"], radio["id"]): radio
        for station in document
        for radio in station["transceivers"]
    }
    # As every reader sees them: a radio referring to a lower one's position has it.
    radios = rows(engine, transceiver_snapshots)
    stored = {(r["callsign"], r["transceiver_id"]): r for r in radios}
    assert write.tables["transceivers"].inserted == len(expected) == len(stored)
    assert stored.keys() == expected.keys()
    for key, radio in expected.items():
        row = stored[key]
        assert row["frequency_hz"] == radio["frequency"], key
        assert (row["latitude"], row["longitude"]) == (radio["latDeg"], radio["lonDeg"]), key
        assert row["height_msl_m"] == radio["heightMslM"], key
        assert row["observed_at"] == update_timestamp(DATA)
    # This feed was recorded on another day: only callsigns that happen to match link.
    flight_ids = {r["callsign"]: r["id"] for r in rows(engine, flights)}
    controller_ids = {r["callsign"]: r["id"] for r in rows(engine, controllers)}
    for (callsign, _), row in stored.items():
        assert row["flight_id"] == flight_ids.get(callsign)
        assert row["controller_id"] == controller_ids.get(callsign)
    [counts] = rows(engine, feed_snapshots)
    assert counts["transceiver_stations"] == len(document)
    assert counts["transceivers"] == len(expected)


def _station(callsign: str, radios: list[tuple[int, float, float]]) -> dict:
    return {
        "callsign": callsign,
        "transceivers": [
            {
                "id": index,
                "frequency": frequency,
                "latDeg": lat,
                "lonDeg": lon,
                "heightMslM": 10.5,
                "heightAglM": 0.0,
            }
            for index, (frequency, lat, lon) in enumerate(radios)
        ],
    }


def _matching_transceivers() -> tuple[list[dict], dict[str, tuple[float, float] | None]]:
    """A transceivers feed for the data file's own callsigns.

    Every pilot has one radio at its position; every controller but the last has two
    radios one degree of latitude apart, so that its centre is known exactly; one ATIS
    has a single radio; one station matches nobody. Returns the feed and the expected
    controller positions by callsign.
    """
    document = raw(DATA)
    stations = [
        _station(p["callsign"], [(122_800_000, p["latitude"], p["longitude"])])
        for p in document["pilots"]
    ]
    expected: dict[str, tuple[float, float] | None] = {}
    for index, controller in enumerate(document["controllers"][:-1]):
        lat, lon = -60.0 + (index * 7) % 120, -170.0 + (index * 13) % 340
        hz = round(float(controller["frequency"]) * 1e6)
        stations.append(
            _station(controller["callsign"], [(hz, lat - 0.5, lon), (hz, lat + 0.5, lon)])
        )
        expected[controller["callsign"]] = (lat, lon)
    expected[document["controllers"][-1]["callsign"]] = None
    atis = document["atis"][0]
    stations.append(_station(atis["callsign"], [(118_000_000, 51.4775, -0.461389)]))
    expected[atis["callsign"]] = (51.4775, -0.461389)
    stations.append(_station("NOBODY_CTR", [(121_500_000, 0.0, 179.5), (121_500_000, 0.0, -179.5)]))
    return stations, expected


def test_radios_link_to_their_connection_and_place_controllers(engine: Engine) -> None:
    stations, expected_positions = _matching_transceivers()
    snapshot = _fresh_snapshot()
    parse_transceivers(json.dumps(stations).encode(), snapshot)

    write_snapshot(engine, snapshot)

    flight_by_id = {r["id"]: r["callsign"] for r in rows(engine, flights)}
    controller_by_id = {r["id"]: r["callsign"] for r in rows(engine, controllers)}
    stored = rows(engine, transceivers)
    assert len(stored) == sum(len(s["transceivers"]) for s in stations)
    pilots = {p["callsign"] for p in raw(DATA)["pilots"]}
    for row in stored:
        if row["callsign"] in pilots:
            assert flight_by_id[row["flight_id"]] == row["callsign"]
            assert row["controller_id"] is None
        elif row["callsign"] == "NOBODY_CTR":
            assert (row["flight_id"], row["controller_id"]) == (None, None)
        else:
            assert controller_by_id[row["controller_id"]] == row["callsign"]
            assert row["flight_id"] is None
    positions = {r["callsign"]: (r["latitude"], r["longitude"]) for r in rows(engine, controllers)}
    for callsign, expected in expected_positions.items():
        if expected is None:
            assert positions[callsign] == (None, None), callsign
        else:
            assert positions[callsign] == pytest.approx(expected, abs=1e-6), callsign
    untouched = set(positions) - set(expected_positions)
    assert untouched and all(positions[c] == (None, None) for c in untouched)


def test_controller_centre_is_taken_on_the_sphere(engine: Engine) -> None:
    """Radios either side of the antimeridian centre on it, not on the Greenwich meridian."""
    controller = raw(DATA)["controllers"][0]
    station = _station(controller["callsign"], [(0, 10.0, 179.0), (0, 10.0, -179.0)])
    snapshot = _fresh_snapshot()
    parse_transceivers(json.dumps([station]).encode(), snapshot)

    write_snapshot(engine, snapshot)

    [row] = [r for r in rows(engine, controllers) if r["callsign"] == controller["callsign"]]
    assert abs(row["longitude"]) == pytest.approx(180.0, abs=1e-6)
    assert row["latitude"] == pytest.approx(
        math.degrees(math.atan(math.tan(math.radians(10)) / math.cos(math.radians(1)))), abs=1e-6
    )


def test_transceivers_payload_that_is_not_json_still_stores_the_snapshot(engine: Engine) -> None:
    snapshot = _fresh_snapshot()
    parse_transceivers(b"<html><body>502 Bad Gateway</body></html>", snapshot)

    write = write_snapshot(engine, snapshot)

    assert write.new_snapshot is True
    assert write.rejected == 1
    assert write.tables["flights"].inserted == len(raw(DATA)["pilots"])
    [rejected] = rows(engine, rejected_records)
    assert rejected["section"] == "transceivers"
    assert "not JSON" in rejected["reason"]
    assert rows(engine, transceivers) == []
    [counts] = rows(engine, feed_snapshots)
    assert (counts["pilots"], counts["transceivers"], counts["rejected"]) == (
        len(raw(DATA)["pilots"]),
        0,
        1,
    )
