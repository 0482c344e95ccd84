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
process: connections are reused, pinged before use when they were idle for a while
(`idle_ping`: a restarted PostgreSQL costs a ping, not a failed tick), and never used
across a fork (a forked run worker opens its own).

The storages also remember the tables and columns they found (`schema_memo`): Dagster
asks before many reads, and dagster-postgres answers each time by reflecting `pg_catalog`.

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
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.utils import (
    create_pg_engine,
    get_token_provider_from_config,
    pg_url_from_config,
)
from sqlalchemy import Engine

from vatsim_pipeline.dagster_storage.idle_ping import ping_when_idle
from vatsim_pipeline.dagster_storage.schema_memo import (
    SchemaAwareEventLogStorage,
    SchemaAwareRunStorage,
    SchemaAwareScheduleStorage,
    learn_schema,
)

# Connections kept open per process; more are opened for a burst and closed after it.
POOL_SIZE = 2
MAX_OVERFLOW = 8

# Engines of this process: one per database URL, shared by every instance built here
# (the code server builds one per sensor evaluation), and the URLs whose tables exist.
_engines: dict[str, Engine] = {}
_checked_tables: set[str] = set()
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
    )
    ping_when_idle(engine)
    if token_provider is None:
        _engines[postgres_url] = engine
    else:
        _token_engines.add(engine)
    return engine


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
        self._run_storage = SchemaAwareRunStorage(postgres_url, self.engine, **options)
        self._event_log_storage = SchemaAwareEventLogStorage(postgres_url, self.engine, **options)
        self._schedule_storage = SchemaAwareScheduleStorage(postgres_url, self.engine, **options)
        if postgres_url not in _checked_tables:
            learn_schema(self._run_storage, self._schedule_storage, self._event_log_storage)
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
