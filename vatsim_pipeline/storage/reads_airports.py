"""Queries of the airport patterns: an airport's departures and arrivals per bucket, the
movements themselves, and the busiest city pairs.

Windows follow `reads_history` (ISO times or durations back from the newest update,
the 24 hours up to it by default). An inverted window, or one longer than the
positions' retention (the patterns are built from positions, so nothing older can be
rebuilt or checked), is refused with the reason; a window without data is an empty
series, never an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, Engine, func, select

from vatsim_pipeline.analytics.forecast_frame import bucket_starts
from vatsim_pipeline.storage.airport_storage import airport_known
from vatsim_pipeline.storage.pattern_tables import traffic_forecasts
from vatsim_pipeline.storage.reads_base import (
    InvalidQuery,
    NotFound,
    check_page,
    fetch_page,
    newest_update,
)
from vatsim_pipeline.storage.reads_history import TimeArgument, WindowPage, resolve_window
from vatsim_pipeline.storage.reads_patterns import ForecastBucket
from vatsim_pipeline.storage.reads_window import narrowed_window
from vatsim_pipeline.storage.schema import flights
from vatsim_pipeline.storage.traffic_schema import airport_movements, airport_traffic, route_flights

BUCKETS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1)}
KINDS = ("departure", "arrival")
RETENTION_VARIABLE = "VATSIM_TABLE_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 30
MAX_ROUTES = 1000


@dataclass(frozen=True)
class AirportBucket:
    """An airport's departures and arrivals in one bucket."""

    bucket_start: datetime
    departures: int
    arrivals: int


@dataclass(frozen=True)
class AirportTraffic:
    """An airport's traffic over a window, every bucket listed (zeros included)."""

    airport: str
    bucket: str
    since: datetime
    until: datetime
    departures: int
    arrivals: int
    items: list[AirportBucket]


@dataclass(frozen=True)
class Movement:
    """A takeoff (departure) or landing (arrival) of a flight at an airport."""

    flight_id: int
    callsign: str
    cid: int
    kind: str
    moved_at: datetime
    airport: str
    distance_nm: float
    departure: str | None
    arrival: str | None
    aircraft_short: str | None


@dataclass(frozen=True)
class RouteCount:
    """A city pair and the flights that took off on it in the window."""

    departure: str
    arrival: str
    flights: int


@dataclass(frozen=True)
class AirportForecast:
    """The newest forecast of an airport: every bucket of the two hours from the issue
    time (zeros included); no buckets before the first forecast."""

    airport: str
    issued_at: datetime | None
    departures: list[ForecastBucket]
    arrivals: list[ForecastBucket]


@dataclass(frozen=True)
class TopRoutes:
    since: datetime
    until: datetime
    limit: int
    items: list[RouteCount]


def retention_limit(env: dict[str, str] | None = None) -> timedelta | None:
    """The longest window answered: the positions' retention (`VATSIM_TABLE_RETENTION_DAYS`,
    30 days; None when they are kept whole)."""
    value = ((env if env is not None else os.environ).get(RETENTION_VARIABLE) or "").strip()
    if value.lower() == "keep":
        return None
    try:
        return timedelta(days=int(value or DEFAULT_RETENTION_DAYS))
    except ValueError:
        return timedelta(days=DEFAULT_RETENTION_DAYS)


def pattern_window(
    connection: Connection,
    since: TimeArgument,
    until: TimeArgument,
    limit: timedelta | None,
    narrow: bool = False,
) -> tuple[datetime, datetime]:
    """since..until resolved against the newest update; `InvalidQuery` when it is
    inverted, empty or longer than `limit`. With `narrow` (the HTTP API, whose schema
    cannot state these rules) an inverted window is the empty one at `until` and a long
    one starts `limit` before `until` instead."""
    now = newest_update(connection) or datetime.now(UTC)
    start, end = resolve_window(since, until, now)
    if narrow:
        return narrowed_window(start, end, limit)
    if start >= end:
        raise InvalidQuery(
            "since", f"must be before until ({start.isoformat()} >= {end.isoformat()})"
        )
    if limit is not None and end - start > limit:
        raise InvalidQuery(
            "since",
            f"the window {start.isoformat()}..{end.isoformat()} is longer than the "
            f"retention of {limit.days} days ({RETENTION_VARIABLE})",
        )
    return start, end


def _known_airport(connection: Connection, icao: str) -> str:
    code = icao.strip().upper()
    if not airport_known(connection, code):
        raise NotFound(f"airport {code!r}: not found")
    return code


def _bucket(text: str) -> timedelta:
    try:
        return BUCKETS[text.strip().lower()]
    except KeyError:
        raise InvalidQuery("bucket", f"must be 15m or 1h, got {text!r}") from None


def _floor(moment: datetime, width: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + (moment - epoch) // width * width


def airport_traffic_series(
    connection: Connection, icao: str, start: datetime, end: datetime, bucket: str = "15m"
) -> AirportTraffic:
    """Departures and arrivals of the airport per bucket whose start lies in start..end,
    oldest first, zeros included; an hour is the sum of its quarters."""
    width = _bucket(bucket)
    code = _known_airport(connection, icao)
    first = _floor(start, width)
    if first < start:
        first += width
    t = airport_traffic.c
    rows = connection.execute(
        select(t.bucket_start, t.departures, t.arrivals).where(
            t.airport == code, t.bucket_start >= first, t.bucket_start < end
        )
    ).all()
    counts: dict[datetime, list[int]] = {}
    for row in rows:
        slot = counts.setdefault(_floor(row.bucket_start, width), [0, 0])
        slot[0] += row.departures
        slot[1] += row.arrivals
    items, moment = [], first
    while moment < end:
        departures, arrivals = counts.get(moment, (0, 0))
        items.append(AirportBucket(moment, departures, arrivals))
        moment += width
    return AirportTraffic(
        airport=code,
        bucket=bucket.strip().lower(),
        since=start,
        until=end,
        departures=sum(i.departures for i in items),
        arrivals=sum(i.arrivals for i in items),
        items=items,
    )


def movements_page(
    connection: Connection,
    start: datetime,
    end: datetime,
    *,
    airport: str | None,
    kind: str | None,
    limit: int,
    offset: int,
) -> WindowPage[Movement]:
    """Movements in start..end, newest first, optionally at one airport and of one kind."""
    m = airport_movements.c
    statement = (
        select(
            m.flight_id,
            flights.c.callsign,
            flights.c.cid,
            m.kind,
            m.moved_at,
            m.airport,
            m.distance_nm,
            flights.c.departure,
            flights.c.arrival,
            flights.c.aircraft_short,
        )
        .join(flights, flights.c.id == m.flight_id)
        .where(m.moved_at >= start, m.moved_at < end)
    )
    if airport is not None:
        statement = statement.where(m.airport == _known_airport(connection, airport))
    if kind is not None:
        if kind not in KINDS:
            raise InvalidQuery("kind", f"must be departure or arrival, got {kind!r}")
        statement = statement.where(m.kind == kind)
    statement = statement.order_by(m.moved_at.desc(), m.flight_id.desc(), m.kind)
    rows, total = fetch_page(connection, statement, limit, offset)
    return WindowPage(
        items=[Movement(**row._mapping) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
        since=start,
        until=end,
    )


def airport_forecast(connection: Connection, icao: str) -> AirportForecast:
    """The newest stored forecast of the airport's departures and arrivals."""
    code = _known_airport(connection, icao)
    f = traffic_forecasts.c
    issued = connection.execute(
        select(func.max(f.issued_at)).where(f.target_kind == "airport")
    ).scalar()
    if issued is None:
        return AirportForecast(code, None, [], [])
    rows = connection.execute(
        select(f.metric, f.bucket_start, f.expected, f.low, f.high).where(
            f.target_kind == "airport", f.target_id == code
        )
    ).all()
    stored = {(row.metric, row.bucket_start): row for row in rows}
    starts = [start.to_pydatetime() for start in bucket_starts(pd.Timestamp(issued))]

    def series(metric: str) -> list[ForecastBucket]:
        found = (stored.get((metric, start)) for start in starts)
        return [
            ForecastBucket(start, row.expected, row.low, row.high)
            if row is not None
            else ForecastBucket(start, 0.0, 0.0, 0.0)
            for start, row in zip(starts, found, strict=True)
        ]

    return AirportForecast(code, issued, series("departures"), series("arrivals"))


def top_routes(connection: Connection, start: datetime, end: datetime, limit: int) -> TopRoutes:
    """The city pairs with the most takeoffs in the hours that overlap start..end, most
    flown first (ties by airports)."""
    if not 1 <= limit <= MAX_ROUTES:
        raise InvalidQuery("limit", f"must be between 1 and {MAX_ROUTES}, got {limit}")
    r = route_flights.c
    total = func.sum(r.flights).label("flights")
    rows = connection.execute(
        select(r.departure, r.arrival, total)
        .where(r.hour_start >= _floor(start, timedelta(hours=1)), r.hour_start < end)
        .group_by(r.departure, r.arrival)
        .order_by(total.desc(), r.departure, r.arrival)
        .limit(limit)
    ).all()
    return TopRoutes(
        since=start,
        until=end,
        limit=limit,
        items=[RouteCount(row.departure, row.arrival, int(row.flights)) for row in rows],
    )


class AirportQueries:
    """The airport pattern queries over one engine, for the CLI and the HTTP API: plain
    arguments in (texts as a user gives them), dataclasses out."""

    def __init__(
        self, engine: Engine, max_window: timedelta | None, *, narrow: bool = False
    ) -> None:
        self.engine = engine
        self.max_window = max_window
        self.narrow = narrow

    def traffic(
        self, icao: str, since: TimeArgument = None, until: TimeArgument = None, bucket: str = "15m"
    ) -> AirportTraffic:
        with self.engine.connect() as connection:
            start, end = pattern_window(connection, since, until, self.max_window, self.narrow)
            return airport_traffic_series(connection, icao, start, end, bucket)

    def movements(
        self,
        airport: str | None = None,
        since: TimeArgument = None,
        until: TimeArgument = None,
        kind: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> WindowPage[Movement]:
        check_page(limit, offset)
        with self.engine.connect() as connection:
            start, end = pattern_window(connection, since, until, self.max_window, self.narrow)
            return movements_page(
                connection, start, end, airport=airport, kind=kind, limit=limit, offset=offset
            )

    def forecast(self, icao: str) -> AirportForecast:
        with self.engine.connect() as connection:
            return airport_forecast(connection, icao)

    def routes(
        self, since: TimeArgument = None, until: TimeArgument = None, limit: int = 10
    ) -> TopRoutes:
        with self.engine.connect() as connection:
            start, end = pattern_window(connection, since, until, self.max_window, self.narrow)
            return top_routes(connection, start, end, limit)
