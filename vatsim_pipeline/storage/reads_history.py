"""History queries over a time window: the flights by departure or arrival airport whose
session overlapped it, and the visits of one sector that overlapped it.

A window is `since`..`until`, each an ISO time (UTC when it names no zone) or a duration
back from "now" (`90m`, `24h`, `7d`), the syntax of `vatsim-pipeline report --since`.
"Now" is the newest stored feed update, as everywhere in the query service, so that a
database filled from old recordings answers `--since 2h` as it would have at the time.
Both queries are overlaps of two intervals; each side is one indexed range (see the
indexes of `flights` and `flight_sector_occupancy` in `schema.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import Connection, exists, or_, select

from vatsim_pipeline.storage.reads_base import (
    IDENTITY_COLUMNS,
    FlightIdentity,
    InvalidQuery,
    fetch_page,
)
from vatsim_pipeline.storage.reads_window import parse_moment, shifted
from vatsim_pipeline.storage.schema import flight_sector_occupancy, flights, sectors

T = TypeVar("T")

DEFAULT_WINDOW = timedelta(hours=24)
OCCUPANCY = flight_sector_occupancy


@dataclass(frozen=True)
class WindowPage(Generic[T]):
    """One slice of the answer for a time window, with the window as it was understood."""

    items: list[T]
    total: int
    limit: int
    offset: int
    since: datetime
    until: datetime


@dataclass(frozen=True)
class FlightSession(FlightIdentity):
    """A pilot connection and the time it was seen, from first to last position."""

    first_seen: datetime
    last_seen: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class SectorVisit:
    """A flight's stay in one sector; `exited_at` is null while it is still inside."""

    flight_id: int
    callsign: str
    cid: int
    departure: str | None
    arrival: str | None
    aircraft_short: str | None
    sector_id: str
    entered_at: datetime
    exited_at: datetime | None
    entry_lat: float
    entry_lon: float
    entry_altitude: int | None
    exit_lat: float | None
    exit_lon: float | None
    exit_altitude: int | None


TimeArgument = datetime | str | None


def parse_time(param: str, value: datetime | str, now: datetime) -> datetime:
    """An aware UTC time from a datetime, a `TIME_PATTERN` text or a duration before
    `now`; a time beyond what a datetime holds is clamped to the first or last one."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return parse_moment(value, now)
    except ValueError as error:
        raise InvalidQuery(param, str(error)) from None


def resolve_window(
    since: TimeArgument, until: TimeArgument, now: datetime
) -> tuple[datetime, datetime]:
    """`until` defaults to now and `since` to 24 hours before `until`. A `since` after
    `until` is an empty window, answered with no rows (not a mistake the schema of the
    HTTP API could state)."""
    end = now if until is None else parse_time("until", until, now)
    start = shifted(end, -DEFAULT_WINDOW) if since is None else parse_time("since", since, now)
    return start, end


def _airport(text: str | None) -> str | None:
    return text.strip().upper() if text and text.strip() else None


def flight_history(
    connection: Connection,
    since: datetime,
    until: datetime,
    *,
    departure: str | None,
    arrival: str | None,
    limit: int,
    offset: int,
) -> WindowPage[FlightSession]:
    """Flights seen at some time within since..until, optionally from or to an airport,
    newest first (by first position)."""
    if since > until:
        return WindowPage(items=[], total=0, limit=limit, offset=offset, since=since, until=until)
    statement = select(
        *IDENTITY_COLUMNS,
        flights.c.first_seen,
        flights.c.last_seen,
        flights.c.ended_at,
    ).where(flights.c.first_seen <= until, flights.c.last_seen >= since)
    if (code := _airport(departure)) is not None:
        statement = statement.where(flights.c.departure == code)
    if (code := _airport(arrival)) is not None:
        statement = statement.where(flights.c.arrival == code)
    statement = statement.order_by(flights.c.first_seen.desc(), flights.c.id.desc())
    rows, total = fetch_page(connection, statement, limit, offset)
    return WindowPage(
        items=[FlightSession(**row._mapping) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
        since=since,
        until=until,
    )


def sector_known(connection: Connection, sector_id: str) -> bool:
    """Whether the sector is stored, or was once (some flight visited it)."""
    stored = exists().where(sectors.c.id == sector_id)
    visited = exists().where(OCCUPANCY.c.sector_id == sector_id)
    return bool(connection.execute(select(or_(stored, visited))).scalar())


def sector_occupancy(
    connection: Connection,
    sector_id: str,
    since: datetime,
    until: datetime,
    now: datetime,
    *,
    limit: int,
    offset: int,
) -> WindowPage[SectorVisit]:
    """Visits of the sector that overlap since..until, newest entry first. A flight still
    inside stays until `now`, the newest stored update."""
    if since > until:
        return WindowPage(items=[], total=0, limit=limit, offset=offset, since=since, until=until)
    left = OCCUPANCY.c.exited_at >= since
    if now >= since:
        left = or_(left, OCCUPANCY.c.exited_at.is_(None))
    statement = (
        select(
            OCCUPANCY.c.flight_id,
            flights.c.callsign,
            flights.c.cid,
            flights.c.departure,
            flights.c.arrival,
            flights.c.aircraft_short,
            OCCUPANCY.c.sector_id,
            OCCUPANCY.c.entered_at,
            OCCUPANCY.c.exited_at,
            OCCUPANCY.c.entry_latitude.label("entry_lat"),
            OCCUPANCY.c.entry_longitude.label("entry_lon"),
            OCCUPANCY.c.entry_altitude,
            OCCUPANCY.c.exit_latitude.label("exit_lat"),
            OCCUPANCY.c.exit_longitude.label("exit_lon"),
            OCCUPANCY.c.exit_altitude,
        )
        .join(flights, flights.c.id == OCCUPANCY.c.flight_id)
        .where(OCCUPANCY.c.sector_id == sector_id, OCCUPANCY.c.entered_at <= until, left)
        .order_by(OCCUPANCY.c.entered_at.desc(), OCCUPANCY.c.id.desc())
    )
    rows, total = fetch_page(connection, statement, limit, offset)
    return WindowPage(
        items=[SectorVisit(**row._mapping) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
        since=since,
        until=until,
    )
