"""The exact state of one recorded snapshot, rebuilt from the compact tables.

The per-snapshot tables store what did not change once (`position_runs`, `radio_runs`,
`assignment_runs`); this module
reads them back into what the feed said at one update, keyed by natural keys, so that a
test can hold every recorded snapshot against its payload. It is the reference reading:
if a compact table lost or invented anything, the state built here differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select

from vatsim_pipeline.storage.assignment_runs import assignment_snapshots
from vatsim_pipeline.storage.position_runs import position_snapshots
from vatsim_pipeline.storage.radio_runs import VALUES, transceiver_snapshots
from vatsim_pipeline.storage.schema import controllers, feed_snapshots, flights
from vatsim_pipeline.storage.snapshot_rows import POSITION_COLUMNS

Key = tuple[int, str, datetime]
"""A connection: (cid, callsign, logon_time)."""


@dataclass
class SnapshotState:
    """What the tables say the feed held at `update_timestamp`."""

    update_timestamp: datetime
    positions: dict[Key, tuple] = field(default_factory=dict)
    """Pilot connection -> its `POSITION_COLUMNS` values."""
    radios: dict[tuple[str, int], tuple] = field(default_factory=dict)
    """(callsign, transceiver_id) -> frequency, latitude, longitude, heights, and the
    connection keys of the flight and of the controller it is linked to (or None)."""
    sectors: dict[Key, str | None] = field(default_factory=dict)
    """Pilot connection -> the sector its position was located in (None: outside every
    sector); only the positions located so far."""


def recorded_snapshots(connection: Connection) -> list[datetime]:
    """Every recorded snapshot's update timestamp, oldest first."""
    stamp = feed_snapshots.c.update_timestamp
    return list(connection.execute(select(stamp).order_by(stamp)).scalars())


def snapshot_state(connection: Connection, update_timestamp: datetime) -> SnapshotState:
    """The state of the recorded snapshot `update_timestamp`."""
    p = position_snapshots.c
    statement = (
        select(
            flights.c.cid,
            flights.c.callsign,
            flights.c.logon_time,
            *(p[name] for name in POSITION_COLUMNS),
        )
        .join_from(position_snapshots, flights, flights.c.id == p.flight_id)
        .where(p.observed_at == update_timestamp)
    )
    return SnapshotState(
        update_timestamp,
        positions={tuple(row[:3]): tuple(row[3:]) for row in connection.execute(statement)},
        radios=_radios(connection, update_timestamp),
        sectors=_sectors(connection, update_timestamp),
    )


def _sectors(connection: Connection, update_timestamp: datetime) -> dict[Key, str | None]:
    a = assignment_snapshots.c
    statement = (
        select(flights.c.cid, flights.c.callsign, flights.c.logon_time, a.sector_id)
        .join_from(assignment_snapshots, flights, flights.c.id == a.flight_id)
        .where(a.observed_at == update_timestamp)
    )
    return {tuple(row[:3]): row[3] for row in connection.execute(statement)}


def _radios(connection: Connection, update_timestamp: datetime) -> dict[tuple[str, int], tuple]:
    r = transceiver_snapshots.c
    pilot, station = flights.alias("pilot"), controllers.alias("station")
    statement = (
        select(
            r.callsign,
            r.transceiver_id,
            *(r[name] for name in VALUES[:5]),
            pilot.c.cid,
            pilot.c.callsign,
            pilot.c.logon_time,
            station.c.cid,
            station.c.callsign,
            station.c.logon_time,
        )
        .select_from(
            transceiver_snapshots.outerjoin(pilot, pilot.c.id == r.flight_id).outerjoin(
                station, station.c.id == r.controller_id
            )
        )
        .where(r.observed_at == update_timestamp)
    )
    return {
        tuple(row[:2]): (*row[2:7], _key(row[7:10]), _key(row[10:13]))
        for row in connection.execute(statement)
    }


def _key(values) -> Key | None:
    return None if values[0] is None else tuple(values)
