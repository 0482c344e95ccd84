"""What the forecasts read: the flights of one snapshot with their filed plans, how long
recent entries came after their flight connected, the network's activity at given
times, the snapshot times of a window (to find its gaps), and stored sector load."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, func, select

from vatsim_pipeline.storage.pattern_tables import sector_load
from vatsim_pipeline.storage.position_runs import position_snapshots
from vatsim_pipeline.storage.schema import (
    feed_snapshots,
    flight_sector_occupancy,
    flights,
)

STATE_COLUMNS = [
    "flight_id",
    "latitude",
    "longitude",
    "groundspeed",
    "heading",
    "departure",
    "arrival",
    "cruise_tas",
]


def newest_snapshot_at(connection: Connection, at: datetime) -> datetime | None:
    """The newest stored feed update at or before `at`."""
    return connection.execute(
        select(func.max(feed_snapshots.c.update_timestamp)).where(
            feed_snapshots.c.update_timestamp <= at
        )
    ).scalar()


def flights_at(connection: Connection, observed_at: datetime) -> pd.DataFrame:
    """Every pilot's position in the snapshot of `observed_at`, with its filed plan."""
    rows = connection.execute(
        select(
            position_snapshots.c.flight_id,
            position_snapshots.c.latitude,
            position_snapshots.c.longitude,
            position_snapshots.c.groundspeed,
            position_snapshots.c.heading,
            flights.c.departure,
            flights.c.arrival,
            flights.c.cruise_tas,
        )
        .join(flights, flights.c.id == position_snapshots.c.flight_id)
        .where(position_snapshots.c.observed_at == observed_at)
        .order_by(position_snapshots.c.flight_id)
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=STATE_COLUMNS)


def entry_delays(connection: Connection, start: datetime, end: datetime) -> pd.Series:
    """Minutes from each flight's connection to each of its entries in start..end."""
    rows = connection.execute(
        select(flight_sector_occupancy.c.entered_at, flights.c.first_seen)
        .join(flights, flights.c.id == flight_sector_occupancy.c.flight_id)
        .where(
            flight_sector_occupancy.c.entered_at >= start,
            flight_sector_occupancy.c.entered_at < end,
        )
    ).all()
    if not rows:
        return pd.Series(dtype=float)
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["entered_at", "first_seen"])
    delay = pd.to_datetime(frame["entered_at"], utc=True) - pd.to_datetime(
        frame["first_seen"], utc=True
    )
    return delay.dt.total_seconds() / 60


def activity_at(connection: Connection, times: Sequence[datetime]) -> list[int | None]:
    """Pilots connected plus plans prefiled in the newest snapshot at or before each
    time (None when nothing was stored in the 15 minutes before it)."""
    found: list[int | None] = []
    for at in times:
        row = connection.execute(
            select(feed_snapshots.c.pilots + feed_snapshots.c.prefiles)
            .where(
                feed_snapshots.c.update_timestamp <= at,
                feed_snapshots.c.update_timestamp > at - pd.Timedelta(minutes=15),
            )
            .order_by(feed_snapshots.c.update_timestamp.desc())
            .limit(1)
        ).scalar()
        found.append(row)
    return found


def snapshot_times(connection: Connection, start: datetime, end: datetime) -> list[datetime]:
    """The stored feed updates in start..end, oldest first."""
    return list(
        connection.scalars(
            select(feed_snapshots.c.update_timestamp)
            .where(
                feed_snapshots.c.update_timestamp >= start,
                feed_snapshots.c.update_timestamp <= end,
            )
            .order_by(feed_snapshots.c.update_timestamp)
        )
    )


def stored_load(connection: Connection, starts: Sequence[datetime]) -> pd.DataFrame:
    """`sector_load` rows (sector_id, bucket_start, entries) of the given bucket starts."""
    if not starts:
        return pd.DataFrame(columns=["sector_id", "bucket_start", "entries"])
    rows = connection.execute(
        select(sector_load.c.sector_id, sector_load.c.bucket_start, sector_load.c.entries).where(
            sector_load.c.bucket_start.in_(list(starts))
        )
    ).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["sector_id", "bucket_start", "entries"])
    frame["bucket_start"] = pd.to_datetime(frame["bucket_start"], utc=True)
    return frame
