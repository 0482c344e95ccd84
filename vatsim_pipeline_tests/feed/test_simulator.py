"""The traffic simulator, stepped through hours of simulated time without sleeping.

Every payload goes through the project's own parser, so "real-shaped" means what the
pipeline will actually accept.
"""

from __future__ import annotations

import itertools
import re
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from vatsim_pipeline.feed.airports import (
    AIRPORTS_BY_ICAO,
    AIRPORTS_BY_PREFIX,
    Airport,
    bearing_deg,
    distance_nm,
    locate,
)
from vatsim_pipeline.feed.models import Snapshot
from vatsim_pipeline.feed.parse import parse_data_feed, parse_transceivers
from vatsim_pipeline.feed.simulator import Simulator
from vatsim_pipeline_tests.shared_data import shared_data

START = datetime(2025, 8, 6, 6, 0, tzinfo=UTC)
PILOTS, CONTROLLERS, CADENCE_S, HOURS = 120, 25, 60, 4
UNICOM_HZ = 122_800_000
FEED_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")


def _parsed(data: bytes, transceivers: bytes) -> Snapshot:
    snapshot = parse_data_feed(data)
    parse_transceivers(transceivers, snapshot)
    return snapshot


@pytest.fixture(scope="module")
def history() -> list[Snapshot]:
    """Four simulated hours, one snapshot a minute, parsed."""
    simulator = Simulator(pilots=PILOTS, controllers=CONTROLLERS, seed=7, start=START)
    snapshots = []
    for _ in range(HOURS * 3600 // CADENCE_S + 1):
        _, data, transceivers = simulator.render()
        snapshots.append(_parsed(data, transceivers))
        simulator.step(CADENCE_S)
    return snapshots


def _connections(history: list[Snapshot]) -> dict[tuple, list[tuple[int, object]]]:
    """Each pilot connection (cid, callsign, logon_time) and its sightings, in order."""
    seen: dict[tuple, list[tuple[int, object]]] = defaultdict(list)
    for index, snapshot in enumerate(history):
        for pilot in snapshot.pilots:
            seen[(pilot.cid, pilot.callsign, pilot.logon_time)].append((index, pilot))
    return seen


def _distance(a: Any, b: Any) -> float:
    """Nautical miles between two things that have a latitude and a longitude."""
    return distance_nm(a.latitude, a.longitude, b.latitude, b.longitude)


def _airport_of(callsign: str) -> Airport | None:
    prefix = callsign.split("_", 1)[0]
    return AIRPORTS_BY_ICAO.get(prefix) or AIRPORTS_BY_PREFIX.get(prefix)


def test_every_record_of_every_snapshot_is_accepted(history: list[Snapshot]) -> None:
    assert [r for snapshot in history for r in snapshot.rejected] == []
    for snapshot in history:
        counts = snapshot.counts()
        assert snapshot.connected_clients == (
            counts["pilots"] + counts["controllers"] + counts["atis"]
        )
        assert counts["transceiver_stations"] == snapshot.connected_clients
        assert counts["prefiles"] > 0 and counts["servers"] == 9


def test_payload_has_exactly_the_fields_of_the_real_2025_feed() -> None:
    real = orjson.loads(shared_data("vatsim-data_20250806T065457Z.json").read_bytes())
    ours = orjson.loads(Simulator(pilots=300, controllers=40, seed=3, start=START).render()[1])

    def keys(document: dict, section: str, **where: object) -> set[str]:
        entries = [e for e in document[section] if all(e[k] == v for k, v in where.items())]
        return set(entries[0])

    assert list(ours) == list(real)
    assert set(ours["general"]) == set(real["general"])
    assert keys(ours, "pilots") == keys(real, "pilots")
    assert set(ours["pilots"][0]["flight_plan"]) == set(real["pilots"][0]["flight_plan"])
    assert keys(ours, "controllers", facility=6) == keys(real, "controllers", facility=6)
    assert keys(ours, "atis") == keys(real, "atis")
    assert keys(ours, "servers") == keys(real, "servers")
    assert keys(ours, "prefiles") == keys(real, "prefiles")
    for table in ("facilities", "ratings", "pilot_ratings", "military_ratings"):
        assert ours[table] == real[table]
    general = ours["general"]
    assert FEED_TIME.match(general["update_timestamp"])
    assert general["update"] == "20250806060000"
    assert general["version"] == 3


def test_update_timestamps_strictly_increase_with_simulated_time(
    history: list[Snapshot],
) -> None:
    stamps = [snapshot.update_timestamp for snapshot in history]
    assert stamps[0] == START
    steps = {later - earlier for earlier, later in itertools.pairwise(stamps)}
    assert steps == {timedelta(seconds=CADENCE_S)}


def test_populations_stay_near_their_targets(history: list[Snapshot]) -> None:
    pilots = [len(s.pilots) for s in history]
    controllers = [s.counts()["controllers"] for s in history]
    assert min(pilots) >= 0.85 * PILOTS and max(pilots) <= PILOTS
    assert min(controllers) >= 0.8 * CONTROLLERS and max(controllers) <= CONTROLLERS
    assert all(s.counts()["atis"] > 0 for s in history)


def test_a_connection_keeps_its_identity_and_a_reconnection_gets_a_new_logon_time(
    history: list[Snapshot],
) -> None:
    connections = _connections(history)
    for sightings in connections.values():
        indexes = [index for index, _ in sightings]
        assert indexes == list(range(indexes[0], indexes[-1] + 1)), "a connection came back"
    by_pilot: dict[tuple, list[tuple]] = defaultdict(list)
    for key, sightings in connections.items():
        by_pilot[key[:2]].append((sightings[0][0], sightings[-1][0], key[2]))
    reconnections = 0
    for runs in by_pilot.values():
        runs.sort()
        for (_, last, _), (first, _, logon) in itertools.pairwise(runs):
            assert first > last and logon > history[last].update_timestamp
            reconnections += 1
    assert reconnections >= 3
    for snapshot in history:
        assert len({p.callsign for p in snapshot.pilots}) == len(snapshot.pilots)


def test_pilots_move_as_fast_as_their_groundspeed_says(history: list[Snapshot]) -> None:
    checked = 0
    for sightings in _connections(history).values():
        for (i, a), (j, b) in itertools.pairwise(sightings):
            steady = a.groundspeed > 0 and abs(a.groundspeed - b.groundspeed) <= 10
            if j != i + 1 or not steady:
                continue
            moved = distance_nm(a.latitude, a.longitude, b.latitude, b.longitude)
            expected = (a.groundspeed + b.groundspeed) / 2 * CADENCE_S / 3600
            assert moved == pytest.approx(expected, rel=0.05, abs=0.02), a.callsign
            if a.groundspeed > 100:
                course = bearing_deg(a.latitude, a.longitude, b.latitude, b.longitude)
                assert abs((course - a.heading + 180) % 360 - 180) < 3, a.callsign
            checked += 1
    assert checked > 2500


def test_flights_climb_cruise_descend_and_end_at_the_gate(history: list[Snapshot]) -> None:
    completed = started = climbing = descending = cruising = 0
    for sightings in _connections(history).values():
        first_index, first = sightings[0]
        last_index, last = sightings[-1]
        plan = first.flight_plan
        departure, arrival = AIRPORTS_BY_ICAO[plan.departure], AIRPORTS_BY_ICAO[plan.arrival]
        if last_index < len(history) - 1 and last.groundspeed == 0:
            assert _distance(last, arrival) < 0.1
            assert last.altitude == arrival.elevation_ft
            completed += 1
        if first_index > 0 and first.groundspeed == 0:
            assert _distance(first, departure) < 0.1
            started += 1
        altitudes = [pilot.altitude for _, pilot in sightings]
        climbing += any(b > a for a, b in itertools.pairwise(altitudes))
        descending += any(b < a for a, b in itertools.pairwise(altitudes))
        cruising += any(a == int(plan.planned_altitude) for a in altitudes)
    assert completed >= 20 and started >= 20
    assert climbing >= 20 and descending >= 20 and cruising >= 20


def test_transceivers_match_positions_and_frequencies(history: list[Snapshot]) -> None:
    for snapshot in history[::20]:
        radios = defaultdict(list)
        for radio in snapshot.transceivers:
            radios[radio.callsign].append(radio)
        stations = list(snapshot.controllers)
        online = {c.frequency_hz for c in stations}
        for station in stations:
            assert radios[station.callsign], station.callsign
            assert {r.frequency_hz for r in radios[station.callsign]} == {station.frequency_hz}
            where = locate(station.callsign)
            if station.callsign.endswith("_OBS"):
                continue
            assert where is not None, station.callsign
            for radio in radios[station.callsign]:
                assert distance_nm(radio.latitude, radio.longitude, *where[:2]) <= where[2]
        for pilot in snapshot.pilots:
            com1 = radios[pilot.callsign][0]
            assert (com1.latitude, com1.longitude) == pytest.approx(
                (pilot.latitude, pilot.longitude), abs=1e-5
            )
            assert com1.height_msl_m == pytest.approx(pilot.altitude * 0.3048)
            assert com1.frequency_hz in online | {UNICOM_HZ}
            airport = AIRPORTS_BY_ICAO[pilot.flight_plan.departure]
            at_gate = _distance(pilot, airport) < 0.01
            local = {
                c.frequency_hz
                for c in stations
                if c.kind == "controller" and _airport_of(c.callsign) is airport
            }
            if at_gate and pilot.groundspeed == 0 and local:
                assert com1.frequency_hz in local, pilot.callsign


def test_same_seed_and_steps_give_the_same_bytes_and_another_seed_does_not() -> None:
    def run(seed: int) -> tuple[bytes, bytes]:
        simulator = Simulator(pilots=80, controllers=10, seed=seed, start=START)
        for seconds in (15, 15, 600):
            simulator.step(seconds)
        return simulator.render()[1:]

    assert run(5) == run(5)
    assert run(5)[0] != run(6)[0]


def test_phases_and_bookkeeping_are_visible_for_tests() -> None:
    simulator = Simulator(pilots=200, controllers=20, seed=2, start=START)
    simulator.step(2 * 3600)
    phases = simulator.phase_counts()
    assert {"gate", "taxi", "climb", "cruise", "descent"} <= set(phases)
    assert sum(phases.values()) == len(simulator.flights)
    assert simulator.stats["completed"] > 0 and simulator.stats["controller_logons"] > 20
    assert simulator.now == START + timedelta(hours=2)
    with pytest.raises(ValueError, match="positive"):
        simulator.step(0)


def test_ten_times_todays_traffic_renders_well_under_a_second() -> None:
    simulator = Simulator(pilots=15_000, controllers=150, seed=1, start=START)
    simulator.step(15)
    started = time.process_time()
    _, data, transceivers = simulator.render()
    elapsed = time.process_time() - started
    assert len(orjson.loads(data)["pilots"]) > 14_500 and len(transceivers) > 1_000_000
    assert elapsed < 1.0, f"render took {elapsed:.2f} s of CPU"


def test_no_pilot_squawks_an_emergency_code_by_chance() -> None:
    """7500, 7600 and 7700 are what the anomaly detectors report: random squawks of
    ten times today's traffic never land on them (about 40 would by chance)."""
    simulator = Simulator(pilots=15_000, controllers=0, seed=4, start=START)
    pilots = orjson.loads(simulator.render()[1])["pilots"]
    squawks = {p["transponder"] for p in pilots} | {
        p["flight_plan"]["assigned_transponder"] for p in pilots if p["flight_plan"]
    }

    assert len(pilots) >= 14_000
    assert len(squawks) > 3000  # still spread over the codes
    assert not squawks & {"7500", "7600", "7700"}
