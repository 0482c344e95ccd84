"""The stored VATSpy airport list: replaced whole from a VATSpy.dat, read as a frame for
movement matching and the forecasts, and asked whether an ICAO code is known.

The frame is read by both forecasts at every refresh (17,753 airports, 30 to 80 ms of CPU a
read) although the list changes once a day at most, so it is kept per process and
database while the list is the one `replace_airports` last stored: each replacement
records its time in `maintenance_log` (task `airports`), in the same transaction, and a
read compares that time with the kept frame's. The warm process of the run workers
fills it (`defs/warm_up.py`). A list stored without that record (before it existed, or
written by hand) is read every time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Connection, Engine, delete, exists, insert, select

from vatsim_pipeline.sectors.airports import VatSpyAirport
from vatsim_pipeline.storage.schema import maintenance_log
from vatsim_pipeline.storage.traffic_schema import airport_movements, airports

CHUNK = 2000
REPLACED_TASK = "airports"
_frames: dict[str, tuple[datetime, pd.DataFrame]] = {}


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
        connection.execute(delete(maintenance_log).where(maintenance_log.c.task == REPLACED_TASK))
        connection.execute(
            insert(maintenance_log).values(
                task=REPLACED_TASK, ran_at=datetime.now(UTC), rows=len(values)
            )
        )
    return len(values)


def airports_frame(connection: Connection) -> pd.DataFrame:
    """icao, latitude, longitude of every stored airport (a copy of the frame kept while
    the stored list is unchanged, see the module's docstring)."""
    replaced_at = connection.execute(
        select(maintenance_log.c.ran_at).where(maintenance_log.c.task == REPLACED_TASK)
    ).scalar()
    url = connection.engine.url.render_as_string()
    kept = _frames.get(url)
    if replaced_at is not None and kept is not None and kept[0] == replaced_at:
        return kept[1].copy()
    rows = connection.execute(
        select(airports.c.icao, airports.c.latitude, airports.c.longitude).order_by(airports.c.icao)
    ).all()
    frame = pd.DataFrame(rows, columns=["icao", "latitude", "longitude"])
    if replaced_at is not None:
        _frames[url] = (replaced_at, frame.copy())
    return frame


def airport_known(connection: Connection, icao: str) -> bool:
    """Whether the airport is in the stored list, or some movement was once there."""
    listed = exists().where(airports.c.icao == icao)
    moved = exists().where(airport_movements.c.airport == icao)
    return bool(connection.execute(select(listed | moved)).scalar())
