"""Engines for the data database, and the schema created or migrated on start."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.schema import CreateColumn

from vatsim_pipeline.storage.schema import metadata

STATEMENT_TIMEOUT_MS = 30_000
SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, *, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS) -> Engine:
    """An engine with timeouts so that no statement can hang the pipeline."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": 10,
            "options": f"-c statement_timeout={statement_timeout_ms}",
            "application_name": "vatsim-pipeline",
        },
    )


def migrate(engine: Engine) -> None:
    """Create missing tables and add missing nullable columns; never drops anything."""
    if engine.dialect.name == "sqlite":
        url = engine.url
        if url.database and url.database != ":memory:":
            from pathlib import Path

            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    metadata.create_all(engine)
    inspector = inspect(engine)
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present and column.nullable:
                    ddl = CreateColumn(column).compile(dialect=engine.dialect)
                    connection.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN {ddl}'))


@cache
def engine_for(url: str) -> Engine:
    """One migrated engine (and so one pool) per database URL in this process."""
    engine = make_engine(url)
    migrate(engine)
    return engine
