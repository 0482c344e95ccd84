"""Rows to PostgreSQL `COPY ... FROM STDIN (FORMAT csv)`, NULL and empty text kept apart.

In COPY's CSV format an unquoted empty field is NULL and a quoted one (`""`) is the
empty string; quoting also protects tabs, newlines, quotes, backslashes, `\\N` and a
lone `\\.`. Python 3.11's csv module cannot quote text while leaving NULLs bare except
under QUOTE_NONNUMERIC, which quotes every field that is not a number: so text is
always quoted, and NULL is written as `_NULL`, an object that passes for a number and
prints as nothing. The encoding runs in C, which is why it is used instead of a
hand-written escaper.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

# Rows encoded per read of the COPY stream: about 100 KB of flights.
BATCH_ROWS = 256


class _Null:
    """Written bare and empty by the csv module, which COPY reads as NULL."""

    __slots__ = ()

    def __float__(self) -> float:
        """Only there so that csv.QUOTE_NONNUMERIC sees a number and leaves it unquoted."""
        raise TypeError("NULL has no value")

    def __str__(self) -> str:
        return ""


_NULL = _Null()


class CsvStream:
    """Rows as COPY CSV text, encoded a batch at a time as psycopg2 reads the stream.

    Encoding lazily lets the server parse one batch while the next is being encoded:
    on two cores that overlaps the two largest costs of a COPY. Text is quoted, None is
    bare; booleans are not supported (they would print as True).
    """

    def __init__(self, rows: Iterable[Sequence[Any]]) -> None:
        self._rows = iter(rows)
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")

    def read(self, size: int = -1) -> str:
        """The next batch of rows (any length; "" at the end), whatever `size` asks."""
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerows(
            [_NULL if value is None else value for value in row]
            for row in islice(self._rows, BATCH_ROWS)
        )
        return self._buffer.getvalue()


def copy_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """COPY `rows` into `columns` of `table`, inside the connection's transaction.

    COPY needs the raw psycopg2 cursor, whose errors SQLAlchemy does not see; they are
    raised as SQLAlchemy's own (`IntegrityError`, `DataError`, ...) like every other
    storage error, and a lost connection is invalidated so the pool never reuses it.
    """
    if not rows:
        return
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
    dbapi = connection.dialect.loaded_dbapi
    raw = connection.connection
    with raw.cursor() as cursor:
        try:
            cursor.copy_expert(statement, CsvStream(rows))
        except dbapi.Error as error:
            lost = connection.dialect.is_disconnect(error, raw.dbapi_connection, cursor)
            if lost:
                connection.invalidate(error)
            raise DBAPIError.instance(
                statement, None, error, dbapi.Error, connection_invalidated=lost
            ) from error
