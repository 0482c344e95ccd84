"""Dagster's PostgreSQL storage with one pool of connections per process.

dagster-postgres opens each of its three storages (runs, event log, schedules) with a
`NullPool` engine: every read or write of a run, event, tick or cursor connects to
PostgreSQL anew (TCP, authentication, a new backend: milliseconds of CPU on both sides).
A run writes about 70 events, the daemon's loops read and write the instance all the
time, and the code server builds a new instance for every sensor and schedule
evaluation (checking that the tables exist each time), so on `bench/soak.py` those
connections were the daemon's largest single cost and a large one of every run worker
and of the code server (py-spy). Here the three storages of every instance of a process
share one `QueuePool` engine per database URL, and the tables are checked once per
process: connections are reused, pinged before use (a restarted PostgreSQL costs a ping,
not a failed tick), and never used across a fork (a forked run worker opens its own).

The event log storage also remembers the `asset_keys` columns it found: Dagster asks
before every read of an input's asset version, and dagster-postgres answers each time by
reflecting the table from `pg_catalog`.

    storage:
      custom:
        module: vatsim_pipeline.dagster_storage.pooled_postgres
        class: PooledPostgresStorage
        config:
          postgres_url: {env: DAGSTER_POSTGRES_URL}
"""

from __future__ import annotations

import os
import weakref

from dagster._serdes import ConfigurableClassData
from dagster_postgres import DagsterPostgresStorage, PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from dagster_postgres.utils import (
    create_pg_engine,
    get_token_provider_from_config,
    pg_url_from_config,
)
from sqlalchemy import Engine

# Connections kept open per process; more are opened for a burst and closed after it.
POOL_SIZE = 2
MAX_OVERFLOW = 8

# Engines of this process: one per database URL, shared by every instance built here
# (the code server builds one per sensor evaluation), and the URLs whose tables exist.
_engines: dict[str, Engine] = {}
_checked_tables: set[str] = set()
_asset_key_columns: dict[str, set[str]] = {}
_token_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def _forget_inherited_connections() -> None:
    """In a forked child: drop the parent's pooled connections without closing them (they
    are the parent's sockets), so that the child opens its own (SQLAlchemy's fork recipe)."""
    for engine in [*_engines.values(), *_token_engines]:
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


def pooled_engine(postgres_url: str, token_provider=None) -> Engine:
    """This process's engine for `postgres_url`, in autocommit as dagster-postgres uses
    its storages; with a token provider (tokens expire), an engine of its own."""
    if token_provider is None and postgres_url in _engines:
        return _engines[postgres_url]
    engine = create_pg_engine(
        postgres_url,
        token_provider,
        isolation_level="AUTOCOMMIT",
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        pool_pre_ping=True,
    )
    if token_provider is None:
        _engines[postgres_url] = engine
    else:
        _token_engines.add(engine)
    return engine


class ColumnAwareEventLogStorage(PostgresEventLogStorage):
    """The event log storage on a shared engine, remembering (per process and database)
    the `asset_keys` columns it has found.

    A column once present stays present (Dagster's migrations add columns, never drop
    them), so only a positive answer is remembered: an instance migrated while this process
    runs is still noticed."""

    def __init__(self, postgres_url: str, engine: Engine, **kwargs) -> None:
        super().__init__(postgres_url, **kwargs)
        self._engine = engine
        self._known_columns = _asset_key_columns.setdefault(postgres_url, set())

    def has_asset_key_col(self, column_name: str) -> bool:
        if column_name in self._known_columns:
            return True
        found = super().has_asset_key_col(column_name)
        if found:
            self._known_columns.add(column_name)
        return found


class PooledPostgresStorage(DagsterPostgresStorage):
    """`DagsterPostgresStorage` whose run, event log and schedule storages share one pooled
    engine (see the module's docstring)."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider=None,
    ) -> None:
        # Not `super().__init__`: it would build the stock event log storage.
        self.postgres_url = postgres_url
        self.should_autocreate_tables = should_autocreate_tables
        self._inst_data = inst_data
        options = {
            # Whether the tables exist is asked once per process, not per instance.
            "should_autocreate_tables": should_autocreate_tables
            and postgres_url not in _checked_tables,
            "token_provider": token_provider,
        }
        self.engine = pooled_engine(postgres_url, token_provider)
        self._run_storage = PostgresRunStorage(postgres_url, **options)
        self._event_log_storage = ColumnAwareEventLogStorage(postgres_url, self.engine, **options)
        self._schedule_storage = PostgresScheduleStorage(postgres_url, **options)
        # dagster-postgres keeps its engine in `_engine` and exposes no other way to give
        # it one (its `optimize_for_webserver` replaces it the same way).
        self._run_storage._engine = self.engine
        self._schedule_storage._engine = self.engine
        _checked_tables.add(postgres_url)
        super(DagsterPostgresStorage, self).__init__()

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledPostgresStorage:
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )
