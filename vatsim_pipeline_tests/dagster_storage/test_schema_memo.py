"""Dagster's storages remember the schema they found: the daemon's and the code server's
every-loop reads (a sensor's state, the runs in progress) stop reflecting `pg_catalog`."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from dagster import RunsFilter
from sqlalchemy import event

from vatsim_pipeline.dagster_storage import pooled_postgres, schema_memo
from vatsim_pipeline.dagster_storage.pooled_postgres import PooledPostgresStorage


@pytest.fixture
def storage(postgres_url: str):
    storage = PooledPostgresStorage(postgres_url.replace("+psycopg2", ""))
    schema_memo._found.clear()  # as a process that has not asked yet
    yield storage
    storage.engine.dispose()


def _catalog_reads(storage: PooledPostgresStorage, call: Callable[[], object]) -> int:
    statements: list[str] = []

    def record(_conn, _cursor, sql, *_args) -> None:
        statements.append(sql)

    event.listen(storage.engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(storage.engine, "before_cursor_execute", record)
    return sum("pg_catalog" in sql for sql in statements)


def test_sensor_state_and_run_queries_reflect_the_catalog_once(storage) -> None:
    schedules, runs = storage.schedule_storage, storage.run_storage

    def every_loop() -> None:
        schedules.get_instigator_state("origin", "selector")
        runs.get_run_records(RunsFilter(job_name="ingest"), limit=5)
        schedules.has_built_index("no such migration")

    first = _catalog_reads(storage, every_loop)
    assert first >= 2  # instigators table, runs columns
    assert _catalog_reads(storage, every_loop) == 0
    assert _catalog_reads(storage, every_loop) == 0


def test_a_missing_table_or_column_is_asked_again(storage) -> None:
    events = storage.event_log_storage

    assert events.has_table("no_such_table") is False
    assert _catalog_reads(storage, lambda: events.has_table("no_such_table")) >= 1
    assert events.has_asset_key_col("no_such_column") is False
    assert _catalog_reads(storage, lambda: events.has_asset_key_col("no_such_column")) >= 1

    assert events.has_table("event_logs") is True
    assert _catalog_reads(storage, lambda: events.has_table("event_logs")) == 0


def test_what_one_instance_found_serves_the_next_of_the_process(storage, postgres_url) -> None:
    storage.schedule_storage.get_instigator_state("origin", "selector")
    second = PooledPostgresStorage(postgres_url.replace("+psycopg2", ""))

    assert second.engine is storage.engine
    reads = _catalog_reads(
        second, lambda: second.schedule_storage.get_instigator_state("origin", "selector")
    )
    assert reads == 0


def test_the_first_storage_of_a_process_learns_the_schema_for_its_forks(postgres_url) -> None:
    """The warm process opens the storage once; every run forked from it inherits the
    answers and reflects nothing (`learn_schema`)."""
    url = postgres_url.replace("+psycopg2", "")
    schema_memo._found.clear()
    pooled_postgres._checked_tables.discard(url)
    storage = PooledPostgresStorage(url)
    try:
        runs, events = storage.run_storage, storage.event_log_storage

        def a_run() -> None:
            runs.get_run_records(RunsFilter(job_name="ingest"), limit=5)
            storage.schedule_storage.get_instigator_state("origin", "selector")
            events.has_table("asset_check_executions")
            events.has_asset_key_col("last_materialization_timestamp")

        assert _catalog_reads(storage, a_run) == 0
    finally:
        storage.engine.dispose()
