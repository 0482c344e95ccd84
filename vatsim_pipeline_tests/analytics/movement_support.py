"""Simulated tracks with the true moments of every takeoff and landing, and the real
VATSpy airport list, for the movement tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from vatsim_pipeline.feed.simulator import AIRBORNE, LANDING, TAXI_OUT, Simulator
from vatsim_pipeline.sectors.airports import read_airports
from vatsim_pipeline_tests.shared_data import shared_data


@dataclass(frozen=True)
class TrueMovement:
    """A takeoff or landing as the simulator flew it: between `after` and `before`."""

    connection: tuple[int, str]
    kind: str
    airport: str
    after: datetime
    before: datetime


def vatspy_airports() -> pd.DataFrame:
    rows = read_airports(shared_data("VATSpy.dat"))
    return pd.DataFrame(
        {
            "icao": [a.icao for a in rows],
            "latitude": [a.latitude for a in rows],
            "longitude": [a.longitude for a in rows],
        }
    )


def simulated_tracks(
    pilots: int, hours: float, seed: int, start: datetime
) -> tuple[pd.DataFrame, pd.DataFrame, list[TrueMovement], dict[tuple[int, str], int]]:
    """Positions (flight_id per connection), filed plans, the true movements, and the
    flight ids."""
    simulator = Simulator(pilots=pilots, controllers=0, seed=seed, start=start)
    ids: dict[tuple[int, str], int] = {}
    rows: list[tuple] = []
    truth: list[TrueMovement] = []
    plans: dict[int, tuple[str, str]] = {}
    phases: dict[tuple[int, str], int] = {}
    previous = simulator.now
    for step in range(int(hours * 240) + 1):
        if step:
            simulator.step(15)
        now = simulator.now
        for flight in simulator.flights:
            key = (flight.cid, flight.record["logon_time"])
            flight_id = ids.setdefault(key, len(ids) + 1)
            plans[flight_id] = (flight.dep.icao, flight.arr.icao)
            before = phases.get(key)
            if before == TAXI_OUT and flight.phase >= AIRBORNE:
                truth.append(TrueMovement(key, "departure", flight.dep.icao, previous, now))
            if before == AIRBORNE and flight.phase > AIRBORNE:
                truth.append(TrueMovement(key, "arrival", flight.arr.icao, previous, now))
            assert not (before == TAXI_OUT and flight.phase > LANDING)
            phases[key] = flight.phase
            lat, lon, _ = flight.position()
            altitude = flight.altitude()
            rows.append(
                (
                    flight_id,
                    now,
                    round(lat, 5),
                    round(lon, 5),
                    altitude,
                    flight.groundspeed(altitude),
                )
            )
        previous = now
    positions = pd.DataFrame(
        rows,
        columns=["flight_id", "observed_at", "latitude", "longitude", "altitude", "groundspeed"],
    )
    positions["observed_at"] = pd.to_datetime(positions["observed_at"], utc=True)
    filed = pd.DataFrame(
        [(flight_id, dep, arr) for flight_id, (dep, arr) in plans.items()],
        columns=["flight_id", "departure", "arrival"],
    )
    return positions, filed, truth, ids
