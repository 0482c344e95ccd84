"""The benches' scratch databases: the PostgreSQL server to use, from the environment,
and a database created there for one run and dropped after it (whatever it holds)."""

from __future__ import annotations

import os

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import URL

DEFAULT_SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def server_url(script: str, *variables: str, given: str | None = None) -> URL:
    """`given`, else the first of the environment `variables` that is set, else the local
    server; a one-line exit for anything but PostgreSQL."""
    chosen = given or next((os.environ[v] for v in variables if os.environ.get(v)), None)
    url = make_url(chosen or DEFAULT_SERVER)
    if not url.drivername.startswith("postgresql"):
        raise SystemExit(f"bench/{script}: needs a PostgreSQL server, not {url.drivername}")
    return url.set(drivername="postgresql+psycopg2")


def _admin(server: URL, statement: str) -> None:
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


def create_database(server: URL, name: str) -> None:
    _admin(server, f'CREATE DATABASE "{name}"')


def drop_database(server: URL, name: str) -> None:
    """Drop `name` even while sessions are still connected to it."""
    _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
