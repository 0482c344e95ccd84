"""Writes of the hourly pattern tables: an hour's rows are replaced whole in one
transaction, so that re-materializing an hour, or back-filling a day, never counts a
row twice and never leaves an hour half-written."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Table, select

from vatsim_pipeline.storage.schema import flights
from vatsim_pipeline.storage.traffic_schema import airport_movements

CHUNK = 2000


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain Python values (numpy scalars and pandas timestamps converted)."""
    records = []
    for row in frame.to_dict("records"):
        records.append(
            {
                key: value.to_pydatetime()
                if isinstance(value, pd.Timestamp)
                else value.item()
                if hasattr(value, "item")
                else value
                for key, value in row.items()
            }
        )
    return records


def replace_window(
    connection: Connection,
    table: Table,
    column: str,
    start: datetime,
    end: datetime,
    frame: pd.DataFrame,
) -> int:
    """Delete `table`'s rows whose `column` lies in [start, end) and insert `frame`'s
    (columns named as the table's); returns the rows inserted."""
    time = table.c[column]
    connection.execute(table.delete().where(time >= start, time < end))
    records = _records(frame)
    for offset in range(0, len(records), CHUNK):
        connection.execute(table.insert(), records[offset : offset + CHUNK])
    return len(records)


def movements_frame(connection: Connection, start: datetime, end: datetime) -> pd.DataFrame:
    """Stored movements in [start, end) with the departure and arrival their flights
    filed: flight_id, kind, moved_at, airport, departure, arrival."""
    m = airport_movements.c
    rows = connection.execute(
        select(m.flight_id, m.kind, m.moved_at, m.airport, flights.c.departure, flights.c.arrival)
        .join(flights, flights.c.id == m.flight_id)
        .where(m.moved_at >= start, m.moved_at < end)
        .order_by(m.moved_at, m.flight_id, m.kind)
    ).all()
    frame = pd.DataFrame(
        rows, columns=["flight_id", "kind", "moved_at", "airport", "departure", "arrival"]
    )
    frame["moved_at"] = pd.to_datetime(frame["moved_at"], utc=True)
    return frame


def last_movement_kinds(
    connection: Connection, flight_ids: list[int], before: datetime, since: datetime
) -> dict[int, str]:
    """The kind of each flight's last stored movement in [since, before)."""
    m = airport_movements.c
    found: dict[int, str] = {}
    for offset in range(0, len(flight_ids), CHUNK):
        rows = connection.execute(
            select(m.flight_id, m.kind)
            .where(
                m.flight_id.in_(flight_ids[offset : offset + CHUNK]),
                m.moved_at >= since,
                m.moved_at < before,
            )
            .order_by(m.flight_id, m.moved_at, m.kind)
        ).all()
        found.update((row.flight_id, row.kind) for row in rows)
    return found
