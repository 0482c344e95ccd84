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
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

# psycopg2 sends COPY data in chunks of this many characters.
COPY_CHUNK = 1 << 20


class _Null:
    """Written bare and empty by the csv module, which COPY reads as NULL."""

    __slots__ = ()

    def __float__(self) -> float:
        """Only there so that csv.QUOTE_NONNUMERIC sees a number and leaves it unquoted."""
        raise TypeError("NULL has no value")

    def __str__(self) -> str:
        return ""


_NULL = _Null()


def encode(rows: Iterable[Sequence[Any]]) -> io.StringIO:
    """CSV text of `rows` for COPY: text quoted, None bare; no booleans (they print True)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerows([_NULL if value is None else value for value in row] for row in rows)
    buffer.seek(0)
    return buffer


def copy_rows(
    connection: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """COPY `rows` into `columns` of `table`, inside the connection's transaction.

    COPY needs the raw psycopg2 cursor, whose errors SQLAlchemy does not see; they are
    raised as SQLAlchemy's own (`IntegrityError`, `DataError`, ...) like every other
    storage error.
    """
    if not rows:
        return
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
    dbapi = connection.dialect.loaded_dbapi
    try:
        with connection.connection.cursor() as cursor:
            cursor.copy_expert(statement, encode(rows), size=COPY_CHUNK)
    except dbapi.Error as error:
        raise DBAPIError.instance(statement, None, error, dbapi.Error) from error
