"""Status queries: the newest snapshot, table totals and activity counts, and the
figures the old database service reported in its statistics and health check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Table, func, select

from vatsim_pipeline.storage.radio_runs import transceiver_snapshots
from vatsim_pipeline.storage.reads_base import SnapshotInfo
from vatsim_pipeline.storage.schema import (
    controllers,
    feed_snapshots,
    flights,
    sectors,
)

RECENT_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Counts:
    """Table totals and activity counts at the newest snapshot."""

    total_flights: int
    total_controllers: int
    total_sectors: int
    total_transceivers: int
    active_flights: int
    active_controllers: int
    recent_flights: int
    last_cleanup: datetime | None


def count_rows(connection: Connection, table: Table, *conditions) -> int:
    return connection.execute(
        select(func.count()).select_from(table).where(*conditions)
    ).scalar_one()


def last_cleanup(connection: Connection) -> datetime | None:
    """The newest `ended_at` that session cleanup set on a flight or a controller."""
    ended = [
        connection.execute(select(func.max(table.c.ended_at))).scalar()
        for table in (flights, controllers)
    ]
    return max((value for value in ended if value is not None), default=None)


def newest_snapshot(connection: Connection) -> SnapshotInfo | None:
    """The newest stored feed update and its record counts."""
    row = connection.execute(
        select(
            feed_snapshots.c.update_timestamp,
            feed_snapshots.c.fetched_at,
            feed_snapshots.c.stored_at,
            feed_snapshots.c.connected_clients,
            feed_snapshots.c.pilots,
            feed_snapshots.c.controllers,
            feed_snapshots.c.atis,
            feed_snapshots.c.prefiles,
            feed_snapshots.c.rejected,
        )
        .order_by(feed_snapshots.c.update_timestamp.desc())
        .limit(1)
    ).first()
    return None if row is None else SnapshotInfo(**row._mapping)


def database_counts(connection: Connection, newest: datetime | None, window: timedelta) -> Counts:
    """Totals of every table and, relative to the newest snapshot, what is active (within
    `window`) and which flights were seen in the last 24 hours."""

    def active(table: Table, *conditions) -> int:
        if newest is None:
            return 0
        return count_rows(
            connection,
            table,
            table.c.status == "active",
            table.c.last_seen >= newest - window,
            *conditions,
        )

    return Counts(
        total_flights=count_rows(connection, flights),
        total_controllers=count_rows(connection, controllers),
        total_sectors=count_rows(connection, sectors),
        total_transceivers=count_rows(connection, transceiver_snapshots),
        active_flights=active(flights),
        active_controllers=active(controllers),
        recent_flights=(
            0
            if newest is None
            else count_rows(connection, flights, flights.c.last_seen >= newest - RECENT_WINDOW)
        ),
        last_cleanup=last_cleanup(connection),
    )
