"""Sector assignments stored as runs: one row per stretch of snapshots in one sector.

A flight stays in the same sector for many snapshots, so a row of `sector_assignments`
says: the flight was located in `sector_id` (NULL: outside every sector) in every
recorded snapshot (a row of `feed_snapshots`) from `observed_at` to `last_observed_at`
(NULL: that one snapshot, as every row written before runs existed). The rules are those
of `position_runs`:

- a run is extended only to the next recorded snapshot after its last one, and only in
  the same sector, so presence stays exact;
- a run never crosses a UTC midnight, so each lies in one day partition, retention
  and archive file (the neighbours are those of `radio_runs.neighbours`, within the day).

Snapshots may be located in any order: a flight located at a moment no run of it covers
joins the run ending at the previous recorded snapshot and/or the one starting at the
next, in the same sector, or begins its own; one already covered is left alone (a
position is located once). A snapshot *recorded* after a newer one (a back-fill, a
dead-letter replay) splits, in the transaction that records it, every run spanning it
(`split_at_late_snapshot`), so that its positions are located afresh.

`assignment_snapshots` expands the runs back to one row per flight and snapshot;
`covering` finds the one run that holds a flight at a moment (an index probe per
flight), which is how the readers join positions to their sectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    and_,
    bindparam,
    delete,
    select,
    text,
    update,
)
from sqlalchemy.dialects import sqlite

from vatsim_pipeline.storage.partitions import day_start, utc_day
from vatsim_pipeline.storage.position_runs import run_end_of
from vatsim_pipeline.storage.radio_runs import Neighbours, neighbours
from vatsim_pipeline.storage.schema import UTCDateTime, feed_snapshots, sector_assignments

runs = sector_assignments
run_end = run_end_of(sector_assignments)
# Any constant shared by every writer of the occupancy tables ("SECT0CC" in hex-speak).
ADVISORY_LOCK_KEY = 0x5EC70CC

_SET_ENDS = text(
    "UPDATE sector_assignments a SET last_observed_at = u.run_end "
    "FROM unnest(CAST(:flight_ids AS bigint[]), CAST(:starts AS timestamptz[]), "
    "CAST(:ends AS timestamptz[])) AS u(flight_id, start, run_end) "
    "WHERE a.flight_id = u.flight_id AND a.observed_at = u.start "
    "AND a.observed_at >= :low AND a.observed_at <= :moment"
).bindparams(bindparam("low", type_=UTCDateTime), bindparam("moment", type_=UTCDateTime))
_BEGIN_FROM_ARRAYS = text(
    "INSERT INTO sector_assignments (flight_id, observed_at, last_observed_at, sector_id) "
    "SELECT flight_id, :moment, :moment, sector_id "
    "FROM unnest(CAST(:flight_ids AS bigint[]), CAST(:sector_ids AS text[])) "
    "AS located(flight_id, sector_id) ON CONFLICT DO NOTHING"
).bindparams(bindparam("moment", type_=UTCDateTime))


def serialise_writers(connection: Connection) -> None:
    """Hold the occupancy writers' lock until the transaction ends (PostgreSQL): a write
    reads the runs around its snapshot before changing them."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def covering(assignments: FromClause, flight_id, moment) -> ColumnElement[bool]:
    """The run of `assignments` (the table or an alias) holding `flight_id` at `moment`:
    runs of a flight never overlap, so at most one."""
    return and_(
        assignments.c.flight_id == flight_id,
        assignments.c.observed_at <= moment,
        run_end_of(assignments) >= moment,
    )


def _expanded():
    stamp = feed_snapshots.c.update_timestamp
    return (
        select(runs.c.flight_id, stamp.label("observed_at"), runs.c.sector_id)
        .select_from(runs.join(feed_snapshots, and_(stamp >= runs.c.observed_at, stamp <= run_end)))
        .subquery("assignment_snapshots")
    )


assignment_snapshots = _expanded()
"""One row per flight and recorded snapshot it was located in (`flight_id`,
`observed_at`, `sector_id`): the table as it was before runs."""


@dataclass(frozen=True, slots=True)
class Run:
    """A stored run of one flight: `sector_id` from `start` to `end`."""

    flight_id: int
    start: datetime
    end: datetime
    sector_id: str | None


@dataclass
class RunChanges:
    """What locating some flights at one snapshot does to the runs."""

    ends: list[tuple[int, datetime, datetime]] = field(default_factory=list)
    """(flight_id, start, new end) of stored runs."""
    starts: list[tuple[int, datetime, datetime]] = field(default_factory=list)
    """(flight_id, start, new start) of stored runs."""
    deleted: list[tuple[int, datetime]] = field(default_factory=list)
    begun: list[tuple[int, str | None]] = field(default_factory=list)
    """(flight_id, sector_id) of runs of the snapshot alone."""


@dataclass(frozen=True, slots=True)
class Located:
    """A flight located at the snapshot, with its runs just before and after it."""

    flight_id: int
    sector_id: str | None
    before: Run | None
    after: Run | None


def plan(at: Neighbours, located: Sequence[Located]) -> RunChanges:
    """The changes that store each flight's sector at `at.moment`, none of them covered
    by a run yet: join the run ending at the previous recorded snapshot and/or the one
    starting at the next in the same sector, or begin a run."""
    changes = RunChanges()
    for flight in located:
        before, after = flight.before, flight.after
        joins_before = (
            before is not None
            and at.previous is not None
            and before.end == at.previous
            and before.sector_id == flight.sector_id
        )
        joins_after = (
            after is not None
            and at.following is not None
            and after.start == at.following
            and after.sector_id == flight.sector_id
        )
        if joins_before and joins_after:
            changes.ends.append((flight.flight_id, before.start, after.end))
            changes.deleted.append((flight.flight_id, after.start))
        elif joins_before:
            changes.ends.append((flight.flight_id, before.start, at.moment))
        elif joins_after:
            changes.starts.append((flight.flight_id, after.start, at.moment))
        else:
            changes.begun.append((flight.flight_id, flight.sector_id))
    return changes


def _key(flight_id: str = "k_flight_id", start: str = "k_start") -> ColumnElement[bool]:
    return and_(
        runs.c.flight_id == bindparam(flight_id),
        runs.c.observed_at == bindparam(start, type_=UTCDateTime),
    )


def _set_ends(connection: Connection, at: Neighbours, ends: list) -> None:
    if not ends:
        return
    if connection.dialect.name == "postgresql":
        flight_ids, starts, new_ends = (list(column) for column in zip(*ends, strict=True))
        connection.execute(
            _SET_ENDS,
            {
                "flight_ids": flight_ids,
                "starts": starts,
                "ends": new_ends,
                "low": day_start(utc_day(at.moment)),
                "moment": at.moment,
            },
        )
        return
    connection.execute(
        update(runs).where(_key()).values(last_observed_at=bindparam("v_end")),
        [{"k_flight_id": f, "k_start": s, "v_end": e} for f, s, e in ends],
    )


def _begin(connection: Connection, moment: datetime, begun: list) -> None:
    """Runs of one snapshot; on PostgreSQL as two arrays, which measured ten times faster
    than an executemany of 1,500 rows."""
    if not begun:
        return
    if connection.dialect.name == "postgresql":
        flight_ids, sector_ids = (list(column) for column in zip(*begun, strict=True))
        connection.execute(
            _BEGIN_FROM_ARRAYS,
            {"moment": moment, "flight_ids": flight_ids, "sector_ids": sector_ids},
        )
        return
    connection.execute(
        sqlite.insert(runs).on_conflict_do_nothing(),
        [
            {"flight_id": f, "observed_at": moment, "last_observed_at": moment, "sector_id": s}
            for f, s in begun
        ],
    )


def apply(connection: Connection, at: Neighbours, changes: RunChanges) -> None:
    """Deletes first (a joined run's successor), then ends, starts and new runs."""
    if changes.deleted:
        connection.execute(
            delete(runs).where(_key()),
            [{"k_flight_id": f, "k_start": s} for f, s in changes.deleted],
        )
    _set_ends(connection, at, changes.ends)
    if changes.starts:
        connection.execute(
            update(runs).where(_key()).values(observed_at=bindparam("v_start")),
            [{"k_flight_id": f, "k_start": s, "v_start": n} for f, s, n in changes.starts],
        )
    _begin(connection, at.moment, changes.begun)


def store_located(connection: Connection, moment: datetime, located: Sequence[Located]) -> None:
    """Store the sectors of flights located at the recorded snapshot `moment`, inside
    the caller's transaction (which holds the occupancy writers' lock)."""
    if not located:
        return
    at = neighbours(connection, moment)
    apply(connection, at, plan(at, located))


def split_at_late_snapshot(connection: Connection, moment: datetime) -> int:
    """Before the snapshot `moment` is recorded: if newer ones are recorded already, cut
    every run spanning it around it (its flights are located afresh). Returns the number
    of runs split. Call inside the transaction that records the snapshot, before it
    locks any row: a late snapshot takes the occupancy writers' lock here, which they
    take before their row locks too."""
    at = neighbours(connection, moment)
    if at.previous is None or at.following is None:
        return 0
    recorded = connection.execute(
        select(feed_snapshots.c.update_timestamp).where(feed_snapshots.c.update_timestamp == moment)
    ).first()
    if recorded is not None:
        return 0
    serialise_writers(connection)
    spanning = connection.execute(
        select(runs.c.flight_id, runs.c.observed_at, run_end, runs.c.sector_id).where(
            runs.c.observed_at >= day_start(utc_day(moment)),
            runs.c.observed_at < moment,
            run_end > moment,
        )
    ).all()
    if not spanning:
        return 0
    _set_ends(connection, at, [(f, start, at.previous) for f, start, _, _ in spanning])
    connection.execute(
        runs.insert(),
        [
            {"flight_id": f, "observed_at": at.following, "last_observed_at": end, "sector_id": s}
            for f, _, end, s in spanning
        ],
    )
    return len(spanning)
