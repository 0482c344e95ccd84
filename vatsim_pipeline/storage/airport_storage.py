"""The stored VATSpy airport list: replaced whole from a VATSpy.dat, read as a frame for
movement matching, and asked whether an ICAO code is known."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Connection, Engine, exists, select

from vatsim_pipeline.sectors.airports import VatSpyAirport
from vatsim_pipeline.storage.traffic_schema import airport_movements, airports

CHUNK = 2000


def replace_airports(engine: Engine, rows: Sequence[VatSpyAirport], source: str) -> int:
    """Make the stored airports exactly `rows`, in one transaction; an empty list is
    refused (a failed download must not empty the table). Returns the number stored."""
    if not rows:
        raise ValueError("refusing to replace the stored airports with an empty list")
    values = [
        {
            "icao": a.icao,
            "name": a.name,
            "latitude": a.latitude,
            "longitude": a.longitude,
            "iata": a.iata,
            "fir": a.fir,
            "source": source,
        }
        for a in rows
    ]
    with engine.begin() as connection:
        connection.execute(airports.delete())
        for start in range(0, len(values), CHUNK):
            connection.execute(airports.insert(), values[start : start + CHUNK])
    return len(values)


def airports_frame(connection: Connection) -> pd.DataFrame:
    """icao, latitude, longitude of every stored airport."""
    rows = connection.execute(
        select(airports.c.icao, airports.c.latitude, airports.c.longitude).order_by(airports.c.icao)
    ).all()
    return pd.DataFrame(rows, columns=["icao", "latitude", "longitude"])


def airport_known(connection: Connection, icao: str) -> bool:
    """Whether the airport is in the stored list, or some movement was once there."""
    listed = exists().where(airports.c.icao == icao)
    moved = exists().where(airport_movements.c.airport == icao)
    return bool(connection.execute(select(listed | moved)).scalar())
