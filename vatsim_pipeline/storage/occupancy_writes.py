"""Per stored snapshot: locate its positions, keep each flight's sector intervals and each
controller connection's staffed sectors up to date, all in one transaction.

Everything is read from the database, never from the payload in memory:

1. The snapshot's positions (flights seen at `observed_at`) that no run of
   `sector_assignments` covers yet are located, all at once, and assigned: each joins
   its flight's run in the same sector ending at the previous recorded snapshot (the
   live case: one more snapshot in the same sector) or begins one (`assignment_runs`).
   Positions already assigned are never located again, so a replayed snapshot costs one
   query.
2. A flight whose new position changes nothing (see `occupancy.append_changes_nothing`,
   the common case: one more position in the same sector) is left alone. Every other
   touched flight has its intervals rebuilt from its whole stored track and the stored
   rows brought to match (insert, update, delete), so any order of delivery converges to
   the intervals of the track.
3. The controller connections online at `observed_at` get their staffed sectors
   recomputed from their callsign and facility.

Writers of these tables are serialised (a PostgreSQL advisory lock; SQLite has one
writer), because a rebuild reads a flight's track and then writes its intervals.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    func,
    select,
    tuple_,
    update,
)

from vatsim_pipeline.sectors.boundaries import Sector
from vatsim_pipeline.sectors.locate import SectorIndex
from vatsim_pipeline.sectors.occupancy import (
    Interval,
    Observation,
    append_changes_nothing,
    intervals,
)
from vatsim_pipeline.sectors.staffing import StaffingIndex, sectors_staffed_by
from vatsim_pipeline.storage.assignment_runs import (
    Located,
    Run,
    covering,
    serialise_writers,
    store_located,
)
from vatsim_pipeline.storage.partitions import ensure_day_partitions, utc_day
from vatsim_pipeline.storage.position_runs import position_snapshots, run_end_of
from vatsim_pipeline.storage.schema import (
    controller_sectors,
    controllers,
    flight_sector_occupancy,
    flights,
    sector_assignments,
    sectors,
)
from vatsim_pipeline.storage.sector_writes import load_sector_rows

CHUNK = 500
OCCUPANCY = flight_sector_occupancy
INTERVAL_FIELDS = Interval._fields
# An interval is keyed by (sector_id, entered_at); the rest may change in a rebuild.
CHANGEABLE_FIELDS = INTERVAL_FIELDS[2:]
T = TypeVar("T")


@dataclass(frozen=True)
class SectorSet:
    """The stored sectors, ready to locate positions and to read staffing from callsigns."""

    key: tuple[int, datetime | None]
    index: SectorIndex
    staffing: StaffingIndex

    @classmethod
    def of(cls, stored: Sequence[Sector], key: tuple[int, datetime | None]) -> SectorSet:
        return cls(key=key, index=SectorIndex(stored), staffing=StaffingIndex(stored))


_sector_sets: dict[str, SectorSet] = {}


def stored_sectors_key(connection: Connection) -> tuple[int, datetime | None]:
    """(count, newest `updated_at`): it changes whenever `replace_sectors` changes a row."""
    count, newest = connection.execute(
        select(func.count(), func.max(sectors.c.updated_at)).select_from(sectors)
    ).one()
    return count, newest


def sector_set(engine: Engine) -> SectorSet | None:
    """The stored sectors, loaded once per process and database until they change
    (parsing every boundary takes about half a second); None when none are stored."""
    with engine.connect() as connection:
        key = stored_sectors_key(connection)
    if key[0] == 0:
        return None
    url = engine.url.render_as_string()
    cached = _sector_sets.get(url)
    if cached is None or cached.key != key:
        cached = _sector_sets[url] = SectorSet.of(load_sector_rows(engine), key)
    return cached


@dataclass
class IntervalChanges:
    """What a rebuild of some flights' intervals changed."""

    flights: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0

    def add(self, other: IntervalChanges) -> None:
        self.flights += other.flights
        self.inserted += other.inserted
        self.updated += other.updated
        self.deleted += other.deleted


@dataclass
class StaffingChanges:
    """Controller connections online at a snapshot, and their staffing rows changed."""

    controllers: int = 0
    staffing: int = 0
    inserted: int = 0
    deleted: int = 0


@dataclass
class OccupancyWrite:
    """The result of `update_occupancy`, for the asset's metadata."""

    observed_at: datetime
    positions: int = 0
    assigned: int = 0
    outside_sectors: int = 0
    intervals: IntervalChanges = field(default_factory=IntervalChanges)
    staffing: StaffingChanges = field(default_factory=StaffingChanges)
    elapsed_ms: float = 0.0


def chunked(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """Lists of at most `size` items, to stay below the bound parameter limits."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _touched_positions(connection: Connection, t: datetime) -> list[Any]:
    """The snapshot's positions, and for each flight its latest run starting at or before
    `t` (the one covering `t` when the position is assigned, else the one before) and its
    next run: start, end and sector of each.

    The runs are scalar subqueries: each runs as one index probe per flight, where
    a join or EXISTS may be planned as a scan of the whole (ever-growing) table.
    """
    other = sector_assignments.alias("other")
    own = other.c.flight_id == flights.c.id

    def latest(column):
        return (
            select(column)
            .where(own, other.c.observed_at <= t)
            .order_by(other.c.observed_at.desc())
            .limit(1)
            .scalar_subquery()
        )

    def following(column):
        return (
            select(column)
            .where(own, other.c.observed_at > t)
            .order_by(other.c.observed_at)
            .limit(1)
            .scalar_subquery()
        )

    position = position_snapshots
    run_columns = {
        "start": other.c.observed_at,
        "end": run_end_of(other),
        "sector": other.c.sector_id,
    }
    statement = (
        select(
            flights.c.id,
            flights.c.status,
            position.c.latitude,
            position.c.longitude,
            *(latest(column).label(f"before_{name}") for name, column in run_columns.items()),
            *(following(column).label(f"after_{name}") for name, column in run_columns.items()),
        )
        .select_from(
            flights.join(
                position, and_(position.c.flight_id == flights.c.id, position.c.observed_at == t)
            )
        )
        .where(flights.c.last_seen >= t, flights.c.first_seen <= t)
    )
    return connection.execute(statement).all()


def _run(flight_id: int, start: datetime | None, end: datetime | None, sector_id) -> Run | None:
    return None if start is None or end is None else Run(flight_id, start, end, sector_id)


def update_occupancy(
    engine: Engine, observed_at: datetime, sector_set: SectorSet
) -> OccupancyWrite:
    """Assign the snapshot's positions and update intervals and staffing, in one transaction.

    Safe to repeat and to call for snapshots in any order. The positions' day gets its
    `sector_assignments` partition first, outside the transaction.
    """
    started = time.perf_counter()
    ensure_day_partitions(engine, [utc_day(observed_at)])
    result = OccupancyWrite(observed_at=observed_at)
    with engine.begin() as connection:
        serialise_writers(connection)
        touched = _touched_positions(connection, observed_at)
        result.positions = len(touched)
        fresh = [row for row in touched if row.before_end is None or row.before_end < observed_at]
        located = sector_set.index.locate_many(
            [row.latitude for row in fresh], [row.longitude for row in fresh]
        )
        store_located(
            connection,
            observed_at,
            [
                Located(
                    row.id,
                    sector_id,
                    _run(row.id, row.before_start, row.before_end, row.before_sector),
                    _run(row.id, row.after_start, row.after_end, row.after_sector),
                )
                for row, sector_id in zip(fresh, located, strict=True)
            ],
        )
        result.assigned = len(fresh)
        result.outside_sectors = sum(1 for sector_id in located if sector_id is None)
        to_rebuild = [
            row.id
            for row, sector_id in zip(fresh, located, strict=True)
            if not append_changes_nothing(
                row.before_sector,
                sector_id,
                has_previous=row.before_start is not None,
                has_next=row.after_start is not None,
                active=row.status == "active",
            )
        ]
        result.intervals = rebuild_intervals(connection, to_rebuild)
        result.staffing = update_staffing(connection, observed_at, sector_set.staffing)
    result.elapsed_ms = round(1000 * (time.perf_counter() - started), 1)
    return result


def _tracks(connection: Connection, flight_ids: list[int]) -> dict[int, list[Observation]]:
    position, assigned = position_snapshots, sector_assignments
    rows = connection.execute(
        select(
            assigned.c.flight_id,
            position.c.observed_at,
            assigned.c.sector_id,
            position.c.latitude,
            position.c.longitude,
            position.c.altitude,
        )
        .select_from(
            assigned.join(
                position, covering(assigned, position.c.flight_id, position.c.observed_at)
            )
        )
        .where(assigned.c.flight_id.in_(flight_ids))
        .order_by(assigned.c.flight_id, position.c.observed_at)
    )
    tracks: dict[int, list[Observation]] = defaultdict(list)
    for flight_id, *observation in rows:
        tracks[flight_id].append(Observation(*observation))
    return tracks


def _stored_intervals(
    connection: Connection, flight_ids: list[int]
) -> dict[int, dict[tuple[str, datetime], tuple[int, Interval]]]:
    rows = connection.execute(
        select(
            OCCUPANCY.c.flight_id, OCCUPANCY.c.id, *(OCCUPANCY.c[name] for name in INTERVAL_FIELDS)
        ).where(OCCUPANCY.c.flight_id.in_(flight_ids))
    )
    stored: dict[int, dict[tuple[str, datetime], tuple[int, Interval]]] = defaultdict(dict)
    for flight_id, row_id, *values in rows:
        interval = Interval(*values)
        stored[flight_id][(interval.sector_id, interval.entered_at)] = (row_id, interval)
    return stored


def rebuild_intervals(connection: Connection, flight_ids: Collection[int]) -> IntervalChanges:
    """Make the stored intervals of `flight_ids` those of their stored tracks and status."""
    changes = IntervalChanges()
    for chunk in chunked(sorted(set(flight_ids))):
        statuses = {
            flight_id: status
            for flight_id, status in connection.execute(
                select(flights.c.id, flights.c.status).where(flights.c.id.in_(chunk))
            )
        }
        tracks = _tracks(connection, chunk)
        stored = _stored_intervals(connection, chunk)
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        deletes: list[int] = []
        for flight_id in chunk:
            wanted = intervals(tracks.get(flight_id, []), statuses.get(flight_id) == "active")
            have = stored.get(flight_id, {})
            for interval in wanted:
                found = have.pop((interval.sector_id, interval.entered_at), None)
                if found is None:
                    inserts.append({"flight_id": flight_id, **interval._asdict()})
                elif found[1] != interval:
                    changed = zip(CHANGEABLE_FIELDS, interval[2:], strict=True)
                    updates.append({"row_id": found[0], **{f"new_{k}": v for k, v in changed}})
            deletes.extend(row_id for row_id, _ in have.values())
        if deletes:
            connection.execute(OCCUPANCY.delete().where(OCCUPANCY.c.id.in_(deletes)))
        if updates:
            connection.execute(
                update(OCCUPANCY)
                .where(OCCUPANCY.c.id == bindparam("row_id"))
                .values({name: bindparam(f"new_{name}") for name in CHANGEABLE_FIELDS}),
                updates,
            )
        if inserts:
            connection.execute(OCCUPANCY.insert(), inserts)
        changes.add(IntervalChanges(len(chunk), len(inserts), len(updates), len(deletes)))
    return changes


def update_staffing(
    connection: Connection, observed_at: datetime, staffing: StaffingIndex
) -> StaffingChanges:
    """Recompute the staffed sectors of the controller connections online at `observed_at`
    (so a new sector set applies to them at the next snapshot)."""
    online = connection.execute(
        select(controllers.c.id, controllers.c.callsign, controllers.c.facility).where(
            controllers.c.last_seen >= observed_at, controllers.c.first_seen <= observed_at
        )
    ).all()
    wanted = {
        (row.id, sector_id)
        for row in online
        for sector_id in sectors_staffed_by(row.callsign, row.facility, staffing)
    }
    stored: set[tuple[int, str]] = set()
    for chunk in chunked(row.id for row in online):
        stored.update(
            connection.execute(
                select(controller_sectors.c.controller_id, controller_sectors.c.sector_id).where(
                    controller_sectors.c.controller_id.in_(chunk)
                )
            ).tuples()
        )
    missing, extra = sorted(wanted - stored), sorted(stored - wanted)
    if missing:
        connection.execute(
            controller_sectors.insert(),
            [{"controller_id": c, "sector_id": s} for c, s in missing],
        )
    for chunk in chunked(extra):
        connection.execute(
            controller_sectors.delete().where(
                tuple_(controller_sectors.c.controller_id, controller_sectors.c.sector_id).in_(
                    chunk
                )
            )
        )
    return StaffingChanges(
        controllers=len(online),
        staffing=len({c for c, _ in wanted}),
        inserted=len(missing),
        deleted=len(extra),
    )
