"""The sessions `make_engine` opens on PostgreSQL: timeouts on, JIT off."""

from __future__ import annotations

from sqlalchemy import text

from vatsim_pipeline.storage.engine import make_engine


def test_postgresql_sessions_run_without_jit_and_with_a_statement_timeout(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url, statement_timeout_ms=12_345)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SHOW jit")) == "off"
            assert connection.scalar(text("SHOW statement_timeout")) == "12345ms"
            assert connection.scalar(text("SHOW timezone")) == "UTC"
    finally:
        engine.dispose()
