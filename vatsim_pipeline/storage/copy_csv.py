"""Rows to PostgreSQL `COPY ... FROM STDIN (FORMAT csv)`, streamed.

In COPY's CSV format an unquoted empty field is NULL and a quoted one (`""`) is the
empty string, and inside quotes nothing is special but the quote itself, which is
doubled. So every text value is quoted (tabs, newlines, backslashes, `\\N` and a lone
`\\.` stay data) and None is written as nothing. Numbers and datetimes go through `str`:
floats round-trip exactly, aware datetimes print as PostgreSQL reads them.

The encoder is written by hand because it is twice as fast as the csv module, which
copies every character into a buffer of its own, and cannot tell None from "" anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

# Rows encoded per read of the COPY stream: about 100 KB of flights.
BATCH_ROWS = 256


def encode_field(value: Any) -> str:
    """One CSV field: text quoted, None empty, anything else `str`."""
    if value is None:
        return ""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    return str(value)


def encode(rows: Iterable[Sequence[Any]]) -> str:
    """CSV text of `rows` for COPY, one line per row."""
    return "".join([",".join(map(encode_field, row)) + "\n" for row in rows])


class CsvStream:
    """Rows as COPY CSV text, encoded a batch at a time as psycopg2 reads the stream.

    Encoding lazily lets the server parse one batch while the next is being encoded:
    on two cores that overlaps the two largest costs of a COPY.
    """

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        self._rows = iter(rows)

    def read(self, size: int = -1) -> str:
        """The next batch of rows (any length; "" at the end), whatever `size` asks."""
        return encode(islice(self._rows, BATCH_ROWS))


class LineStream:
    """Lines already encoded (each ending in a newline), a batch at a time."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)

    def read(self, size: int = -1) -> str:
        """The next batch of lines ("" at the end), whatever `size` asks."""
        return "".join(islice(self._lines, BATCH_ROWS))


def copy_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """COPY `rows` into `columns` of `table`, inside the connection's transaction."""
    if rows:
        _copy(connection, table, columns, CsvStream(rows))


def copy_lines(
    connection: Connection, table: str, columns: Sequence[str], lines: Sequence[str]
) -> None:
    """COPY CSV `lines` (as `encode` writes them, built by the caller column by column)
    into `columns` of `table`, inside the connection's transaction."""
    if lines:
        _copy(connection, table, columns, LineStream(lines))


def _copy(
    connection: Connection, table: str, columns: Sequence[str], stream: CsvStream | LineStream
) -> None:
    """COPY needs the raw psycopg2 cursor, whose errors SQLAlchemy does not see; they are
    raised as SQLAlchemy's own (`IntegrityError`, `DataError`, ...) like every other
    storage error, and a lost connection is invalidated so the pool never reuses it.
    """
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
    dbapi = connection.dialect.loaded_dbapi
    raw = connection.connection
    with raw.cursor() as cursor:
        try:
            cursor.copy_expert(statement, stream)
        except dbapi.Error as error:
            lost = connection.dialect.is_disconnect(error, raw.dbapi_connection, cursor)
            if lost:
                connection.invalidate(error)
            raise DBAPIError.instance(
                statement, None, error, dbapi.Error, connection_invalidated=lost
            ) from error
