"""The query service: every read of the recorded history goes through here.

Callers (the HTTP API, the CLI, reports) name what they want with plain arguments and
never see SQL. One service holds one engine, and so one connection pool, and counts
the queries it served and their average time, safely across the API's worker threads.

"Now" is the newest stored feed update, not the wall clock: a database filled from
recordings of 2024 shows the flights active at the time. Only the health check compares
with the wall clock, since its job is to tell whether recording has stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from time import perf_counter

from sqlalchemy import Connection, Engine

from vatsim_pipeline.storage.reads_base import (
    ActiveController,
    ActiveFlight,
    BBox,
    DatabaseStats,
    FlightStats,
    FlightTrack,
    HealthReport,
    InvalidQuery,
    NotFound,
    Page,
    SectorSummary,
    SnapshotInfo,
    active_cutoff,
    check_page,
    describe_error,
    flight_ref,
    newest_update,
    parse_bbox,
)
from vatsim_pipeline.storage.reads_controllers import active_controllers, active_positions
from vatsim_pipeline.storage.reads_flights import active_flights, flight_stats, flight_track
from vatsim_pipeline.storage.reads_history import (
    FlightSession,
    SectorVisit,
    TimeArgument,
    WindowPage,
    flight_history,
    resolve_window,
    sector_known,
    sector_occupancy,
)
from vatsim_pipeline.storage.reads_patterns import (
    CoverageReport,
    SectorForecast,
    SectorTraffic,
    check_window,
    coverage_report,
    parse_bucket,
    retention_limit,
    sector_forecast,
    sector_traffic,
)
from vatsim_pipeline.storage.reads_sectors import sector_page
from vatsim_pipeline.storage.reads_status import (
    count_rows,
    database_counts,
    last_cleanup,
    newest_snapshot,
)
from vatsim_pipeline.storage.reads_window import narrowed_window
from vatsim_pipeline.storage.schema import controllers, flights

ACTIVITY_WINDOW = timedelta(minutes=2)
STALE_AFTER = timedelta(minutes=5)

__all__ = [
    "ACTIVITY_WINDOW",
    "STALE_AFTER",
    "ActiveController",
    "ActiveFlight",
    "BBox",
    "CoverageReport",
    "DatabaseStats",
    "FlightSession",
    "FlightStats",
    "FlightTrack",
    "HealthReport",
    "InvalidQuery",
    "NotFound",
    "Page",
    "QueryService",
    "SectorForecast",
    "SectorSummary",
    "SectorTraffic",
    "SectorVisit",
    "SnapshotInfo",
    "WindowPage",
    "describe_error",
    "flight_ref",
    "parse_bbox",
]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _now(connection: Connection) -> datetime:
    """The newest stored update; the wall clock while nothing is stored."""
    return newest_update(connection) or datetime.now(UTC)


def _pattern_window(start: datetime, end: datetime, narrow: bool) -> tuple[datetime, datetime]:
    """A pattern query's window: refused when inverted or longer than the retention,
    or, with `narrow` (the HTTP API), narrowed to what can be answered."""
    if narrow:
        return narrowed_window(start, end, retention_limit())
    check_window(start, end, retention_limit())
    return start, end


class QueryService:
    """Answers questions about the recorded network from one engine.

    `activity_window`: a connection last seen this long before the newest snapshot still
    counts as active (a missed feed update must not end every flight).
    `stale_after`: the health check reports "degraded" when the newest snapshot is older.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        activity_window: timedelta = ACTIVITY_WINDOW,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        self.engine = engine
        self.activity_window = activity_window
        self.stale_after = stale_after
        self._lock = threading.Lock()
        self._query_count = 0
        self._query_seconds = 0.0

    @contextmanager
    def _query(self) -> Iterator[Connection]:
        """A read-only connection whose statements all see one snapshot of the database
        (so a page and its total agree), timed and counted as one query served."""
        start = perf_counter()
        try:
            with self.engine.connect() as connection:
                if connection.dialect.name == "postgresql":
                    connection = connection.execution_options(
                        isolation_level="REPEATABLE READ", postgresql_readonly=True
                    )
                with connection.begin():
                    yield connection
        finally:
            elapsed = perf_counter() - start
            with self._lock:
                self._query_count += 1
                self._query_seconds += elapsed

    def query_metrics(self) -> tuple[int, float]:
        """(queries served, their average time in milliseconds)."""
        with self._lock:
            count, seconds = self._query_count, self._query_seconds
        return count, round(seconds * 1000 / count, 3) if count else 0.0

    def get_flight_track(self, flight: int | str) -> FlightTrack:
        """The flight with this id, or the latest connection with this callsign, and its
        positions oldest first; raises `NotFound`."""
        with self._query() as connection:
            return flight_track(connection, flight)

    def get_flight_stats(self, flight: int | str) -> FlightStats:
        """Duration, great-circle distance, altitude and speed figures of one flight;
        raises `NotFound`."""
        with self._query() as connection:
            return flight_stats(connection, flight)

    def get_active_flights(
        self,
        departure: str | None = None,
        arrival: str | None = None,
        bbox: BBox | tuple[float, float, float, float] | None = None,
        sector: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Page[ActiveFlight]:
        """Flights active at the newest snapshot, filtered by planned departure or
        arrival, a (min_lat, min_lon, max_lat, max_lon) box or a stored sector's boundary;
        ordered by callsign; raises `NotFound` for a sector neither stored nor ever visited,
        as `get_sector_occupancy` does."""
        check_page(limit, offset)
        if bbox is not None and not isinstance(bbox, BBox):
            bbox = BBox(*bbox)
        with self._query() as connection:
            if sector is not None and not sector_known(connection, sector):
                raise NotFound(f"sector {sector!r}: not found")
            return active_flights(
                connection,
                active_cutoff(connection, self.activity_window),
                departure=departure,
                arrival=arrival,
                bbox=bbox,
                sector=sector,
                limit=limit,
                offset=offset,
            )

    def get_flight_history(
        self,
        departure: str | None = None,
        arrival: str | None = None,
        since: TimeArgument = None,
        until: TimeArgument = None,
        limit: int = 100,
        offset: int = 0,
    ) -> WindowPage[FlightSession]:
        """Flights seen at some time in since..until (default: the 24 hours before the
        newest snapshot), optionally by planned departure or arrival, newest first.
        `since`/`until`: datetimes, ISO texts, or durations back from the newest snapshot."""
        check_page(limit, offset)
        with self._query() as connection:
            start, end = resolve_window(since, until, _now(connection))
            return flight_history(
                connection,
                start,
                end,
                departure=departure,
                arrival=arrival,
                limit=limit,
                offset=offset,
            )

    def get_sector_occupancy(
        self,
        sector: str,
        since: TimeArgument = None,
        until: TimeArgument = None,
        limit: int = 100,
        offset: int = 0,
    ) -> WindowPage[SectorVisit]:
        """The flights' visits of a sector that overlap since..until (the window of
        `get_flight_history`), newest entry first; raises `NotFound` for a sector neither
        stored nor ever visited."""
        check_page(limit, offset)
        sector = sector.strip()
        with self._query() as connection:
            now = _now(connection)
            start, end = resolve_window(since, until, now)
            if not sector_known(connection, sector):
                raise NotFound(f"sector {sector!r}: not found")
            return sector_occupancy(connection, sector, start, end, now, limit=limit, offset=offset)

    def get_sector_traffic(
        self,
        sector: str,
        since: TimeArgument = None,
        until: TimeArgument = None,
        bucket: str = "15m",
        *,
        narrow: bool = False,
    ) -> SectorTraffic:
        """The sector's load (flights entering, peak and mean inside, its TRACONs and
        sub-sectors included) per `bucket` (15m or 1h) in since..until; raises `NotFound`
        for an unknown sector, `InvalidQuery` for an inverted window or one longer than
        the retention (unless `narrow`: see `narrowed_window`)."""
        parse_bucket(bucket)
        sector = sector.strip()
        with self._query() as connection:
            start, end = resolve_window(since, until, _now(connection))
            start, end = _pattern_window(start, end, narrow)
            if not sector_known(connection, sector):
                raise NotFound(f"sector {sector!r}: not found")
            return sector_traffic(connection, sector, start, end, bucket)

    def get_coverage(
        self,
        since: TimeArgument = None,
        until: TimeArgument = None,
        sector: str | None = None,
        limit: int = 100,
        offset: int = 0,
        *,
        narrow: bool = False,
    ) -> CoverageReport:
        """ATC coverage per sector over the hours in since..until: minutes staffed, flight
        minutes, and the share under ATC; most flown first. One sector when `sector`.
        The window is checked as in `get_sector_traffic`."""
        check_page(limit, offset)
        with self._query() as connection:
            start, end = resolve_window(since, until, _now(connection))
            start, end = _pattern_window(start, end, narrow)
            if sector is not None:
                sector = sector.strip()
                if not sector_known(connection, sector):
                    raise NotFound(f"sector {sector!r}: not found")
            return coverage_report(
                connection, start, end, sector_id=sector, limit=limit, offset=offset
            )

    def get_sector_forecast(self, sector: str) -> SectorForecast:
        """The newest forecast of flights entering the sector in the next two hours, per
        15 minutes with a low/high band; raises `NotFound` for an unknown sector."""
        sector = sector.strip()
        with self._query() as connection:
            if not sector_known(connection, sector):
                raise NotFound(f"sector {sector!r}: not found")
            return sector_forecast(connection, sector)

    def get_active_controllers(self, limit: int = 100, offset: int = 0) -> Page[ActiveController]:
        """Controller and ATIS connections active at the newest snapshot, by callsign."""
        check_page(limit, offset)
        with self._query() as connection:
            return active_controllers(
                connection,
                active_cutoff(connection, self.activity_window),
                limit=limit,
                offset=offset,
            )

    def get_sectors(
        self,
        kind: str | None = None,
        limit: int = 100,
        offset: int = 0,
        with_geometry: bool = False,
    ) -> Page[SectorSummary]:
        """Stored sectors by id, optionally of one kind (fir, uir, tracon, custom), with
        the active controllers staffing each; boundaries only when `with_geometry`."""
        check_page(limit, offset)
        with self._query() as connection:
            positions = active_positions(
                connection, active_cutoff(connection, self.activity_window)
            )
            return sector_page(
                connection,
                positions,
                kind=kind,
                limit=limit,
                offset=offset,
                with_geometry=with_geometry,
            )

    def get_newest_snapshot(self) -> SnapshotInfo | None:
        """The newest stored feed update and its counts; None before the first one."""
        with self._query() as connection:
            return newest_snapshot(connection)

    def get_database_stats(self) -> DatabaseStats:
        """The old database service's statistics; `query_count` and `avg_query_time` (ms)
        cover the queries served before this one."""
        count, average = self.query_metrics()
        with self._query() as connection:
            counts = database_counts(connection, newest_update(connection), self.activity_window)
        return DatabaseStats(
            total_flights=counts.total_flights,
            total_controllers=counts.total_controllers,
            total_sectors=counts.total_sectors,
            total_transceivers=counts.total_transceivers,
            active_flights=counts.active_flights,
            active_controllers=counts.active_controllers,
            recent_flights=counts.recent_flights,
            last_cleanup=_iso(counts.last_cleanup),
            query_count=count,
            avg_query_time=average,
        )

    def health_check(self) -> HealthReport:
        """ "healthy", "degraded" (no snapshot, or the newest is older than `stale_after`)
        or "unhealthy" (the database cannot be reached). Never raises: a health check
        that fails is no health check."""
        count, _ = self.query_metrics()
        try:
            with self._query() as connection:
                flight_count = count_rows(connection, flights)
                controller_count = count_rows(connection, controllers)
                cleanup = last_cleanup(connection)
                newest = newest_update(connection)
        except Exception as error:  # anything at all means the database is not usable
            return HealthReport(
                status="unhealthy",
                database_connected=False,
                flight_count=None,
                controller_count=None,
                last_cleanup=None,
                query_count=count,
                newest_snapshot=None,
                newest_snapshot_age_s=None,
                error=describe_error(error),
            )
        age = None if newest is None else (datetime.now(UTC) - newest).total_seconds()
        stale = age is None or age > self.stale_after.total_seconds()
        return HealthReport(
            status="degraded" if stale else "healthy",
            database_connected=True,
            flight_count=flight_count,
            controller_count=controller_count,
            last_cleanup=_iso(cleanup),
            query_count=count,
            newest_snapshot=_iso(newest),
            newest_snapshot_age_s=None if age is None else round(age, 3),
            error=None,
        )
