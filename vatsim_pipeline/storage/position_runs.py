"""Positions stored as runs: one row per stretch of snapshots with the same position.

A parked or paused pilot sends the same position record (latitude, longitude, altitude,
ground speed, heading, transponder, QNH) every 15 s. `flight_positions` keeps one row
for such a stretch: the connection held those values in every *recorded* snapshot (a
row of `feed_snapshots`) from `observed_at` to `last_observed_at`. So presence stays
exact: a run is extended to a new snapshot only when the connection was in the snapshot
recorded just before it, with the same values.

Rules that keep every read cheap and every day self-contained:

- a run never crosses a UTC midnight, so a day's partition, retention and archive hold
  exactly that day's positions;
- a run spans at most `RUN_SPAN`, so the runs holding the positions at a moment start
  at most that long before it (a bounded range scan of `observed_at`).

Snapshots may arrive in any order. One that is recorded later than a newer one (a
back-fill, a dead-letter replay) splits every run that spans it where the connection is
absent from it or held other values; re-ingesting a snapshot changes nothing.

`position_snapshots` expands the runs back to one row per connection and snapshot, with
the columns of the table as it was before runs: every reader of positions reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    Subquery,
    and_,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from vatsim_pipeline.storage.partitions import day_start, utc_day
from vatsim_pipeline.storage.schema import UTCDateTime, feed_snapshots, flight_positions
from vatsim_pipeline.storage.snapshot_rows import POSITION_COLUMNS
from vatsim_pipeline.storage.write_report import TableWrite

RUN_SPAN = timedelta(minutes=2)
"""Longest run (first to last snapshot): 8 snapshots of a parked pilot in one row, and
a moment's positions within 2 minutes of `observed_at` (about one BRIN range)."""
LOOKUP_CHUNK = 2_000
# Serialises position writers on PostgreSQL: a run is extended from the snapshot
# recorded before, which a concurrent writer of another snapshot may be adding.
ADVISORY_LOCK_KEY = 0x9A27DA2

Values = tuple


class earliest_run_start(FunctionElement):
    """`moment - RUN_SPAN` in SQL: no run holding `moment` starts before it."""

    type = UTCDateTime()
    inherit_cache = True
    name = "earliest_run_start"


@compiles(earliest_run_start, "postgresql")
def _earliest_postgresql(element, compiler, **kw) -> str:
    (moment,) = element.clauses
    seconds = int(RUN_SPAN.total_seconds())
    return f"({compiler.process(moment, **kw)} - interval '{seconds} seconds')"


@compiles(earliest_run_start, "sqlite")
def _earliest_sqlite(element, compiler, **kw) -> str:
    # ISO text without the fraction: at most a second early, which only loosens a bound.
    (moment,) = element.clauses
    seconds = int(RUN_SPAN.total_seconds())
    return f"datetime({compiler.process(moment, **kw)}, '-{seconds} seconds')"


_run = flight_positions.alias("position_run")
_snapshot = feed_snapshots.alias("position_snapshot")


def run_end_of(runs: FromClause) -> ColumnElement:
    """The last snapshot of a run of `runs` (`flight_positions` or an alias): a NULL
    `last_observed_at` is a run of one snapshot."""
    return func.coalesce(runs.c.last_observed_at, runs.c.observed_at)


run_end = run_end_of(flight_positions)


def _expanded(*run_bounds) -> Select:
    return select(
        _run.c.flight_id,
        _snapshot.c.update_timestamp.label("observed_at"),
        *(_run.c[name] for name in POSITION_COLUMNS),
    ).select_from(
        _run.join(
            _snapshot,
            and_(
                _snapshot.c.update_timestamp >= _run.c.observed_at,
                _snapshot.c.update_timestamp <= run_end_of(_run),
                _run.c.observed_at >= earliest_run_start(_snapshot.c.update_timestamp),
                *run_bounds,
            ),
        )
    )


position_snapshots = _expanded().subquery("position_snapshots")
"""One row per connection and recorded snapshot (`flight_id`, `observed_at`, values):
the positions as they were stored before runs. Select from it as from a table."""


def positions_between(since: datetime, until: datetime) -> Subquery:
    """`position_snapshots` of the runs that can hold a moment in [since, until]: the
    same rows for such moments, with the runs' own start bounded by literals, so that
    PostgreSQL reads only those days' partitions and the window's index range."""
    return _expanded(_run.c.observed_at >= since - RUN_SPAN, _run.c.observed_at <= until).subquery(
        "position_snapshots"
    )


@dataclass(slots=True)
class Run:
    """One stored run: `values` held from `start` to `end` (both recorded snapshots)."""

    flight_id: int
    start: datetime
    end: datetime
    values: Values


@dataclass
class RunChanges:
    """What one snapshot does to the runs: ends moved, runs added, and the counts."""

    ends: list[tuple[int, datetime, datetime]] = field(default_factory=list)
    """(flight_id, start, new end) of stored runs."""
    added: list[Run] = field(default_factory=list)
    write: TableWrite = field(default_factory=TableWrite)


@dataclass(frozen=True, slots=True)
class Neighbours:
    """The recorded snapshots around `moment`, and whether it is recorded itself."""

    moment: datetime
    previous: datetime | None
    following: datetime | None
    recorded: bool

    @property
    def low(self) -> datetime:
        """No run holding `moment` (or extendable to it) starts before this."""
        return max(day_start(utc_day(self.moment)), self.moment - RUN_SPAN)


def plan_runs(
    at: Neighbours,
    present: dict[int, Values],
    latest: dict[int, Run],
    spanning: Sequence[Run],
) -> RunChanges:
    """Decide how the runs change when the snapshot `at.moment` holds `present`.

    `latest` is, per present connection, its latest run starting in [`at.low`, moment];
    `spanning` the runs of any connection that start before the moment and end after
    it (only needed when a newer snapshot is recorded already).
    """
    t, changes = at.moment, RunChanges()
    for flight_id, values in present.items():
        run = latest.get(flight_id)
        if run is not None and run.end >= t:
            if at.recorded:
                changes.write.unchanged += 1  # stored already (first write wins)
                continue
            if run.values == values:
                changes.write.inserted += 1  # a late snapshot inside its run
                continue
            _split(run, at, changes)
        elif (
            run is not None
            and at.previous is not None
            and run.end == at.previous
            and run.values == values
            and t - run.start <= RUN_SPAN
        ):
            changes.ends.append((flight_id, run.start, t))
            changes.write.inserted += 1
            continue
        changes.added.append(Run(flight_id, t, t, values))
        changes.write.inserted += 1
    for run in spanning:
        if run.flight_id not in present:
            _split(run, at, changes)
    return changes


def _split(run: Run, at: Neighbours, changes: RunChanges) -> None:
    """Cut `run` (which spans the newly recorded `at.moment`) around that moment."""
    assert at.previous is not None and at.following is not None and run.start < at.moment
    changes.ends.append((run.flight_id, run.start, at.previous))
    changes.added.append(Run(run.flight_id, at.following, run.end, run.values))


def neighbours(connection: Connection, moment: datetime) -> Neighbours:
    """The recorded snapshots just before and after `moment`."""
    stamp = feed_snapshots.c.update_timestamp
    previous, following, recorded = connection.execute(
        select(
            select(func.max(stamp)).where(stamp < moment).scalar_subquery(),
            select(func.min(stamp)).where(stamp > moment).scalar_subquery(),
            select(func.count()).where(stamp == moment).scalar_subquery(),
        )
    ).one()
    return Neighbours(moment, previous, following, bool(recorded))


def _as_run(row) -> Run:
    return Run(row[0], row[1], row[2], tuple(row[3:]))


_RUN_COLUMNS = (
    flight_positions.c.flight_id,
    flight_positions.c.observed_at,
    run_end,
    *(flight_positions.c[name] for name in POSITION_COLUMNS),
)


def spanning_runs(connection: Connection, at: Neighbours) -> list[Run]:
    """Runs that start before `at.moment` and end after it (a late snapshot's)."""
    if at.recorded or at.following is None or at.previous is None:
        return []
    observed = flight_positions.c.observed_at
    statement = select(*_RUN_COLUMNS).where(
        observed >= at.low, observed < at.moment, run_end > at.moment
    )
    return [_as_run(row) for row in connection.execute(statement)]


_POSTGRES_LATEST = f"""
    SELECT i.id, r.observed_at, r.run_end, {", ".join(f"r.{c}" for c in POSITION_COLUMNS)}
    FROM unnest(%(ids)s::bigint[]) AS i(id)
    CROSS JOIN LATERAL (
        SELECT observed_at, coalesce(last_observed_at, observed_at) AS run_end,
               {", ".join(POSITION_COLUMNS)}
        FROM {flight_positions.name} p
        WHERE p.flight_id = i.id AND p.observed_at >= %(low)s AND p.observed_at <= %(moment)s
        ORDER BY p.observed_at DESC LIMIT 1
    ) AS r
"""


def latest_runs(
    connection: Connection, at: Neighbours, flight_ids: Sequence[int]
) -> dict[int, Run]:
    """Per connection, its latest run starting in [`at.low`, `at.moment`].

    PostgreSQL: one backward index probe per connection (LATERAL ... LIMIT 1), in the
    day's partition only, as the bounds are literals. SQLite: one grouped range scan,
    SQLite returning the other columns of the row that holds `max()`.
    """
    if not flight_ids:
        return {}
    if connection.dialect.name == "postgresql":
        found = connection.exec_driver_sql(
            _POSTGRES_LATEST, {"ids": list(flight_ids), "low": at.low, "moment": at.moment}
        )
        return {row[0]: _as_run(row) for row in found}
    observed = flight_positions.c.observed_at
    latest: dict[int, Run] = {}
    for start in range(0, len(flight_ids), LOOKUP_CHUNK):
        chunk = flight_ids[start : start + LOOKUP_CHUNK]
        statement = (
            select(
                flight_positions.c.flight_id,
                func.max(observed),
                run_end,
                *(flight_positions.c[name] for name in POSITION_COLUMNS),
            )
            .where(
                flight_positions.c.flight_id.in_(chunk),
                observed >= at.low,
                observed <= at.moment,
            )
            .group_by(flight_positions.c.flight_id)
        )
        latest.update((row[0], _as_run(row)) for row in connection.execute(statement))
    return latest


_TYPES = {
    name: str(flight_positions.c[name].type.compile(dialect=postgresql.dialect()))
    for name in ("flight_id", "observed_at", "last_observed_at", *POSITION_COLUMNS)
}
_POSTGRES_ENDS = f"""
    UPDATE {flight_positions.name} p SET last_observed_at = u.run_end
    FROM unnest(%(flight_id)s::bigint[], %(start)s::timestamptz[], %(end)s::timestamptz[])
        AS u(flight_id, start, run_end)
    WHERE p.flight_id = u.flight_id AND p.observed_at = u.start
      AND p.observed_at >= %(low)s AND p.observed_at <= %(moment)s
"""
_ADDED_COLUMNS = ("flight_id", "observed_at", "last_observed_at", *POSITION_COLUMNS)
_POSTGRES_ADD = f"""
    INSERT INTO {flight_positions.name} ({", ".join(_ADDED_COLUMNS)})
    SELECT * FROM unnest({", ".join(f"%({c})s::{_TYPES[c]}[]" for c in _ADDED_COLUMNS)})
    ON CONFLICT (flight_id, observed_at) DO NOTHING
"""


def _apply_postgresql(connection: Connection, at: Neighbours, changes: RunChanges) -> None:
    """Two statements whatever the number of rows: arrays unnested server-side (an
    executemany would cost a round trip per run). Every start lies in the moment's day."""
    if changes.ends:
        flight_id, start, end = zip(*changes.ends, strict=True)
        connection.exec_driver_sql(
            _POSTGRES_ENDS,
            {
                "flight_id": list(flight_id),
                "start": list(start),
                "end": list(end),
                "low": at.low,
                "moment": at.moment,
            },
        )
    if changes.added:
        runs = [(r.flight_id, r.start, r.end, *r.values) for r in changes.added]
        columns = list(zip(*runs, strict=True))
        arrays = {name: list(values) for name, values in zip(_ADDED_COLUMNS, columns, strict=True)}
        connection.exec_driver_sql(_POSTGRES_ADD, arrays)


def apply_changes(connection: Connection, at: Neighbours, changes: RunChanges) -> None:
    """Move the ends and store the new runs."""
    if connection.dialect.name == "postgresql":
        _apply_postgresql(connection, at, changes)
        return
    if changes.ends:
        statement = (
            update(flight_positions)
            .where(
                flight_positions.c.flight_id == bindparam("b_flight_id"),
                flight_positions.c.observed_at == bindparam("b_start"),
            )
            .values(last_observed_at=bindparam("b_end"))
        )
        connection.execute(
            statement,
            [{"b_flight_id": f, "b_start": s, "b_end": e} for f, s, e in changes.ends],
        )
    if changes.added:
        rows = [
            {
                "flight_id": run.flight_id,
                "observed_at": run.start,
                "last_observed_at": run.end,
                **dict(zip(POSITION_COLUMNS, run.values, strict=True)),
            }
            for run in changes.added
        ]
        connection.execute(sqlite.insert(flight_positions).on_conflict_do_nothing(), rows)


def begin(connection: Connection, moment: datetime) -> Neighbours:
    """Take the position writers' lock (PostgreSQL) and find the snapshot's neighbours."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            "SELECT pg_advisory_xact_lock(%(key)s)", {"key": ADVISORY_LOCK_KEY}
        )
    return neighbours(connection, moment)


def write_present(connection: Connection, at: Neighbours, present: dict[int, Values]) -> TableWrite:
    """Store the positions of the snapshot `at.moment` (connection id -> values) as runs:
    the general path, for any order of arrival."""
    changes = plan_runs(
        at,
        present,
        latest_runs(connection, at, list(present)),
        spanning_runs(connection, at),
    )
    apply_changes(connection, at, changes)
    return changes.write


def write_positions(
    connection: Connection, moment: datetime, present: dict[int, Values]
) -> TableWrite:
    """Store the positions of the snapshot `moment` (connection id -> values) as runs,
    inside the caller's transaction; `inserted` counts positions not stored before."""
    return write_present(connection, begin(connection, moment), present)


def staged_append_sql(stage: str, ids: str, row: str) -> str:
    """PostgreSQL, a snapshot newer than every recorded one, its positions staged: one
    statement extends the runs that end at the previous snapshot with the same values
    (found by one backward index probe per connection, updated by ctid in the day's one
    partition) and inserts a run for every other position. No row travels to the client.
    """
    columns = ", ".join(POSITION_COLUMNS)
    same = " AND ".join(f"r.{c} IS NOT DISTINCT FROM s.{c}" for c in POSITION_COLUMNS)
    return f"""
        WITH latest AS (
            SELECT r.ctid AS run
            FROM {ids} i JOIN {stage} s USING ({row})
            CROSS JOIN LATERAL (
                SELECT p.ctid, coalesce(p.last_observed_at, p.observed_at) AS run_end,
                       {", ".join(f"p.{c}" for c in POSITION_COLUMNS)}
                FROM {flight_positions.name} p
                WHERE p.flight_id = i.id
                  AND p.observed_at >= %(low)s AND p.observed_at <= %(moment)s
                ORDER BY p.observed_at DESC LIMIT 1
            ) AS r
            WHERE r.run_end = %(previous)s AND {same}
        ),
        extended AS (
            UPDATE {flight_positions.name} p SET last_observed_at = %(moment)s
            WHERE p.ctid = ANY (ARRAY(SELECT run FROM latest))
              AND p.observed_at >= %(low)s AND p.observed_at <= %(moment)s
            RETURNING p.flight_id
        )
        INSERT INTO {flight_positions.name} (flight_id, observed_at, last_observed_at, {columns})
        SELECT i.id, %(moment)s, %(moment)s, {", ".join(f"s.{c}" for c in POSITION_COLUMNS)}
        FROM {stage} s JOIN {ids} i USING ({row})
        WHERE i.id NOT IN (SELECT flight_id FROM extended)
        ON CONFLICT (flight_id, observed_at) DO NOTHING
    """


def positions_at(connection: Connection, moment: datetime) -> dict[int, Values]:
    """Connection id -> position values in the recorded snapshot `moment`."""
    p = position_snapshots.c
    statement = select(p.flight_id, *(p[name] for name in POSITION_COLUMNS)).where(
        p.observed_at == moment
    )
    return {row[0]: tuple(row[1:]) for row in connection.execute(statement)}
