"""Flight tracks as frames for the analytics: every position in a time window with the
airports the flights filed. The one place those analytics read positions from, so that
a change of how positions are stored is made here. Days archived to Parquet
(`archived_days`) are read from their files, so a back-fill of an old window sees the
same positions as it would have in the tables."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import BigInteger, Connection, Text, cast, func, select, type_coerce

from vatsim_pipeline.storage.archive_log import archived_between
from vatsim_pipeline.storage.archived_positions import archived_window
from vatsim_pipeline.storage.partitions import utc_day
from vatsim_pipeline.storage.position_runs import positions_between
from vatsim_pipeline.storage.schema import flight_positions, flights

TRACK_COLUMNS = ["flight_id", "observed_at", "latitude", "longitude", "altitude", "groundspeed"]
ID_CHUNK = 5000


def track_frame(connection: Connection, since: datetime, until: datetime) -> pd.DataFrame:
    """Positions observed in [since, until), ordered by flight and time, with
    `observed_at` as aware UTC timestamps: from the tables, and from the archive for
    archived days (a day archived but not yet dropped counts once)."""
    frame = _stored_track(connection, since, until)
    last = utc_day(until - timedelta(microseconds=1))
    days = archived_between(connection, flight_positions.name, utc_day(since), last)
    if not days:
        return frame
    archived = archived_window(connection, days, since, until, TRACK_COLUMNS).to_pandas()
    archived["observed_at"] = pd.to_datetime(archived["observed_at"], utc=True)
    archived = archived.astype({"altitude": "float64", "groundspeed": "float64"})
    both = pd.concat([frame, archived], ignore_index=True) if len(frame) else archived
    return both.drop_duplicates(["flight_id", "observed_at"]).sort_values(
        ["flight_id", "observed_at"], ignore_index=True
    )


def _stored_track(connection: Connection, since: datetime, until: datetime) -> pd.DataFrame:
    """The window's positions in the tables.

    Rows never become Python objects one by one: PostgreSQL streams them with `COPY ...
    TO STDOUT` as CSV (times as epoch microseconds) into pandas' C reader, SQLite hands
    over the stored ISO text, converted once for the whole column. Building a datetime
    and a row object per position was 98% of the cost of reading an hour of today's
    traffic (measured in docs/performance.md).
    """
    if connection.dialect.name == "postgresql":
        frame = _copied_track(connection, since, until)
        frame["observed_at"] = pd.to_datetime(frame["observed_at"], unit="us", utc=True)
        # Sorted here: in SQL the order made PostgreSQL walk the whole day's index.
        return frame.sort_values(["flight_id", "observed_at"], ignore_index=True)
    p = positions_between(since, until).c
    rows = connection.execute(
        select(
            p.flight_id,
            type_coerce(p.observed_at, Text),
            p.latitude,
            p.longitude,
            p.altitude,
            p.groundspeed,
        )
        .where(p.observed_at >= since, p.observed_at < until)
        .order_by(p.flight_id, p.observed_at)
    ).fetchall()
    frame = pd.DataFrame.from_records(rows, columns=TRACK_COLUMNS)
    frame["observed_at"] = pd.to_datetime(frame["observed_at"], format="ISO8601", utc=True)
    return frame


def _copied_track(connection: Connection, since: datetime, until: datetime) -> pd.DataFrame:
    p = positions_between(since, until).c
    microseconds = cast(func.extract("epoch", p.observed_at) * 1_000_000, BigInteger)
    statement = select(
        p.flight_id, microseconds, p.latitude, p.longitude, p.altitude, p.groundspeed
    ).where(p.observed_at >= since, p.observed_at < until)
    compiled = statement.compile(dialect=connection.dialect)
    buffer = io.BytesIO()
    cursor = connection.connection.cursor()
    try:
        bound = cursor.mogrify(str(compiled), compiled.params).decode()
        cursor.copy_expert(f"COPY ({bound}) TO STDOUT WITH (FORMAT csv)", buffer)
    finally:
        cursor.close()
    buffer.seek(0)
    return pd.read_csv(
        buffer,
        names=TRACK_COLUMNS,
        dtype={"flight_id": "int64", "observed_at": "int64", "latitude": "float64",
               "longitude": "float64", "altitude": "float64", "groundspeed": "float64"},
    )  # fmt: skip


def filed_frame(connection: Connection, flight_ids: list[int]) -> pd.DataFrame:
    """flight_id, departure, arrival of the flights' plans (null without one)."""
    found = []
    for start in range(0, len(flight_ids), ID_CHUNK):
        chunk = flight_ids[start : start + ID_CHUNK]
        found.extend(
            connection.execute(
                select(flights.c.id, flights.c.departure, flights.c.arrival).where(
                    flights.c.id.in_(chunk)
                )
            ).all()
        )
    return pd.DataFrame(found, columns=["flight_id", "departure", "arrival"])
