"""Reads and writes of the sector patterns: the sector tree, the stays and staffing of a
window, and the hourly rows of `sector_load` and `sector_coverage`.

The sector tree (`sector_parents`) is stored because computing it takes about two
seconds of geometry for the real sector set, and every hourly partition runs in a
process of its own: it is recomputed when the stored sectors change (their count or
newest `updated_at`, the key `occupancy_writes` caches on), remembered in
`maintenance_log` under `sector_parents`.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import orjson
import pandas as pd
from sqlalchemy import Connection, Engine, Table, delete, func, insert, select

from vatsim_pipeline.sectors.containment import sector_parents as compute_parents
from vatsim_pipeline.storage.occupancy_writes import stored_sectors_key
from vatsim_pipeline.storage.pattern_tables import (
    sector_coverage,
    sector_load,
    sector_parents,
)
from vatsim_pipeline.storage.schema import (
    UTCDateTime,
    controller_sectors,
    controllers,
    flight_sector_occupancy,
    flights,
    maintenance_log,
)
from vatsim_pipeline.storage.sector_writes import load_sector_rows

PARENTS_TASK = "sector_parents"
MAX_STAY_VARIABLE = "VATSIM_PATTERN_MAX_STAY_HOURS"
DEFAULT_MAX_STAY_H = 24.0
OCCUPANCY = flight_sector_occupancy
INSERT_CHUNK = 5000


def max_stay() -> timedelta:
    """How long before a window a stay still in progress in it is looked for
    (`VATSIM_PATTERN_MAX_STAY_HOURS`, 24): the range the `entered_at` index serves."""
    return timedelta(hours=float(os.environ.get(MAX_STAY_VARIABLE) or DEFAULT_MAX_STAY_H))


def _key_text(key: tuple[int, datetime | None]) -> str:
    count, newest = key
    return orjson.dumps([count, newest.isoformat() if newest else None]).decode()


def stored_sector_parents(engine: Engine) -> dict[str, tuple[str, ...]]:
    """Sector id -> ids of the sectors above it, recomputed first when the stored
    sectors changed since they were last computed."""
    with engine.connect() as connection:
        key = _key_text(stored_sectors_key(connection))
        cursor = connection.execute(
            select(maintenance_log.c.cursor).where(maintenance_log.c.task == PARENTS_TASK)
        ).scalar()
        if cursor == key:
            return read_parents(connection)
    parents = compute_parents(load_sector_rows(engine))
    rows = [{"sector_id": s, "parent_id": p} for s, above in parents.items() for p in above]
    with engine.begin() as connection:
        connection.execute(delete(sector_parents))
        if rows:
            connection.execute(insert(sector_parents), rows)
        connection.execute(delete(maintenance_log).where(maintenance_log.c.task == PARENTS_TASK))
        connection.execute(
            insert(maintenance_log).values(
                task=PARENTS_TASK, ran_at=datetime.now(UTC), rows=len(rows), cursor=key
            )
        )
    return parents


def read_parents(connection: Connection) -> dict[str, tuple[str, ...]]:
    """The stored sector tree as it is (see `stored_sector_parents`)."""
    found: dict[str, list[str]] = defaultdict(list)
    for child, parent in connection.execute(
        select(sector_parents.c.sector_id, sector_parents.c.parent_id).order_by(
            sector_parents.c.sector_id, sector_parents.c.parent_id
        )
    ):
        found[child].append(parent)
    return {child: tuple(above) for child, above in found.items()}


def stays_overlapping(
    connection: Connection, start: datetime, end: datetime, max_stay: timedelta
) -> list[tuple]:
    """(flight_id, sector_id, entered_at, exited_at) of the stays that overlap or touch
    start..end; a stay still open ends at its flight's last position. Only stays entered
    less than `max_stay` before `start` are looked for (the range the index serves)."""
    leaves = func.coalesce(OCCUPANCY.c.exited_at, flights.c.last_seen, type_=UTCDateTime)
    statement = (
        select(OCCUPANCY.c.flight_id, OCCUPANCY.c.sector_id, OCCUPANCY.c.entered_at, leaves)
        .join(flights, flights.c.id == OCCUPANCY.c.flight_id)
        .where(
            OCCUPANCY.c.entered_at >= start - max_stay,
            OCCUPANCY.c.entered_at < end,
            leaves >= start,
        )
    )
    return [tuple(row) for row in connection.execute(statement)]


def staffing_overlapping(connection: Connection, start: datetime, end: datetime) -> list[tuple]:
    """(sector_id, started_at, ended_at) of every controller connection staffing a sector
    at some time in start..end, from its first to its last time seen."""
    statement = (
        select(controller_sectors.c.sector_id, controllers.c.first_seen, controllers.c.last_seen)
        .join(controllers, controllers.c.id == controller_sectors.c.controller_id)
        .where(controllers.c.last_seen >= start, controllers.c.first_seen < end)
    )
    return [tuple(row) for row in connection.execute(statement)]


def replace_rows(
    engine: Engine,
    table: Table,
    time_column: str,
    start: datetime,
    end: datetime,
    frame: pd.DataFrame,
) -> tuple[int, int]:
    """Make the rows of start..end exactly `frame`, in one transaction: (deleted,
    inserted). Re-running it for the same window with the same frame changes nothing."""
    column = table.c[time_column]
    rows = [
        {**row, time_column: row[time_column].to_pydatetime()} for row in frame.to_dict("records")
    ]
    with engine.begin() as connection:
        deleted = connection.execute(delete(table).where(column >= start, column < end)).rowcount
        for at in range(0, len(rows), INSERT_CHUNK):
            connection.execute(insert(table), rows[at : at + INSERT_CHUNK])
    return deleted, len(rows)


def write_load(
    engine: Engine, start: datetime, end: datetime, frame: pd.DataFrame
) -> tuple[int, int]:
    return replace_rows(engine, sector_load, "bucket_start", start, end, frame)


def write_coverage(
    engine: Engine, start: datetime, end: datetime, frame: pd.DataFrame
) -> tuple[int, int]:
    return replace_rows(engine, sector_coverage, "hour_start", start, end, frame)
