"""The constructed history of `history_support` with its airport patterns: the airports,
one movement per takeoff and landing of its flights, and the hourly aggregates built
from them by the analytics, so that the queries are checked against chosen times."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from sqlalchemy import insert

from vatsim_pipeline.analytics.airport_patterns import airport_traffic as traffic_of
from vatsim_pipeline.analytics.routes import route_flights as routes_of
from vatsim_pipeline.storage.engine import make_engine
from vatsim_pipeline.storage.pattern_writes import replace_window
from vatsim_pipeline.storage.traffic_schema import (
    airport_movements,
    airport_traffic,
    airports,
    route_flights,
)
from vatsim_pipeline_tests.storage.history_support import FLIGHTS, at, history_database

AIRPORTS = {
    "EGLL": (51.4775, -0.461389),
    "KJFK": (40.63975, -73.778925),
    "EDDF": (50.033333, 8.570556),
    "LFPG": (49.012779, 2.55),
}
# (flight id, kind, time, airport), as FLIGHTS flew them.
MOVEMENTS = (
    (3, "arrival", at(4, 50), "EGLL"),
    (1, "departure", at(6, 10), "EGLL"),
    (2, "departure", at(10, 40), "EGLL"),
    (7, "departure", at(10, 50), "LFPG"),
    (7, "arrival", at(11, 35), "EGLL"),
    (4, "departure", at(11, 55), "EDDF"),
    (6, "departure", at(6, 10, days_before=2), "EGLL"),
)


def _movements_frame() -> pd.DataFrame:
    plans = {f.id: (f.departure, f.arrival) for f in FLIGHTS}
    return pd.DataFrame(
        [
            {
                "flight_id": flight,
                "kind": kind,
                "moved_at": pd.Timestamp(moment),
                "airport": airport,
                "departure": plans[flight][0],
                "arrival": plans[flight][1],
            }
            for flight, kind, moment, airport in MOVEMENTS
        ]
    )


@contextmanager
def airport_database(backend: str, folder: Path) -> Iterator[str]:
    """URL of the history database with AIRPORTS, MOVEMENTS and their aggregates."""
    with history_database(backend, folder) as url:
        engine = make_engine(url)
        frame = _movements_frame()
        start, end = frame["moved_at"].min().floor("h"), frame["moved_at"].max().ceil("h")
        with engine.begin() as connection:
            connection.execute(
                insert(airports),
                [
                    {"icao": icao, "name": icao, "latitude": lat, "longitude": lon}
                    for icao, (lat, lon) in AIRPORTS.items()
                ],
            )
            connection.execute(
                insert(airport_movements),
                [
                    {
                        "flight_id": row.flight_id,
                        "kind": row.kind,
                        "moved_at": row.moved_at.to_pydatetime(),
                        "airport": row.airport,
                        "latitude": AIRPORTS[row.airport][0],
                        "longitude": AIRPORTS[row.airport][1],
                        "distance_nm": 1.5,
                    }
                    for row in frame.itertuples(index=False)
                ],
            )
            window = (start.to_pydatetime(), end.to_pydatetime())
            replace_window(connection, airport_traffic, "bucket_start", *window, traffic_of(frame))
            replace_window(connection, route_flights, "hour_start", *window, routes_of(frame))
        engine.dispose()
        yield url
