"""Dagster's PostgreSQL storages that remember what they found in the schema.

Dagster's storages ask whether a table or column exists before many ordinary reads, each
time by reflecting `pg_catalog`: the schedule storage before every read or write of a
sensor's state (`instigators`), the run storage before every run query (`start_time`,
`end_time`), the event log before every read of an input's asset version. On
`bench/soak.py` that reflection was about 30% of the daemon's samples (py-spy). Dagster's
migrations add tables and columns and never drop them, so a positive answer is kept for
the process and the database; a negative one is asked again, so that an instance migrated
while the process runs is noticed.
"""

from __future__ import annotations

from collections.abc import Callable

from dagster._core.storage.schedules.migration import (
    SCHEDULE_JOBS_SELECTOR_ID,
    SCHEDULE_TICKS_SELECTOR_ID,
)
from dagster_postgres import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from sqlalchemy import Connection, Engine

# What each database (by URL) was found to have, in this process.
_found: dict[str, set[str]] = {}


def remembered(postgres_url: str, question: str, ask: Callable[[], bool]) -> bool:
    """`ask()`, unless it already answered yes for this database in this process."""
    found = _found.setdefault(postgres_url, set())
    if question in found:
        return True
    answer = ask()
    if answer:
        found.add(question)
    return answer


class SchemaAwareRunStorage(PostgresRunStorage):
    """The run storage on a shared engine, remembering the run tables' columns."""

    def __init__(self, postgres_url: str, engine: Engine, **kwargs) -> None:
        super().__init__(postgres_url, **kwargs)
        # dagster-postgres exposes no other way to give it an engine (its
        # `optimize_for_webserver` replaces `_engine` the same way).
        self._engine = engine

    def has_run_stats_index_cols(self) -> bool:
        return remembered(self.postgres_url, "runs.end_time", super().has_run_stats_index_cols)

    def has_backfill_id_column(self) -> bool:
        return remembered(self.postgres_url, "runs.backfill_id", super().has_backfill_id_column)

    def has_bulk_actions_selector_cols(self) -> bool:
        ask = super().has_bulk_actions_selector_cols
        return remembered(self.postgres_url, "bulk_actions.selector_id", ask)

    def has_bulk_action_job_name_column(self) -> bool:
        ask = super().has_bulk_action_job_name_column
        return remembered(self.postgres_url, "bulk_actions.job_name", ask)

    def has_backfill_tags_table(self) -> bool:
        return remembered(self.postgres_url, "backfill_tags", super().has_backfill_tags_table)

    def has_built_index(self, migration_name: str) -> bool:
        ask = super().has_built_index
        return remembered(
            self.postgres_url, f"runs index {migration_name}", lambda: ask(migration_name)
        )


class SchemaAwareScheduleStorage(PostgresScheduleStorage):
    """The schedule storage on a shared engine, remembering its tables and indexes."""

    def __init__(self, postgres_url: str, engine: Engine, **kwargs) -> None:
        super().__init__(postgres_url, **kwargs)
        self._engine = engine

    def _has_instigators_table(self, conn: Connection) -> bool:
        ask = super()._has_instigators_table
        return remembered(self.postgres_url, "instigators", lambda: ask(conn))

    def _has_asset_daemon_asset_evaluations_table(self, conn: Connection) -> bool:
        ask = super()._has_asset_daemon_asset_evaluations_table
        return remembered(self.postgres_url, "asset_daemon_asset_evaluations", lambda: ask(conn))

    def has_secondary_index_table(self) -> bool:
        ask = super().has_secondary_index_table
        return remembered(self.postgres_url, "secondary_indexes", ask)

    def has_built_index(self, migration_name: str) -> bool:
        ask = super().has_built_index
        question = f"schedules index {migration_name}"
        return remembered(self.postgres_url, question, lambda: ask(migration_name))


class SchemaAwareEventLogStorage(PostgresEventLogStorage):
    """The event log storage on a shared engine, remembering its tables and the
    `asset_keys` columns."""

    def __init__(self, postgres_url: str, engine: Engine, **kwargs) -> None:
        super().__init__(postgres_url, **kwargs)
        self._engine = engine

    def has_asset_key_col(self, column_name: str) -> bool:
        ask = super().has_asset_key_col
        return remembered(self.postgres_url, f"asset_keys.{column_name}", lambda: ask(column_name))

    def has_table(self, table_name: str) -> bool:
        ask = super().has_table
        return remembered(self.postgres_url, table_name, lambda: ask(table_name))


# What Dagster asks about its schema during runs, sensor ticks and the daemon's loops.
_EVENT_LOG_TABLES = (
    "asset_event_tags",
    "asset_check_executions",
    "dynamic_partitions",
    "concurrency_limits",
    "concurrency_slots",
    "pending_steps",
)
_ASSET_KEY_COLUMNS = ("last_materialization_timestamp", "cached_status_data")
_SCHEDULE_INDEXES = (SCHEDULE_JOBS_SELECTOR_ID, SCHEDULE_TICKS_SELECTOR_ID)


def learn_schema(
    runs: SchemaAwareRunStorage,
    schedules: SchemaAwareScheduleStorage,
    events: SchemaAwareEventLogStorage,
) -> None:
    """Ask every question once, in the process that opens the storage first: the warm
    process of `launcher.zygote` does, so each run forked from it starts knowing the
    answers instead of reflecting the catalog again (a tenth of a second per run)."""
    runs.has_run_stats_index_cols()
    runs.has_backfill_id_column()
    runs.has_bulk_actions_selector_cols()
    runs.has_bulk_action_job_name_column()
    runs.has_backfill_tags_table()
    schedules.has_instigators_table()
    for index in _SCHEDULE_INDEXES:
        schedules.has_built_index(index)
    for table in _EVENT_LOG_TABLES:
        events.has_table(table)
    for column in _ASSET_KEY_COLUMNS:
        events.has_asset_key_col(column)
