"""The portable write path: SQLAlchemy Core upserts, used for SQLite.

It reads the keys it is about to write first, which tells new rows from known ones (for
the counts) and gives the ids of rows an upsert leaves alone. PostgreSQL has its own
faster path in `postgres_writes`; both store the same rows and report the same counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, case, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from vatsim_pipeline.storage.position_runs import write_positions
from vatsim_pipeline.storage.radio_runs import write_radios
from vatsim_pipeline.storage.schema import (
    controllers,
    flights,
    prefiles,
)
from vatsim_pipeline.storage.snapshot_rows import (
    CONNECTION_KEY,
    CONTROLLER_COLUMNS,
    FLIGHT_COLUMNS,
    POSITION_COLUMNS,
    PREFILE_COLUMNS,
    PREFILE_KEY,
    RADIO_COLUMNS,
    SnapshotRows,
)
from vatsim_pipeline.storage.write_report import TableWrite

# Keys looked up per SELECT: far below SQLite's limit of 32,766 bound parameters.
LOOKUP_CHUNK = 2_000
_POSITION_INDEXES = [FLIGHT_COLUMNS.index(name) for name in POSITION_COLUMNS]


def _insert(connection: Connection, table: Table):
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def insert_new(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> int:
    """Insert append-only rows, skipping those already stored; returns rows inserted."""
    if not rows:
        return 0
    statement = _insert(connection, table).on_conflict_do_nothing()
    return connection.execute(statement, rows).rowcount


def _known(
    connection: Connection, table: Table, keys: Sequence[str], rows: list[tuple]
) -> dict[tuple, tuple[int, datetime]]:
    """Natural key -> (id, last_seen) of the rows already stored."""
    width = len(keys)
    key_columns = [table.c[name] for name in keys]
    known: dict[tuple, tuple[int, datetime]] = {}
    for start in range(0, len(rows), LOOKUP_CHUNK):
        wanted = [row[:width] for row in rows[start : start + LOOKUP_CHUNK]]
        statement = select(*key_columns, table.c.id, table.c.last_seen).where(
            tuple_(*key_columns).in_(wanted)
        )
        for found in connection.execute(statement):
            known[tuple(found[:width])] = (found[width], found[width + 1])
    return known


def _latest_wins(table: Table, excluded, columns: Sequence[str]) -> dict[str, Any]:
    """SET clauses that keep the row's values unless the incoming snapshot is newer."""
    newer = excluded.last_seen > table.c.last_seen
    sets: dict[str, Any] = {
        name: case((newer, excluded[name]), else_=table.c[name]) for name in columns
    }
    sets["first_seen"] = case(
        (excluded.first_seen < table.c.first_seen, excluded.first_seen),
        else_=table.c.first_seen,
    )
    sets["last_seen"] = case((newer, excluded.last_seen), else_=table.c.last_seen)
    return sets


def _upsert(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    keys: Sequence[str],
    rows: list[tuple],
    seen_at: datetime,
) -> tuple[list[int], TableWrite]:
    """Upsert rows seen at `seen_at`; returns their ids (in row order) and the counts."""
    result = TableWrite()
    if not rows:
        return [], result
    width = len(keys)
    known = _known(connection, table, keys, rows)
    to_write = []
    for row in rows:
        found = known.get(row[:width])
        if found is None:
            result.inserted += 1
        elif seen_at > found[1]:
            result.updated += 1
        else:
            result.unchanged += 1
            if seen_at == found[1]:
                continue  # a repeat: first_seen <= last_seen == seen_at, nothing can move
        values = dict(zip(columns, row, strict=True))
        to_write.append({**values, "first_seen": seen_at, "last_seen": seen_at})
    if to_write:
        statement = _insert(connection, table)
        state = [name for name in columns if name not in keys]
        statement = statement.on_conflict_do_update(
            index_elements=list(keys),
            set_=_latest_wins(table, statement.excluded, state),
            where=or_(
                statement.excluded.last_seen > table.c.last_seen,
                statement.excluded.first_seen < table.c.first_seen,
            ),
        ).returning(*(table.c[name] for name in keys), table.c.id)
        for written in connection.execute(statement, to_write):
            known[tuple(written[:width])] = (written[width], seen_at)
    return [known[row[:width]][0] for row in rows], result


def _appended(inserted: int, total: int) -> TableWrite:
    return TableWrite(inserted=inserted, unchanged=total - inserted)


def write_rows(
    connection: Connection, rows: SnapshotRows, seen_at: datetime
) -> dict[str, TableWrite]:
    """Write flights, positions, controllers, radios and prefiles of one snapshot."""
    tables: dict[str, TableWrite] = {}
    flight_ids, tables["flights"] = _upsert(
        connection, flights, FLIGHT_COLUMNS, CONNECTION_KEY, rows.flights, seen_at
    )
    tables["flight_positions"] = write_positions(
        connection,
        seen_at,
        {
            flight_id: tuple(row[i] for i in _POSITION_INDEXES)
            for flight_id, row in zip(flight_ids, rows.flights, strict=True)
        },
    )
    controller_ids, tables["controllers"] = _upsert(
        connection, controllers, CONTROLLER_COLUMNS, CONNECTION_KEY, rows.controllers, seen_at
    )
    width = len(RADIO_COLUMNS)
    radios = [
        (
            *row[:width],
            None if row[width] is None else flight_ids[row[width]],
            None if row[width + 1] is None else controller_ids[row[width + 1]],
        )
        for row in rows.transceivers
    ]
    tables["transceivers"] = write_radios(connection, radios, seen_at)
    _, tables["prefiles"] = _upsert(
        connection, prefiles, PREFILE_COLUMNS, PREFILE_KEY, rows.prefiles, seen_at
    )
    return tables
