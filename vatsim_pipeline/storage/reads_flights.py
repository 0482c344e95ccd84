"""Flight queries: one flight's track and its statistics, and the flights active now.

A callsign is not an identity (the same callsign is flown many times a day), so a
flight asked for by callsign is the latest connection that used it.

A track covers the flight's days in the database and the days archived to Parquet
(`archived_days`, read through `vatsim_pipeline.archive.reader`) alike: a day archived and
not yet dropped is read once.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import datetime

import shapely
from sqlalchemy import Connection, Row, Select, or_, select

from vatsim_pipeline.storage.archive_log import archived_between
from vatsim_pipeline.storage.archived_positions import archived_flight_rows
from vatsim_pipeline.storage.partitions import utc_day
from vatsim_pipeline.storage.position_runs import positions_between
from vatsim_pipeline.storage.reads_base import (
    IDENTITY_COLUMNS,
    MAX_ID,
    ActiveFlight,
    BBox,
    FlightIdentity,
    FlightStats,
    FlightTrack,
    NotFound,
    Page,
    Position,
    fetch_page,
)
from vatsim_pipeline.storage.schema import flight_positions, flights, sectors

EARTH_RADIUS_NM = 6371.0088 / 1.852
"""Mean Earth radius (IUGG) in nautical miles."""

ACTIVE_COLUMNS = (
    *IDENTITY_COLUMNS,
    flights.c.latitude.label("lat"),
    flights.c.longitude.label("lon"),
    flights.c.altitude,
    flights.c.groundspeed,
    flights.c.heading,
    flights.c.first_seen,
    flights.c.last_seen,
)


def great_circle_nm(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance between two points in nautical miles."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_NM * math.asin(min(1.0, math.sqrt(a)))


def find_flight(connection: Connection, flight: int | str) -> Row:
    """The flight row with this id, or the latest connection flown with this callsign."""
    statement = select(*IDENTITY_COLUMNS, flights.c.first_seen, flights.c.last_seen)
    if isinstance(flight, int):
        # An id beyond a database integer names no row; asking would be a driver error.
        row = None
        if 0 < flight <= MAX_ID:
            row = connection.execute(statement.where(flights.c.id == flight)).first()
        if row is None:
            raise NotFound(f"flight id {flight}: not found")
        return row
    callsign = flight.strip().upper()
    row = connection.execute(
        statement.where(flights.c.callsign == callsign)
        .order_by(flights.c.logon_time.desc(), flights.c.last_seen.desc(), flights.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(f"callsign {callsign!r}: no flight recorded")
    return row


def _identity(row: Row) -> FlightIdentity:
    return FlightIdentity(**{column.name: row._mapping[column.name] for column in IDENTITY_COLUMNS})


TRACK_COLUMNS = ("observed_at", "latitude", "longitude", "altitude", "groundspeed", "heading")


def _archived_positions(connection: Connection, flight: Row) -> list[tuple]:
    """The flight's rows in archived days of its first to last sighting, if any."""
    days = archived_between(
        connection, flight_positions.name, utc_day(flight.first_seen), utc_day(flight.last_seen)
    )
    return archived_flight_rows(connection, days, flight.id, TRACK_COLUMNS) if days else []


def _positions(connection: Connection, flight: Row) -> list[Position]:
    """The flight's positions, oldest first. `observed_at` is bounded by the flight's own
    first and last sighting as literal values (the writes keep every position inside
    them), so that a table partitioned by day on `observed_at` reads only those days."""
    positions = positions_between(flight.first_seen, flight.last_seen)
    statement = (
        select(*(positions.c[name] for name in TRACK_COLUMNS))
        .where(
            positions.c.flight_id == flight.id,
            positions.c.observed_at >= flight.first_seen,
            positions.c.observed_at <= flight.last_seen,
        )
        .order_by(positions.c.observed_at)
    )
    stored = connection.execute(statement).all()
    archived = _archived_positions(connection, flight)
    if not archived:
        return [Position(*row) for row in stored]
    by_time = {row[0]: row for row in archived} | {row[0]: tuple(row) for row in stored}
    return [Position(*by_time[moment]) for moment in sorted(by_time)]


def flight_track(connection: Connection, flight: int | str) -> FlightTrack:
    """The flight and every recorded position of it, oldest first."""
    row = find_flight(connection, flight)
    return FlightTrack(flight=_identity(row), positions=_positions(connection, row))


def flight_stats(connection: Connection, flight: int | str) -> FlightStats:
    """Duration, distance flown and speed and altitude figures of one flight."""
    row = find_flight(connection, flight)
    track = _positions(connection, row)
    distance = sum(
        great_circle_nm(a.lat, a.lon, b.lat, b.lon) for a, b in itertools.pairwise(track)
    )
    altitudes = [p.altitude for p in track if p.altitude is not None]
    speeds = [p.groundspeed for p in track if p.groundspeed is not None]
    return FlightStats(
        flight=_identity(row),
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        duration_s=(row.last_seen - row.first_seen).total_seconds(),
        distance_nm=round(distance, 3),
        max_altitude=max(altitudes, default=None),
        max_groundspeed=max(speeds, default=None),
        avg_groundspeed=round(sum(speeds) / len(speeds), 1) if speeds else None,
        position_count=len(track),
        first_position=track[0] if track else None,
        last_position=track[-1] if track else None,
    )


def _active_statement(
    cutoff: datetime, departure: str | None, arrival: str | None, bbox: BBox | None
) -> Select:
    statement = select(*ACTIVE_COLUMNS).where(
        flights.c.status == "active", flights.c.last_seen >= cutoff
    )
    if departure:
        statement = statement.where(flights.c.departure == departure.strip().upper())
    if arrival:
        statement = statement.where(flights.c.arrival == arrival.strip().upper())
    if bbox is not None:
        statement = statement.where(flights.c.latitude.between(bbox.min_lat, bbox.max_lat))
        if bbox.crosses_antimeridian:
            statement = statement.where(
                or_(flights.c.longitude >= bbox.min_lon, flights.c.longitude <= bbox.max_lon)
            )
        else:
            statement = statement.where(flights.c.longitude.between(bbox.min_lon, bbox.max_lon))
    return statement.order_by(flights.c.callsign, flights.c.id)


def _inside_sector(connection: Connection, statement: Select, sector_id: str) -> list[Row]:
    """Rows of `statement` whose position the sector's boundary covers: a bounding-box
    prefilter in SQL, then the exact test on the stored GeoJSON with shapely."""
    sector = connection.execute(
        select(
            sectors.c.geometry,
            sectors.c.min_lat,
            sectors.c.min_lon,
            sectors.c.max_lat,
            sectors.c.max_lon,
        ).where(sectors.c.id == sector_id)
    ).first()
    if sector is None:
        return []
    if None not in (sector.min_lat, sector.min_lon, sector.max_lat, sector.max_lon):
        statement = statement.where(
            flights.c.latitude.between(sector.min_lat, sector.max_lat),
            flights.c.longitude.between(sector.min_lon, sector.max_lon),
        )
    candidates = connection.execute(statement).all()
    if not candidates:
        return []
    boundary = shapely.from_geojson(sector.geometry)
    shapely.prepare(boundary)
    points = shapely.points([row.lon for row in candidates], [row.lat for row in candidates])
    inside = shapely.covers(boundary, points)
    return [row for row, covered in zip(candidates, inside, strict=True) if covered]


def active_flights(
    connection: Connection,
    cutoff: datetime | None,
    *,
    departure: str | None,
    arrival: str | None,
    bbox: BBox | None,
    sector: str | None,
    limit: int,
    offset: int,
) -> Page[ActiveFlight]:
    """Active flights last seen at or after `cutoff`, filtered, ordered by callsign."""
    if cutoff is None:
        return Page(items=[], total=0, limit=limit, offset=offset)
    statement = _active_statement(cutoff, departure, arrival, bbox)
    rows: Sequence[Row]
    if sector is not None:
        matching = _inside_sector(connection, statement, sector)
        rows, total = matching[offset : offset + limit], len(matching)
    else:
        rows, total = fetch_page(connection, statement, limit, offset)
    return Page(
        items=[ActiveFlight(**row._mapping) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )
