"""Map reads for the dashboard: every flight at one moment in compact columns, the
sectors staffed then, and the sector boundaries simplified for drawing.

"Now" is the newest stored feed update, as everywhere in the query service. A moment
`at` in the past shows the flights seen within the activity window before it, each at
its latest position up to `at`: the same rule as the active flights of
`reads_flights.active_flights`, replayed from `flight_positions`. The flights are found
through `flights.first_seen/last_seen` (indexed) and their positions by primary key, so
that a PostgreSQL table partitioned by day is never scanned for one moment. A moment in a
day archived to Parquet (`archived_days`) is replayed from the archive's files, with the
sector assignments archived beside it.

Rows are lists of plain values in a fixed column order (`FLIGHT_COLUMNS`), not objects:
1,500 flights are about 90 KB of JSON that way, a quarter of the keyed form.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import numpy
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from sqlalchemy import Connection, Engine, Row, func, select

from vatsim_pipeline.archive.reader import column_values, window_table
from vatsim_pipeline.sectors.staffing import StaffingIndex, sectors_staffed_by
from vatsim_pipeline.storage.archive_log import archived_between
from vatsim_pipeline.storage.archived_positions import archived_window
from vatsim_pipeline.storage.assignment_runs import covering
from vatsim_pipeline.storage.partitions import day_start, utc_day
from vatsim_pipeline.storage.position_runs import positions_between
from vatsim_pipeline.storage.reads_base import newest_update
from vatsim_pipeline.storage.reads_history import TimeArgument, parse_time
from vatsim_pipeline.storage.reads_sectors import STAFFING_COLUMNS, SUMMARY_COLUMNS, _as_sector
from vatsim_pipeline.storage.schema import (
    controllers,
    feed_snapshots,
    flight_positions,
    flights,
    sector_assignments,
    sectors,
)

FLIGHT_COLUMNS = (
    "id",
    "callsign",
    "lat",
    "lon",
    "altitude",
    "groundspeed",
    "heading",
    "departure",
    "arrival",
    "aircraft",
    "sector",
)
"""The order of the values in each row of `MapFlights.rows`."""

COORDINATE_DIGITS = 4
"""About 11 m: finer than a map pixel at any zoom the page offers."""

SHAPE_TOLERANCE_DEG = 0.02
"""Boundary simplification (about 2 km): invisible at continental zoom, and it halves
the vertices of the real sector set."""

CHUNK = 900
"""Ids per IN list: under SQLite's bound-parameter limit with room to spare."""


@dataclass(frozen=True)
class MapFlights:
    """The flights at one moment: `rows` in `FLIGHT_COLUMNS` order, by callsign."""

    at: datetime | None
    live: bool
    columns: tuple[str, ...]
    rows: list[list[Any]]


@dataclass(frozen=True)
class SectorStatus:
    """Who staffs which sector at one moment: sector id -> controller callsigns."""

    at: datetime | None
    staffed: dict[str, list[str]]


@dataclass(frozen=True)
class TimeRange:
    """The stored feed updates: the oldest, the newest and how many."""

    oldest: datetime | None
    newest: datetime | None
    snapshots: int


def time_range(connection: Connection) -> TimeRange:
    """The span a playback can cover."""
    oldest, newest, count = connection.execute(
        select(
            func.min(feed_snapshots.c.update_timestamp),
            func.max(feed_snapshots.c.update_timestamp),
            func.count(),
        )
    ).one()
    return TimeRange(oldest=oldest, newest=newest, snapshots=count)


def _round(value: float) -> float:
    return round(value, COORDINATE_DIGITS)


def _row(flight: Row, position: Row) -> list[Any]:
    return [
        flight.id,
        flight.callsign,
        _round(position.latitude),
        _round(position.longitude),
        position.altitude,
        position.groundspeed,
        position.heading,
        flight.departure,
        flight.arrival,
        flight.aircraft_short,
        position.sector_id,
    ]


FLIGHT_IDENTITY = (
    flights.c.id,
    flights.c.callsign,
    flights.c.departure,
    flights.c.arrival,
    flights.c.aircraft_short,
)


def _live_rows(connection: Connection, cutoff: datetime) -> list[list[Any]]:
    """Active flights at their latest stored state, with the sector of that position."""
    statement = (
        select(
            *FLIGHT_IDENTITY,
            flights.c.latitude,
            flights.c.longitude,
            flights.c.altitude,
            flights.c.groundspeed,
            flights.c.heading,
            sector_assignments.c.sector_id,
        )
        .outerjoin(
            sector_assignments,
            covering(sector_assignments, flights.c.id, flights.c.last_seen),
        )
        .where(flights.c.status == "active", flights.c.last_seen >= cutoff)
        .order_by(flights.c.callsign, flights.c.id)
    )
    return [_row(row, row) for row in connection.execute(statement)]


def _past_rows(connection: Connection, at: datetime, cutoff: datetime) -> list[list[Any]]:
    """Flights seen in cutoff..at, each at its latest position in that span (picked in
    SQL, so that only one row per flight crosses the wire)."""
    candidates = connection.execute(
        select(*FLIGHT_IDENTITY)
        .where(flights.c.first_seen <= at, flights.c.last_seen >= cutoff)
        .order_by(flights.c.callsign, flights.c.id)
    ).all()
    latest: dict[int, Row] = {}
    for start in range(0, len(candidates), CHUNK):
        ids = [row.id for row in candidates[start : start + CHUNK]]
        window = positions_between(cutoff, at)
        newest_first = (
            func.row_number()
            .over(
                partition_by=window.c.flight_id,
                order_by=window.c.observed_at.desc(),
            )
            .label("newest_first")
        )
        in_window = (
            select(
                window.c.flight_id,
                window.c.observed_at,
                window.c.latitude,
                window.c.longitude,
                window.c.altitude,
                window.c.groundspeed,
                window.c.heading,
                newest_first,
            )
            .where(
                window.c.flight_id.in_(ids),
                window.c.observed_at >= cutoff,
                window.c.observed_at <= at,
            )
            .subquery()
        )
        statement = (
            select(
                in_window.c.flight_id,
                in_window.c.observed_at,
                in_window.c.latitude,
                in_window.c.longitude,
                in_window.c.altitude,
                in_window.c.groundspeed,
                in_window.c.heading,
                sector_assignments.c.sector_id,
            )
            .outerjoin(
                sector_assignments,
                covering(sector_assignments, in_window.c.flight_id, in_window.c.observed_at),
            )
            .where(in_window.c.newest_first == 1)
        )
        for position in connection.execute(statement):
            latest[position.flight_id] = position
    for flight_id, position in _archived_latest(connection, candidates, at, cutoff).items():
        stored = latest.get(flight_id)
        if stored is None or stored.observed_at < position.observed_at:
            latest[flight_id] = position
    return [_row(flight, latest[flight.id]) for flight in candidates if flight.id in latest]


ARCHIVED_POSITION = ("flight_id", "observed_at", "latitude", "longitude", "altitude")
ARCHIVED_POSITION += ("groundspeed", "heading")


def _archived_latest(
    connection: Connection, candidates: list[Row], at: datetime, cutoff: datetime
) -> dict[int, SimpleNamespace]:
    """The candidates' latest archived positions in cutoff..at, with their sectors.

    Picked in Arrow (the window holds a few rows per flight, sorted by flight and time in
    each file), so that only one row per flight becomes Python values."""
    first, last = utc_day(cutoff), utc_day(at)
    days = archived_between(connection, flight_positions.name, first, last)
    if not days:
        return {}
    until = at + timedelta(microseconds=1)
    window = archived_window(connection, days, cutoff, until, ARCHIVED_POSITION)
    if not window.num_rows:
        return {}
    ids = pa.array([row.id for row in candidates], pa.int64())
    window = window.filter(pc.is_in(window.column("flight_id"), value_set=ids))
    window = window.sort_by([("flight_id", "ascending"), ("observed_at", "ascending")])
    flight = window.column("flight_id").to_numpy()
    newest = numpy.flatnonzero(numpy.append(flight[1:] != flight[:-1], True))
    latest = window.take(pa.array(newest, pa.int64())) if len(flight) else window
    sector_days = archived_between(connection, sector_assignments.name, first, last)
    runs_of: dict[int, list[tuple]] = defaultdict(list)
    if sector_days and latest.num_rows:
        # A run holding a moment of the window starts on the moment's day, at the earliest
        # at the start of the cutoff's day (runs never cross midnight).
        assigned = window_table(sector_days, day_start(first), until, ARCHIVED_RUN)
        keys = pc.is_in(assigned.column("flight_id"), value_set=latest.column("flight_id"))
        assigned = assigned.filter(keys)
        for flight_id, *run in zip(
            *(column_values(assigned.column(n)) for n in ARCHIVED_RUN), strict=True
        ):
            runs_of[flight_id].append(run)
    found = {}
    columns = [column_values(latest.column(name)) for name in ARCHIVED_POSITION]
    for values in zip(*columns, strict=True):
        row = dict(zip(ARCHIVED_POSITION, values, strict=True))
        row["sector_id"] = _sector_at(runs_of.get(row["flight_id"], []), row["observed_at"])
        found[row["flight_id"]] = SimpleNamespace(**row)
    return found


ARCHIVED_RUN = ("flight_id", "observed_at", "last_observed_at", "sector_id")


def _sector_at(runs: list[tuple], moment: datetime) -> str | None:
    """The sector of the archived run (start, end or None, sector) holding `moment`; an
    end of None (a file from before runs) is a run of its start alone."""
    for start, end, sector in runs:
        if start <= moment <= (end or start):
            return sector
    return None


def resolve_moment(connection: Connection, at: TimeArgument) -> tuple[datetime | None, bool]:
    """(the stored update to show, whether it is the newest): `at` None or at/after the
    newest update is "now"; an earlier `at` (a datetime, an ISO text or a duration back
    from the newest update) is the newest update at or before it (None before the
    first)."""
    newest = newest_update(connection)
    if newest is None or at is None:
        return newest, True
    at = parse_time("at", at, newest)
    if at >= newest:
        return newest, True
    before = connection.execute(
        select(func.max(feed_snapshots.c.update_timestamp)).where(
            feed_snapshots.c.update_timestamp <= at
        )
    ).scalar()
    return before, False


def _requested(connection: Connection, at: TimeArgument) -> datetime | None:
    """The moment asked for, when nothing is stored at or before it."""
    newest = newest_update(connection)
    return None if at is None or newest is None else parse_time("at", at, newest)


def flights_at(connection: Connection, at: TimeArgument, window: timedelta) -> MapFlights:
    """Every flight at `at` (None: now) in compact rows, by callsign."""
    moment, live = resolve_moment(connection, at)
    if moment is None:
        rows: list[list[Any]] = []
        moment = _requested(connection, at)
    elif live:
        rows = _live_rows(connection, moment - window)
    else:
        rows = _past_rows(connection, moment, moment - window)
    return MapFlights(at=moment, live=live, columns=FLIGHT_COLUMNS, rows=rows)


def staffing_index(connection: Connection) -> StaffingIndex:
    """The staffing rules of the stored sectors (prefixes, suffixes, UIR members)."""
    stored = connection.execute(select(*SUMMARY_COLUMNS, *STAFFING_COLUMNS)).all()
    return StaffingIndex(_as_sector(row) for row in stored)


def sector_status_at(
    connection: Connection, at: TimeArgument, window: timedelta, index: StaffingIndex
) -> SectorStatus:
    """The sectors staffed at `at` (None: now) by the controllers online then, with the
    same callsign rules as `/api/sectors`. (Flights per sector need no read of their own:
    each map row names the sector of its position.)"""
    moment, live = resolve_moment(connection, at)
    if moment is None:
        return SectorStatus(at=_requested(connection, at), staffed={})
    online = select(controllers.c.callsign, controllers.c.facility).where(
        controllers.c.kind == "controller",
        controllers.c.last_seen >= moment - window,
        controllers.c.first_seen <= moment,
    )
    if live:
        online = online.where(controllers.c.status == "active")
    staffed: dict[str, list[str]] = {}
    for row in connection.execute(online.order_by(controllers.c.callsign)):
        for sector_id in sectors_staffed_by(row.callsign, row.facility, index):
            staffed.setdefault(sector_id, []).append(row.callsign)
    return SectorStatus(at=moment, staffed=staffed)


def _rings(geometry: shapely.Geometry) -> list[list[float]]:
    """Exterior rings of a (multi)polygon as flat [lon, lat, lon, lat, ...] lists."""
    polygons = getattr(geometry, "geoms", [geometry])
    rings = []
    for polygon in polygons:
        if polygon.is_empty or not hasattr(polygon, "exterior"):
            continue
        flat = [_coordinate for xy in polygon.exterior.coords for _coordinate in xy]
        rings.append([round(value, 3) for value in flat])
    return rings


def sector_shapes(connection: Connection) -> list[list[Any]]:
    """[id, kind, name, [ring, ...]] per stored sector, boundaries simplified for a map."""
    rows = connection.execute(
        select(sectors.c.id, sectors.c.kind, sectors.c.name, sectors.c.geometry).order_by(
            sectors.c.id
        )
    ).all()
    if not rows:
        return []
    geometries = shapely.from_geojson([row.geometry for row in rows])
    simplified = shapely.simplify(geometries, SHAPE_TOLERANCE_DEG, preserve_topology=True)
    return [
        [row.id, row.kind, row.name, _rings(shape)]
        for row, shape in zip(rows, simplified, strict=True)
    ]


class SectorCache:
    """What the map derives from the stored sectors, computed once per stored sector set
    and kept until `replace_sectors` changes a row: the simplified boundaries (parsing
    and simplifying ~1,900 boundaries takes about a second) and the staffing rules (a
    few tens of milliseconds, on every refresh otherwise)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, datetime | None] | None = None
        self._shapes: list[list[Any]] = []
        self._staffing_key: tuple[int, datetime | None] | None = None
        self._staffing = StaffingIndex(())

    @staticmethod
    def _key_of(connection: Connection) -> tuple[int, datetime | None]:
        count, newest = connection.execute(
            select(func.count(), func.max(sectors.c.updated_at)).select_from(sectors)
        ).one()
        return count, newest

    def tag(self, connection: Connection) -> str:
        """A name of the stored sector set that changes whenever a row changes."""
        count, newest = self._key_of(connection)
        return f"{count}-{newest.timestamp() if newest else 0:.0f}"

    def shapes(self, connection: Connection) -> tuple[str, list[list[Any]]]:
        """(the set's tag, `sector_shapes`)."""
        key = self._key_of(connection)
        with self._lock:
            if key != self._key:
                self._shapes = sector_shapes(connection)
                self._key = key
            return self.tag(connection), self._shapes

    def staffing(self, connection: Connection) -> StaffingIndex:
        """The staffing rules of the stored sectors."""
        key = self._key_of(connection)
        with self._lock:
            if key != self._staffing_key:
                self._staffing = staffing_index(connection)
                self._staffing_key = key
            return self._staffing


class MapReads:
    """The map reads over one engine, each in one read-only transaction (PostgreSQL:
    REPEATABLE READ, so a reply's rows all belong to one moment of the database)."""

    def __init__(self, engine: Engine, activity_window: timedelta) -> None:
        self.engine = engine
        self.activity_window = activity_window
        self.sectors = SectorCache()

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection = connection.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            with connection.begin():
                yield connection

    def flights(self, at: TimeArgument) -> MapFlights:
        """Every flight at `at` (None: now)."""
        with self._connection() as connection:
            return flights_at(connection, at, self.activity_window)

    def status(self, at: TimeArgument) -> tuple[SectorStatus, TimeRange, str]:
        """Staffing at `at`, the stored span, and the tag of the stored sector set."""
        with self._connection() as connection:
            index = self.sectors.staffing(connection)
            staffing = sector_status_at(connection, at, self.activity_window, index)
            return staffing, time_range(connection), self.sectors.tag(connection)

    def sector_shapes(self) -> tuple[str, list[list[Any]]]:
        """(the sector set's tag, the simplified boundaries)."""
        with self._connection() as connection:
            return self.sectors.shapes(connection)
