"""A recorded database for the query tests (reads, HTTP API, CLI) and the expectations
they check, computed from the raw JSON of the five-snapshot sequence.

The database holds the five snapshots of 2024-11-22 and the real VATSpy and simaware
sectors. It is built once per test module and backend, because the queries under test
only read it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from vatsim_pipeline.sectors.boundaries import Sector, load_sectors
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.sector_writes import replace_sectors
from vatsim_pipeline_tests.backends import drop_postgres_database, fresh_postgres_database
from vatsim_pipeline_tests.shared_data import sequence_files, shared_data
from vatsim_pipeline_tests.storage.support import Key, ingest, key_of, raw, update_timestamp

FILES = sequence_files()
NEWEST = update_timestamp(FILES[-1])
WINDOW = timedelta(minutes=2)


@cache
def real_sectors() -> tuple[Sector, ...]:
    """The VATSpy FIRs and UIRs and the simaware TRACONs."""
    return tuple(
        load_sectors(
            shared_data("VATSpy.dat"),
            shared_data("Boundaries.geojson.gz"),
            tracon=shared_data("TRACONBoundaries.geojson"),
        )
    )


@contextmanager
def recorded_database(backend: str, folder: Path) -> Iterator[str]:
    """URL of a new database holding the sequence and the real sectors."""
    url = (
        f"sqlite:///{folder / 'recorded.db'}" if backend == "sqlite" else fresh_postgres_database()
    )
    engine = make_engine(url)
    try:
        migrate(engine)
        ingest(engine, FILES)
        replace_sectors(engine, real_sectors(), "test")
        engine.dispose()
        yield url
    finally:
        engine.dispose()
        if backend != "sqlite":
            drop_postgres_database(url)


@dataclass(frozen=True)
class Seen:
    """A connection in the newest file that holds it."""

    record: dict[str, Any]
    last_seen: datetime


@cache
def latest_pilots() -> dict[Key, Seen]:
    """Pilot connection -> its record in the newest file that lists it."""
    seen: dict[Key, Seen] = {}
    for path in FILES:
        for record in raw(path)["pilots"]:
            seen[key_of(record)] = Seen(record, update_timestamp(path))
    return seen


@cache
def latest_stations() -> dict[Key, Seen]:
    """Controller and ATIS connection -> its record in the newest file that lists it."""
    seen: dict[Key, Seen] = {}
    for path in FILES:
        document = raw(path)
        for record in document["controllers"] + document["atis"]:
            seen[key_of(record)] = Seen(record, update_timestamp(path))
    return seen


def active(seen: dict[Key, Seen], window: timedelta = WINDOW) -> dict[Key, Seen]:
    """The connections last seen within `window` of the newest snapshot."""
    return {key: s for key, s in seen.items() if s.last_seen >= NEWEST - window}


def plan(record: dict[str, Any]) -> dict[str, Any]:
    return record.get("flight_plan") or {}


def track_of(callsign: str) -> list[tuple[datetime, float, float]]:
    """(update timestamp, lat, lon) of the callsign in every file that lists it."""
    return [
        (update_timestamp(path), pilot["latitude"], pilot["longitude"])
        for path in FILES
        for pilot in raw(path)["pilots"]
        if pilot["callsign"] == callsign
    ]


def callsign_in_files(count: int) -> str:
    """A callsign flown by one connection only and listed in exactly `count` files."""
    files_of: dict[str, int] = {}
    connections: dict[str, set[Key]] = {}
    for path in FILES:
        for pilot in raw(path)["pilots"]:
            files_of[pilot["callsign"]] = files_of.get(pilot["callsign"], 0) + 1
            connections.setdefault(pilot["callsign"], set()).add(key_of(pilot))
    return min(c for c, n in files_of.items() if n == count and len(connections[c]) == 1)
