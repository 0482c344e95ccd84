"""A small constructed history for the window queries (service, HTTP API, CLI): flights
and sector visits with chosen times around the newest snapshot, and the overlap rule
written plainly, from which the tests compute what each window must answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import shapely
from sqlalchemy import Engine, insert

from vatsim_pipeline.sectors.boundaries import Sector
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.schema import feed_snapshots, flight_sector_occupancy, flights
from vatsim_pipeline.storage.sector_writes import replace_sectors
from vatsim_pipeline_tests.backends import drop_postgres_database, fresh_postgres_database

NOW = datetime(2024, 11, 22, 12, 0, tzinfo=UTC)


def at(hour: int, minute: int = 0, days_before: int = 0) -> datetime:
    """A time on the day of NOW (or `days_before` it)."""
    return NOW.replace(hour=hour, minute=minute) - timedelta(days=days_before)


@dataclass(frozen=True)
class Flight:
    id: int
    callsign: str
    departure: str | None
    arrival: str | None
    first_seen: datetime
    last_seen: datetime

    @property
    def active(self) -> bool:
        return self.last_seen == NOW


@dataclass(frozen=True)
class Visit:
    id: int
    flight_id: int
    sector_id: str
    entered_at: datetime
    exited_at: datetime | None


FLIGHTS = (
    Flight(1, "BAW117", "EGLL", "KJFK", at(6), at(11)),
    Flight(2, "DLH905", "EGLL", "EDDF", at(10, 30), NOW),
    Flight(3, "BAW112", "KJFK", "EGLL", at(1), at(5)),
    Flight(4, "DLH904", "EDDF", "EGLL", at(11, 50), NOW),
    Flight(5, "GABCD", None, None, at(9), at(9, 30)),
    Flight(6, "BAW117", "EGLL", "KJFK", at(6), at(11, days_before=2)),
    Flight(7, "AFR1081", "LFPG", "EGLL", at(10, 45), at(11, 40)),
)
VISITS = (
    Visit(1, 1, "EGTT", at(6, 10), at(6, 40)),
    Visit(2, 1, "EISN", at(6, 40), at(7, 30)),
    Visit(3, 2, "EGTT", at(10, 35), at(11, 10)),
    Visit(4, 2, "EHAA", at(11, 10), at(11, 30)),
    Visit(5, 2, "EGTT", at(11, 30), None),
    Visit(6, 4, "EGTT", at(11, 55), None),
    Visit(7, 3, "EGTT", at(4, 30), at(5)),
    Visit(8, 6, "EGTT", at(6, 5, days_before=2), at(6, 50, days_before=2)),
    Visit(9, 7, "EGTT", at(11, 20), at(11, 40)),
)
STORED_SECTORS = ("EGTT", "EDGG")
"""EDGG is stored but never visited: its occupancy is an empty page, not a 404."""


def overlaps(start: datetime, end: datetime | None, since: datetime, until: datetime) -> bool:
    """Whether [start, end or NOW] meets [since, until]."""
    return start <= until and (end or NOW) >= since


def expected_flights(
    since: datetime, until: datetime, departure: str | None = None, arrival: str | None = None
) -> list[int]:
    """Ids of the flights the window holds, newest first."""
    chosen = [
        f
        for f in FLIGHTS
        if overlaps(f.first_seen, f.last_seen, since, until)
        and departure in (None, f.departure)
        and arrival in (None, f.arrival)
    ]
    return [f.id for f in sorted(chosen, key=lambda f: (f.first_seen, f.id), reverse=True)]


def expected_visits(sector_id: str, since: datetime, until: datetime) -> list[int]:
    """Ids of the sector's visits the window holds, newest entry first."""
    chosen = [
        v
        for v in VISITS
        if v.sector_id == sector_id and overlaps(v.entered_at, v.exited_at, since, until)
    ]
    return [v.id for v in sorted(chosen, key=lambda v: (v.entered_at, v.id), reverse=True)]


def _fill(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(feed_snapshots).values(
                update_timestamp=NOW,
                stored_at=NOW,
                status="stored",
                pilots=3,
                controllers=0,
                atis=0,
                prefiles=0,
                servers=0,
                transceiver_stations=0,
                transceivers=0,
                rejected=0,
            )
        )
        connection.execute(
            insert(flights),
            [
                {
                    "id": f.id,
                    "cid": 1_000_000 + f.id,
                    "callsign": f.callsign,
                    "logon_time": f.first_seen - timedelta(minutes=5),
                    "departure": f.departure,
                    "arrival": f.arrival,
                    "aircraft_short": "A320",
                    "latitude": 51.0,
                    "longitude": 0.0,
                    "first_seen": f.first_seen,
                    "last_seen": f.last_seen,
                    "status": "active" if f.active else "completed",
                    "ended_at": None if f.active else f.last_seen,
                }
                for f in FLIGHTS
            ],
        )
        connection.execute(
            insert(flight_sector_occupancy),
            [
                {
                    "id": v.id,
                    "flight_id": v.flight_id,
                    "sector_id": v.sector_id,
                    "entered_at": v.entered_at,
                    "exited_at": v.exited_at,
                    "entry_latitude": 51.0 + v.id / 10,
                    "entry_longitude": -1.0,
                    "entry_altitude": 1000 * v.id,
                    "exit_latitude": None if v.exited_at is None else 52.0,
                    "exit_longitude": None if v.exited_at is None else 1.0,
                    "exit_altitude": None if v.exited_at is None else 35000,
                }
                for v in VISITS
            ],
        )
    square = "POLYGON ((-5 49, 2 49, 2 56, -5 56, -5 49))"
    replace_sectors(
        engine,
        [
            Sector(id=name, name=name, kind="fir", geometry=shapely.from_wkt(square))
            for name in STORED_SECTORS
        ],
        "test",
    )


@contextmanager
def history_database(backend: str, folder: Path) -> Iterator[str]:
    """URL of a new database holding FLIGHTS, VISITS and the STORED_SECTORS."""
    url = f"sqlite:///{folder / 'history.db'}" if backend == "sqlite" else fresh_postgres_database()
    engine = make_engine(url)
    try:
        migrate(engine)
        _fill(engine)
        engine.dispose()
        yield url
    finally:
        engine.dispose()
        if backend != "sqlite":
            drop_postgres_database(url)
