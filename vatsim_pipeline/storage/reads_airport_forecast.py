"""What the airport forecast reads besides the flights of a snapshot
(`reads_forecast.flights_at`): the plans prefiled at a moment, and stored airport
traffic of given buckets (its history)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, select

from vatsim_pipeline.storage.reads_forecast import rows_of_buckets
from vatsim_pipeline.storage.schema import prefiles
from vatsim_pipeline.storage.traffic_schema import airport_traffic

PREFILE_COLUMNS = ["departure", "arrival", "deptime", "enroute_time"]
# A prefile seen in the snapshot of `at` was last seen at most this long before it.
SEEN_WITHIN = timedelta(minutes=2)


def prefiles_at(connection: Connection, at: datetime) -> pd.DataFrame:
    """The plans listed as prefiled in the feed at `at` (first seen by then and still
    listed): departure, arrival, deptime, enroute_time."""
    p = prefiles.c
    rows = connection.execute(
        select(p.departure, p.arrival, p.deptime, p.enroute_time).where(
            p.first_seen <= at, p.last_seen >= at - SEEN_WITHIN
        )
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=PREFILE_COLUMNS)


def stored_airport_traffic(connection: Connection, starts: Sequence[datetime]) -> pd.DataFrame:
    """`airport_traffic` rows of the given bucket starts."""
    return rows_of_buckets(
        connection, airport_traffic, starts, ["airport", "departures", "arrivals"]
    )
