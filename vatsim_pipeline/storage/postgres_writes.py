"""The PostgreSQL write path: COPY into staging tables, then set-based SQL per table.

Per-row statements cost a round trip and a plan each; here each table's rows travel in
one COPY (see `copy_csv`) into a session-local staging table, and a few `INSERT ...
SELECT` statements move them into place, all inside the caller's transaction, so a
snapshot is still one transaction. The SQL is written out (`exec_driver_sql`) because it
is fixed: nothing is left for SQLAlchemy to compile.

Staging tables are TEMP and `ON COMMIT DELETE ROWS`: created once per database session,
emptied by every commit (a rollback undoes the COPY), never seen by another session.

Joins by natural key against a large `flights` table are underestimated by the planner
(three columns, assumed independent), which is harmless for a join on its own but makes
any join stacked on top of it a quadratic nested loop. So each key join is a statement
of its own that notes the stored id per staged row index in an `*_ids` table, and later
statements join on that one integer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql

from vatsim_pipeline.storage import position_runs
from vatsim_pipeline.storage.copy_csv import copy_rows
from vatsim_pipeline.storage.radio_runs import write_staged_postgres
from vatsim_pipeline.storage.schema import (
    controllers,
    flights,
    prefiles,
    transceivers,
)
from vatsim_pipeline.storage.snapshot_rows import (
    CONNECTION_KEY,
    CONTROLLER_COLUMNS,
    FLIGHT_COLUMNS,
    POSITION_COLUMNS,
    PREFILE_COLUMNS,
    PREFILE_KEY,
    RADIO_COLUMNS,
    RADIO_LINK_COLUMNS,
    SnapshotRows,
)
from vatsim_pipeline.storage.write_report import TableWrite

ROW = "row_index"
_POSITION_INDEXES = [FLIGHT_COLUMNS.index(name) for name in POSITION_COLUMNS]
STAGE_RADIOS = "stage_transceivers"


def _sql_type(table: Table, name: str) -> str:
    return str(table.c[name].type.compile(dialect=postgresql.dialect()))


@dataclass(frozen=True)
class _Upsert:
    """SQL for a table whose rows are upserted by natural key, latest snapshot winning."""

    table: Table
    columns: Sequence[str]
    keys: Sequence[str]
    with_ids: bool
    """Whether other rows point at these: then ids are noted in `ids` by row index."""

    @property
    def stage(self) -> str:
        return f"stage_{self.table.name}"

    @property
    def ids(self) -> str:
        return f"stage_{self.table.name}_ids"

    @property
    def staged_columns(self) -> tuple[str, ...]:
        return (ROW, *self.columns) if self.with_ids else tuple(self.columns)

    def create_stages(self) -> list[str]:
        typed = [
            f"{c} {'integer' if c == ROW else _sql_type(self.table, c)}"
            for c in self.staged_columns
        ]
        tables = {self.stage: ", ".join(typed)}
        if self.with_ids:
            tables[self.ids] = f"{ROW} integer, id bigint, last_seen timestamptz"
        return [
            f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns}) ON COMMIT DELETE ROWS"
            for name, columns in tables.items()
        ]

    def _on_key(self) -> str:
        return " AND ".join(f"t.{k} = s.{k}" for k in self.keys)

    @cached_property
    def known(self) -> str:
        """Count the staged rows already stored, and those older than this snapshot.

        Run before the upsert, it is what tells inserts from updates; for tables with
        ids, the ids of the known rows are noted on the way.
        """
        join = f"FROM {self.stage} s JOIN {self.table.name} t ON {self._on_key()}"
        counts = "SELECT count(*), count(*) FILTER (WHERE last_seen < %(seen_at)s)"
        if not self.with_ids:
            return f"{counts} FROM (SELECT t.last_seen {join}) AS known"
        return f"""
            WITH known AS (
                INSERT INTO {self.ids} ({ROW}, id, last_seen)
                SELECT s.{ROW}, t.id, t.last_seen {join}
                RETURNING last_seen
            )
            {counts} FROM known
        """

    @cached_property
    def upsert(self) -> str:
        """Insert new rows; for known ones keep the newest state and the widest span.

        Rows are inserted in key order, so that concurrent writers lock them in the
        same order and cannot deadlock.
        """
        name, key, listed = self.table.name, ", ".join(self.keys), ", ".join(self.columns)
        newer = f"excluded.last_seen > {name}.last_seen"
        sets = [
            f"{c} = CASE WHEN {newer} THEN excluded.{c} ELSE {name}.{c} END"
            for c in self.columns
            if c not in self.keys
        ]
        sets.append(f"first_seen = LEAST({name}.first_seen, excluded.first_seen)")
        sets.append(f"last_seen = GREATEST({name}.last_seen, excluded.last_seen)")
        return f"""
            INSERT INTO {name} ({listed}, first_seen, last_seen)
            SELECT {listed}, %(seen_at)s, %(seen_at)s FROM {self.stage} ORDER BY {key}
            ON CONFLICT ({key}) DO UPDATE SET {", ".join(sets)}
            WHERE {newer} OR excluded.first_seen < {name}.first_seen
        """

    @cached_property
    def resolve_new(self) -> str:
        """Note the ids of the rows the upsert inserted."""
        return f"""
            INSERT INTO {self.ids} ({ROW}, id)
            SELECT s.{ROW}, t.id FROM {self.stage} s JOIN {self.table.name} t ON {self._on_key()}
            WHERE s.{ROW} NOT IN (SELECT {ROW} FROM {self.ids})
        """

    def write(self, connection: Connection, rows: list[tuple], seen_at: datetime) -> TableWrite:
        """COPY the rows in, upsert them, and count what changed."""
        if not rows:
            return TableWrite()
        staged = [(i, *row) for i, row in enumerate(rows)] if self.with_ids else rows
        copy_rows(connection, self.stage, self.staged_columns, staged)
        parameters = {"seen_at": seen_at}
        known, older = connection.exec_driver_sql(self.known, parameters).one()
        connection.exec_driver_sql(self.upsert, parameters)
        if self.with_ids and known < len(rows):
            connection.exec_driver_sql(self.resolve_new)
        return TableWrite(inserted=len(rows) - known, updated=older, unchanged=known - older)


FLIGHTS = _Upsert(flights, FLIGHT_COLUMNS, CONNECTION_KEY, with_ids=True)
CONTROLLERS = _Upsert(controllers, CONTROLLER_COLUMNS, CONNECTION_KEY, with_ids=True)
PREFILES = _Upsert(prefiles, PREFILE_COLUMNS, PREFILE_KEY, with_ids=False)


def _create_stages() -> str:
    radio_columns = ", ".join(
        f"{c} {'integer' if c in RADIO_LINK_COLUMNS else _sql_type(transceivers, c)}"
        for c in (*RADIO_COLUMNS, *RADIO_LINK_COLUMNS)
    )
    return ";\n".join(
        [
            "SET LOCAL client_min_messages = warning",  # no NOTICE for tables that exist
            "SET LOCAL work_mem = '32MB'",  # key-order sorts of 10x traffic stay in memory
            *FLIGHTS.create_stages(),
            *CONTROLLERS.create_stages(),
            *PREFILES.create_stages(),
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGE_RADIOS} ({radio_columns})"
            " ON COMMIT DELETE ROWS",
        ]
    )


CREATE_STAGES = _create_stages()
APPEND_POSITIONS = position_runs.staged_append_sql(FLIGHTS.stage, FLIGHTS.ids, ROW)
# The staged radios with their connections' ids, in `radio_runs.RADIO` order.
STAGED_RADIOS = f"""
    SELECT {", ".join(f"r.{c}" for c in RADIO_COLUMNS)}, f.id AS flight_id, c.id AS controller_id
    FROM {STAGE_RADIOS} r
    LEFT JOIN {FLIGHTS.ids} f ON f.{ROW} = r.flight_row
    LEFT JOIN {CONTROLLERS.ids} c ON c.{ROW} = r.controller_row
"""


def _write_positions(connection: Connection, rows: SnapshotRows, seen_at: datetime) -> TableWrite:
    """The snapshot's positions as runs (`position_runs`): in one statement on the staged
    rows when it is the newest snapshot (the running pipeline's case), else by the
    general path on the ids the upsert noted."""
    at = position_runs.begin(connection, seen_at)
    if at.following is None and not at.recorded:
        if rows.flights:
            parameters = {"low": at.low, "moment": seen_at, "previous": at.previous}
            connection.exec_driver_sql(APPEND_POSITIONS, parameters)
        return TableWrite(inserted=len(rows.flights))
    present = {
        flight_id: tuple(rows.flights[index][i] for i in _POSITION_INDEXES)
        for index, flight_id in connection.exec_driver_sql(f"SELECT {ROW}, id FROM {FLIGHTS.ids}")
    }
    return position_runs.write_present(connection, at, present)


def write_rows(
    connection: Connection, rows: SnapshotRows, seen_at: datetime
) -> dict[str, TableWrite]:
    """Write flights, positions, controllers, radios and prefiles of one snapshot."""
    if connection.connection.dbapi_connection.autocommit:
        raise ValueError("snapshot writes need a transaction: AUTOCOMMIT empties the staging")
    connection.exec_driver_sql(CREATE_STAGES)
    flight_write = FLIGHTS.write(connection, rows.flights, seen_at)
    positions = _write_positions(connection, rows, seen_at)
    controller_write = CONTROLLERS.write(connection, rows.controllers, seen_at)
    copy_rows(connection, STAGE_RADIOS, (*RADIO_COLUMNS, *RADIO_LINK_COLUMNS), rows.transceivers)
    radios = write_staged_postgres(connection, STAGED_RADIOS, len(rows.transceivers), seen_at)
    return {
        "flights": flight_write,
        "flight_positions": positions,
        "controllers": controller_write,
        "transceivers": radios,
        "prefiles": PREFILES.write(connection, rows.prefiles, seen_at),
    }
