"""The exact state of one recorded snapshot, rebuilt from the compact tables.

The per-snapshot tables store what did not change once (`position_runs`); this module
reads them back into what the feed said at one update, keyed by natural keys, so that a
test can hold every recorded snapshot against its payload. It is the reference reading:
if a compact table lost or invented anything, the state built here differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select

from vatsim_pipeline.storage.position_runs import position_snapshots
from vatsim_pipeline.storage.schema import feed_snapshots, flights
from vatsim_pipeline.storage.snapshot_rows import POSITION_COLUMNS

Key = tuple[int, str, datetime]
"""A connection: (cid, callsign, logon_time)."""


@dataclass
class SnapshotState:
    """What the tables say the feed held at `update_timestamp`."""

    update_timestamp: datetime
    positions: dict[Key, tuple] = field(default_factory=dict)
    """Pilot connection -> its `POSITION_COLUMNS` values."""


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
    )
