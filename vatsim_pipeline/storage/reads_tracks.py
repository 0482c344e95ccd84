"""Flight tracks as frames for the analytics: every position in a time window with the
airports the flights filed. The one place those analytics read positions from, so that
a change of how positions are stored is made here."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, select

from vatsim_pipeline.storage.schema import flight_positions, flights

TRACK_COLUMNS = ["flight_id", "observed_at", "latitude", "longitude", "altitude", "groundspeed"]
ID_CHUNK = 5000


def track_frame(connection: Connection, since: datetime, until: datetime) -> pd.DataFrame:
    """Positions observed in [since, until), ordered by flight and time, with
    `observed_at` as aware UTC timestamps."""
    p = flight_positions.c
    rows = connection.execute(
        select(p.flight_id, p.observed_at, p.latitude, p.longitude, p.altitude, p.groundspeed)
        .where(p.observed_at >= since, p.observed_at < until)
        .order_by(p.flight_id, p.observed_at)
    ).all()
    frame = pd.DataFrame(rows, columns=TRACK_COLUMNS)
    frame["observed_at"] = pd.to_datetime(frame["observed_at"], utc=True)
    return frame


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
