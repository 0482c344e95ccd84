"""Session lifecycle: connections that stopped appearing are ended, ended flights summarised
(see `flight_summaries`).

Time is the feed's, not the wall clock's: a flight is `completed` (a controller
`offline`) once its `last_seen` is more than the timeout older than the NEWEST stored
snapshot, and its `ended_at` is its `last_seen`. So a replay of history ends sessions
exactly as the live run did, and a pause of the pipeline ends nothing.

A connection that reappears is handled by the same rule, re-applied every run:

- A replayed older snapshot never moves `last_seen` (the writes keep the latest), so the
  connection stays ended; if the snapshot added a position its flight had missed, the
  summary is rebuilt with it.
- A late snapshot newer than `last_seen` moves `last_seen`: if that is within the timeout
  of the newest snapshot the connection is active again (`ended_at` cleared, summary
  deleted); otherwise it stays ended with the later `ended_at` and a rebuilt summary.

Each run reads only what can have changed since the previous one: connections whose
`last_seen` is at or after the earliest of the previous cutoff, this cutoff and the
snapshots stored since (by id, with a margin for the occupancy step of the same runs).
The position is kept in `maintenance_log` with the run's time, which the query service
reports as the last cleanup. Running twice changes nothing in the data.
"""

from __future__ import annotations

import json
import math
import os
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from vatsim_pipeline.storage.flight_summaries import write_summaries
from vatsim_pipeline.storage.occupancy_writes import (
    IntervalChanges,
    chunked,
    rebuild_intervals,
    serialise_writers,
)
from vatsim_pipeline.storage.schema import (
    controllers,
    feed_snapshots,
    flight_summaries,
    flights,
    maintenance_log,
)

TASK = "session_lifecycle"
DEFAULT_TIMEOUT_S = 120.0
TIMEOUT_VARIABLE = "VATSIM_SESSION_TIMEOUT_S"
# Snapshots stored before the previous run that are looked at again, so that a flight's
# occupancy written just after that run still reaches its summary.
SNAPSHOT_ID_MARGIN = 8
ENDED = {"flights": "completed", "controllers": "offline"}


def session_timeout_s(env: Mapping[str, str] | None = None) -> float:
    """`VATSIM_SESSION_TIMEOUT_S`, default 120 s; a `ValueError` naming it when unusable."""
    raw = (os.environ if env is None else env).get(TIMEOUT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{TIMEOUT_VARIABLE}={raw!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{TIMEOUT_VARIABLE}={raw!r} must be a number of seconds > 0")
    return value


@dataclass
class SessionsWrite:
    """What one run changed, for the asset's metadata."""

    newest_snapshot: datetime | None = None
    cutoff: datetime | None = None
    window_start: datetime | None = None
    flights_completed: int = 0
    flights_reopened: int = 0
    controllers_offline: int = 0
    controllers_reopened: int = 0
    summaries_written: int = 0
    summaries_deleted: int = 0
    intervals: IntervalChanges = field(default_factory=IntervalChanges)

    @property
    def rows(self) -> int:
        return (
            self.flights_completed
            + self.flights_reopened
            + self.controllers_offline
            + self.controllers_reopened
            + self.summaries_written
            + self.summaries_deleted
        )


@dataclass(frozen=True)
class _Window:
    cutoff: datetime
    start: datetime | None
    new_snapshots: list[datetime]


def _window(connection: Connection, newest: datetime, timeout: timedelta) -> _Window:
    cutoff = newest - timeout
    cursor = connection.scalar(
        select(maintenance_log.c.cursor).where(maintenance_log.c.task == TASK)
    )
    if not cursor:
        return _Window(cutoff, None, [])
    previous = json.loads(cursor)
    new_snapshots = list(
        connection.scalars(
            select(feed_snapshots.c.update_timestamp).where(
                feed_snapshots.c.id > previous["snapshot_id"] - SNAPSHOT_ID_MARGIN
            )
        )
    )
    starts = [cutoff, datetime.fromisoformat(previous["cutoff"]), *new_snapshots]
    return _Window(cutoff, min(starts), new_snapshots)


def _end_or_reopen(
    connection: Connection, table: Table, window: _Window
) -> tuple[list[Any], list[int], list[int]]:
    """End the connections past the cutoff and reopen those seen again; returns the
    window's rows (as they were) and the ids ended and reopened."""
    ended = ENDED[table.name]
    query = select(
        table.c.id, table.c.status, table.c.ended_at, table.c.first_seen, table.c.last_seen
    )
    if window.start is not None:
        query = query.where(table.c.last_seen >= window.start)
    rows = connection.execute(query).all()
    to_end = [
        r.id
        for r in rows
        if r.last_seen < window.cutoff and (r.status != ended or r.ended_at != r.last_seen)
    ]
    to_reopen = [
        r.id
        for r in rows
        if r.last_seen >= window.cutoff and (r.status != "active" or r.ended_at is not None)
    ]
    for chunk in chunked(to_end):
        connection.execute(
            update(table)
            .where(table.c.id.in_(chunk))
            .values(status=ended, ended_at=table.c.last_seen)
        )
    for chunk in chunked(to_reopen):
        connection.execute(
            update(table).where(table.c.id.in_(chunk)).values(status="active", ended_at=None)
        )
    return rows, to_end, to_reopen


def end_sessions(engine: Engine, timeout_s: float, *, now: datetime | None = None) -> SessionsWrite:
    """One lifecycle run, in one transaction (see the module docstring)."""
    result = SessionsWrite()
    with engine.begin() as connection:
        serialise_writers(connection)
        newest, top_id = connection.execute(
            select(func.max(feed_snapshots.c.update_timestamp), func.max(feed_snapshots.c.id))
        ).one()
        if newest is None:
            return result
        window = _window(connection, newest, timedelta(seconds=timeout_s))
        result.newest_snapshot, result.cutoff, result.window_start = (
            newest,
            window.cutoff,
            window.start,
        )
        flight_rows, completed, reopened = _end_or_reopen(connection, flights, window)
        _, offline, back = _end_or_reopen(connection, controllers, window)
        result.flights_completed, result.flights_reopened = len(completed), len(reopened)
        result.controllers_offline, result.controllers_reopened = len(offline), len(back)
        result.intervals = rebuild_intervals(connection, [*completed, *reopened])
        for chunk in chunked(reopened):
            result.summaries_deleted += connection.execute(
                flight_summaries.delete().where(flight_summaries.c.flight_id.in_(chunk))
            ).rowcount
        candidates = _summary_candidates(connection, flight_rows, completed, window)
        result.summaries_written = write_summaries(connection, candidates)
        _log_run(connection, now or datetime.now(UTC), result.rows, top_id, window.cutoff)
    return result


def _summary_candidates(
    connection: Connection, rows: Sequence[Any], completed: list[int], window: _Window
) -> list[int]:
    """Ended flights whose summary may be missing or out of date: just completed, without
    a summary, or on the air at a snapshot stored since the previous run."""
    ended = [r for r in rows if r.last_seen < window.cutoff]
    summarised: set[int] = set()
    for chunk in chunked(r.id for r in ended):
        summarised.update(
            connection.scalars(
                select(flight_summaries.c.flight_id).where(flight_summaries.c.flight_id.in_(chunk))
            )
        )
    new = sorted(window.new_snapshots)
    wanted = set(completed)
    for r in ended:
        on_air_then = bisect_right(new, r.last_seen) > bisect_left(new, r.first_seen)
        if r.id not in summarised or on_air_then:
            wanted.add(r.id)
    return sorted(wanted)


def _log_run(
    connection: Connection, ran_at: datetime, rows: int, top_id: int, cutoff: datetime
) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    values = {
        "task": TASK,
        "ran_at": ran_at,
        "rows": rows,
        "cursor": json.dumps({"snapshot_id": top_id, "cutoff": cutoff.isoformat()}),
    }
    statement = dialect.insert(maintenance_log).values(values)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["task"],
            set_={name: statement.excluded[name] for name in ("ran_at", "rows", "cursor")},
        )
    )
