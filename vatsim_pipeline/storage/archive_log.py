"""`archived_days`: which days of the per-snapshot tables live in the Parquet archive.

One row per table and UTC day written by `vatsim_pipeline.archive` before the day left
the database: the file (relative to `VATSIM_ARCHIVE_DIR`, so that the archive can move),
its rows and bytes. Reads look here to know which days of a flight to read from files,
and the archive check compares every file with its row: a missing or damaged file is
reported, never skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    Engine,
    Table,
    Text,
    select,
)

from vatsim_pipeline.storage.schema import UTCDateTime, metadata

archived_days = Table(
    "archived_days",
    metadata,
    Column("table_name", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("path", Text, nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("archived_at", UTCDateTime, nullable=False),
)


@dataclass(frozen=True)
class ArchivedDay:
    """One archived table-day: its file relative to the archive folder, rows and bytes."""

    table: str
    day: date
    path: str
    rows: int
    bytes: int


def _of(row) -> ArchivedDay:
    return ArchivedDay(row.table_name, row.day, row.path, row.rows, row.bytes)


def record_archived_day(engine: Engine, archived: ArchivedDay, at: datetime) -> None:
    """Insert or replace the row of a table-day just written to the archive."""
    with engine.begin() as connection:
        connection.execute(
            archived_days.delete().where(
                archived_days.c.table_name == archived.table, archived_days.c.day == archived.day
            )
        )
        connection.execute(
            archived_days.insert().values(
                table_name=archived.table,
                day=archived.day,
                path=archived.path,
                rows=archived.rows,
                bytes=archived.bytes,
                archived_at=at,
            )
        )


def archived_day(connection: Connection, table: str, day: date) -> ArchivedDay | None:
    row = connection.execute(
        select(archived_days).where(archived_days.c.table_name == table, archived_days.c.day == day)
    ).first()
    return _of(row) if row is not None else None


def archived_between(
    connection: Connection, table: str, first: date, last: date
) -> list[ArchivedDay]:
    """The archived days of `table` from `first` to `last` (inclusive), oldest first."""
    rows = connection.execute(
        select(archived_days)
        .where(
            archived_days.c.table_name == table,
            archived_days.c.day >= first,
            archived_days.c.day <= last,
        )
        .order_by(archived_days.c.day)
    )
    return [_of(row) for row in rows]


def all_archived(engine: Engine, tables: Iterable[str] | None = None) -> list[ArchivedDay]:
    """Every archived table-day, by table and day."""
    statement = select(archived_days).order_by(archived_days.c.table_name, archived_days.c.day)
    if tables is not None:
        statement = statement.where(archived_days.c.table_name.in_(list(tables)))
    with engine.connect() as connection:
        return [_of(row) for row in connection.execute(statement)]
