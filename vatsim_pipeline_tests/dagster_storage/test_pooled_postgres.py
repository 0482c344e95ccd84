"""The pooled Dagster storage: one engine for runs, events and schedules, connections
reused across a run's events and never shared across a fork (that the deploy profiles
configure it: `defs/test_deploy_profiles.py`)."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from dagster import DagsterInstance, asset, materialize
from sqlalchemy import Engine, event, text

from vatsim_pipeline.dagster_storage.pooled_postgres import (
    MAX_OVERFLOW,
    POOL_SIZE,
    PooledPostgresStorage,
)


@asset
def upstream() -> int:
    return 1


@asset
def downstream(upstream: int) -> int:
    return upstream + 1


def _dagster_url(postgres_url: str) -> str:
    return postgres_url.replace("+psycopg2", "")


def _count_connects(engine: Engine) -> list[int]:
    opened: list[int] = []
    event.listen(engine, "connect", lambda *_: opened.append(1))
    return opened


def _instance(tmp_path: Path, postgres_url: str, *, pooled: bool) -> DagsterInstance:
    """An instance on the stock or the pooled storage, nothing else configured."""
    home = tmp_path / ("pooled" if pooled else "stock")
    home.mkdir()
    storage = (
        {
            "custom": {
                "module": PooledPostgresStorage.__module__,
                "class": "PooledPostgresStorage",
                "config": {"postgres_url": _dagster_url(postgres_url)},
            }
        }
        if pooled
        else {"postgres": {"postgres_url": _dagster_url(postgres_url)}}
    )
    (home / "dagster.yaml").write_text(yaml.safe_dump({"storage": storage}))
    return DagsterInstance.from_config(str(home))


def test_a_run_reuses_connections_where_the_stock_storage_opens_one_per_write(
    tmp_path: Path, postgres_url: str
) -> None:
    opened = {}
    for pooled in (False, True):
        instance = _instance(tmp_path, postgres_url, pooled=pooled)
        opened[pooled] = _count_connects(instance.event_log_storage._engine)
        result = materialize([upstream, downstream], instance=instance)
        assert result.success
        assert result.output_for_node("downstream") == 2
        run_events = len(instance.all_logs(result.run_id))
        assert run_events >= 20

    assert len(opened[False]) >= run_events  # a connection per event written, and more
    assert len(opened[True]) <= POOL_SIZE + MAX_OVERFLOW
    assert instance.event_log_storage._engine.pool.checkedout() == 0  # all went back


def test_a_forked_child_opens_its_own_connections(postgres_url: str) -> None:
    storage = PooledPostgresStorage(_dagster_url(postgres_url))
    with storage.engine.connect() as connection:
        parent_backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child reports its backend, then leaves without cleanup
        try:
            with storage.engine.connect() as connection:
                backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
            os.write(write, str(backend).encode())
        finally:
            os._exit(0)
    os.close(write)
    child_backend = int(os.read(read, 64).decode())
    os.waitpid(child, 0)

    assert child_backend != parent_backend
    with storage.engine.connect() as connection:  # the parent's connection still works
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() == parent_backend
    storage.engine.dispose()


def test_instances_of_one_process_share_the_engine_its_connections_and_table_checks(
    tmp_path: Path, postgres_url: str
) -> None:
    """The code server builds an instance for every sensor evaluation: the second finds
    the connections open and the tables checked."""
    first = _instance(tmp_path, postgres_url, pooled=True)
    assert materialize([upstream], instance=first).success
    engine = first.event_log_storage._engine
    opened = _count_connects(engine)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_: statements.append(sql))

    second = DagsterInstance.from_ref(first.get_ref())

    assert second.event_log_storage._engine is engine
    assert statements == []  # no table checks, no reflection
    assert len(second.get_runs()) == 1
    assert opened == []  # the pooled connections served it
