"""Pooled connections are pinged before use only after being idle: a connection killed
while idle is replaced unseen; one returned moments ago is trusted (at most one statement
fails, then the pool starts over)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, exc, text

from vatsim_pipeline.dagster_storage.idle_ping import ping_when_idle


def _engine(postgres_url: str, idle_s: float) -> Engine:
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    ping_when_idle(engine, idle_s=idle_s)
    return engine


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _kill(postgres_url: str, backend: int) -> None:
    killer = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with killer.connect() as connection:
        assert connection.execute(text(f"SELECT pg_terminate_backend({backend})")).scalar_one()
    killer.dispose()


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    made: list[Engine] = []
    yield made
    for engine in made:
        engine.dispose()


def test_a_connection_killed_while_idle_is_replaced_before_use(postgres_url, engines) -> None:
    engine = _engine(postgres_url, idle_s=0.0)
    engines.append(engine)
    first = _backend(engine)
    _kill(postgres_url, first)

    second = _backend(engine)

    assert second != first


def test_a_connection_returned_moments_ago_is_used_without_a_ping(postgres_url, engines) -> None:
    engine = _engine(postgres_url, idle_s=60.0)
    engines.append(engine)
    first = _backend(engine)
    _kill(postgres_url, first)

    with pytest.raises(exc.OperationalError):  # not pinged: the statement meets the dead socket
        _backend(engine)
    assert _backend(engine) != first  # the pool started over
