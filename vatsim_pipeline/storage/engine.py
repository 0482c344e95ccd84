"""Engines for the data database, and the schema created or migrated on start."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.schema import CreateColumn

import vatsim_pipeline.storage.anomalies  # its table joins `metadata`
import vatsim_pipeline.storage.archive_log  # its table joins `metadata`
import vatsim_pipeline.storage.traffic_schema  # noqa: F401  (its tables join `metadata`)
from vatsim_pipeline.storage.narrow_radios import narrow_transceivers
from vatsim_pipeline.storage.partitions import (
    DEFAULT_AHEAD_DAYS,
    convert_plain_tables,
    days_ahead,
    ensure_day_partitions,
)
from vatsim_pipeline.storage.radio_runs import convert_snapshot_rows
from vatsim_pipeline.storage.schema import metadata

STATEMENT_TIMEOUT_MS = 30_000
logger = logging.getLogger(__name__)
SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, *, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS) -> Engine:
    """An engine with timeouts so that no statement can hang the pipeline, and on
    PostgreSQL without JIT: the writers' staging tables are never analysed, so the planner
    guessed them large, its cost passed the JIT thresholds and LLVM compiled the radio
    runs' statement for half a second of every snapshot to save microseconds."""
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
            "options": f"-c statement_timeout={statement_timeout_ms} -c timezone=UTC -c jit=off",
            "application_name": "vatsim-pipeline",
        },
    )


def _add_missing_columns(engine: Engine) -> None:
    """Add the schema's nullable columns that existing tables lack."""
    inspector = inspect(engine)
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present and column.nullable:
                    ddl = CreateColumn(column).compile(dialect=engine.dialect)
                    connection.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN {ddl}'))


def _create_missing_indexes(engine: Engine) -> None:
    """Create the schema's indexes that existing tables lack (`create_all` creates those of
    new tables only). A plain CREATE INDEX holds writes to its table while it builds."""
    with engine.begin() as connection:
        for table in metadata.sorted_tables:
            for index in table.indexes:
                index.create(connection, checkfirst=True)


def migrate(engine: Engine, *, partitions_ahead_days: int = DEFAULT_AHEAD_DAYS) -> None:
    """Create missing tables and indexes, add missing nullable columns, narrow the radios'
    table (`narrow_radios`), turn per-snapshot tables left plain by an earlier version
    into partitioned ones (PostgreSQL), and create the partitions of today and the next
    `partitions_ahead_days` days; never drops a row."""
    if engine.dialect.name == "sqlite":
        url = engine.url
        if url.database and url.database != ":memory:":
            from pathlib import Path

            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    if convert_snapshot_rows(engine):
        logger.warning("migrate: transceivers: rows per radio and snapshot merged into runs")
    _add_missing_columns(engine)
    # Before the conversion to partitions: a partition has exactly its parent's types.
    for change in narrow_transceivers(engine):
        logger.warning("migrate: transceivers: %s", change)
    convert_plain_tables(engine)
    metadata.create_all(engine)
    _create_missing_indexes(engine)
    ensure_day_partitions(engine, days_ahead(datetime.now(UTC).date(), partitions_ahead_days))


@cache
def engine_for(url: str) -> Engine:
    """One migrated engine (and so one pool) per database URL in this process."""
    engine = make_engine(url)
    migrate(engine)
    return engine
