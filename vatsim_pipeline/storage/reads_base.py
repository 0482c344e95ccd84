"""What the query service answers with, the mistakes it reports, and the shared pieces
of its queries: the newest snapshot time, the activity cutoff and pagination.

Results are frozen dataclasses (and two TypedDicts for the reports whose field names
are fixed by the old service), so that the HTTP API can serialise them as they are and
derive its OpenAPI schemas from their type hints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import Connection, Select, func, select
from typing_extensions import TypedDict  # pydantic documents it on Python 3.11

from vatsim_pipeline.storage.schema import feed_snapshots, flights

T = TypeVar("T")

MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000_000
"""Deeper than any table will grow, and far inside every database's and JSON's integers."""
MAX_ID = 2**63 - 1
"""The largest id a database row can have (64-bit signed on both backends)."""
LATITUDE = r"-?(?:90(?:\.0{1,12})?|[1-8]?[0-9](?:\.[0-9]{1,12})?)"
LONGITUDE = r"-?(?:180(?:\.0{1,12})?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\.[0-9]{1,12})?)"
BBOX_PATTERN = rf"^{LATITUDE},{LONGITUDE},{LATITUDE},{LONGITUDE}$"
"""A box as the HTTP API takes it: four decimal numbers in range, no spaces."""


class NotFound(LookupError):
    """The flight (or other object) asked for is not in the database."""


class InvalidQuery(ValueError):
    """A query parameter that cannot be answered; `param` names it for the caller."""

    def __init__(self, param: str, reason: str) -> None:
        super().__init__(f"{param}: {reason}")
        self.param = param
        self.reason = reason


@dataclass(frozen=True)
class BBox:
    """A latitude/longitude box. Latitudes may come in either order; a `min_lon`
    greater than `max_lon` is a box across the antimeridian (e.g. 50,170,60,-170)."""

    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float

    def __post_init__(self) -> None:
        values = (self.min_lat, self.min_lon, self.max_lat, self.max_lon)
        if not all(math.isfinite(v) for v in values):
            raise InvalidQuery("bbox", "coordinates must be finite numbers")
        if not (-90 <= self.min_lat <= 90 and -90 <= self.max_lat <= 90):
            raise InvalidQuery("bbox", "latitudes must lie within -90..90")
        if not (-180 <= self.min_lon <= 180 and -180 <= self.max_lon <= 180):
            raise InvalidQuery("bbox", "longitudes must lie within -180..180")
        if self.min_lat > self.max_lat:
            low, high = self.max_lat, self.min_lat
            object.__setattr__(self, "min_lat", low)
            object.__setattr__(self, "max_lat", high)

    @property
    def crosses_antimeridian(self) -> bool:
        return self.min_lon > self.max_lon


def parse_bbox(text: str) -> BBox:
    """`min_lat,min_lon,max_lat,max_lon` as typed by a user of the API or the CLI."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 4:
        raise InvalidQuery("bbox", f"expected min_lat,min_lon,max_lat,max_lon, got {text!r}")
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        raise InvalidQuery("bbox", f"not four numbers: {text!r}") from None
    return BBox(*numbers)


def flight_ref(text: str) -> int | str:
    """A flight named on the command line or in a URL: all (ASCII) digits is an id, else
    a callsign (VATSIM callsigns always hold a letter)."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else text


def describe_error(error: BaseException) -> str:
    """A database error in one line: the driver's own message when there is one, without
    SQLAlchemy's SQL echo and documentation link."""
    cause = getattr(error, "orig", None) or error
    text = " ".join(str(cause).split())
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


def check_page(limit: int, offset: int) -> None:
    """Refuse pages that are empty by construction or unbounded."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery("limit", f"must be between 1 and {MAX_LIMIT}, got {limit}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidQuery("offset", f"must be between 0 and {MAX_OFFSET}, got {offset}")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One slice of a longer answer, with the total for pagination."""

    items: list[T]
    total: int
    limit: int
    offset: int


def fetch_page(
    connection: Connection, statement: Select, limit: int, offset: int
) -> tuple[list, int]:
    """Rows of one page of `statement` (already ordered) and the total row count."""
    total = connection.execute(
        select(func.count()).select_from(statement.order_by(None).subquery())
    ).scalar_one()
    rows = connection.execute(statement.limit(limit).offset(offset)).all() if total else []
    return rows, total


def newest_update(connection: Connection) -> datetime | None:
    """The newest stored feed update: "now" for every activity window, so that a
    database filled from old recordings answers as it did at the time."""
    return connection.execute(select(func.max(feed_snapshots.c.update_timestamp))).scalar()


def active_cutoff(connection: Connection, window: timedelta) -> datetime | None:
    """Connections last seen at or after this time count as active; None when no
    snapshot is stored yet."""
    newest = newest_update(connection)
    return None if newest is None else newest - window


@dataclass(frozen=True)
class FlightIdentity:
    """Which pilot connection a flight is, with its planned route."""

    id: int
    cid: int
    callsign: str
    logon_time: datetime
    departure: str | None
    arrival: str | None
    aircraft_short: str | None
    status: str


IDENTITY_COLUMNS = (
    flights.c.id,
    flights.c.cid,
    flights.c.callsign,
    flights.c.logon_time,
    flights.c.departure,
    flights.c.arrival,
    flights.c.aircraft_short,
    flights.c.status,
)
"""The `flights` columns of a `FlightIdentity`, in its order."""


@dataclass(slots=True)
class Position:
    """One point of a flight's track (slotted, not frozen: a long track builds thousands,
    and a frozen dataclass's `__init__` costs twice as much per field)."""

    observed_at: datetime
    lat: float
    lon: float
    altitude: int | None
    groundspeed: int | None
    heading: int | None


@dataclass(frozen=True)
class FlightTrack:
    """A flight and its positions, oldest first."""

    flight: FlightIdentity
    positions: list[Position]


@dataclass(frozen=True)
class FlightStats:
    """Summary of one flight's track; distance is the great-circle sum in nautical miles."""

    flight: FlightIdentity
    first_seen: datetime
    last_seen: datetime
    duration_s: float
    distance_nm: float
    max_altitude: int | None
    max_groundspeed: int | None
    avg_groundspeed: float | None
    position_count: int
    first_position: Position | None
    last_position: Position | None


@dataclass(frozen=True)
class ActiveFlight:
    """A flight in the air network now, at its latest position."""

    id: int
    cid: int
    callsign: str
    logon_time: datetime
    departure: str | None
    arrival: str | None
    aircraft_short: str | None
    status: str
    lat: float
    lon: float
    altitude: int | None
    groundspeed: int | None
    heading: int | None
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class ActiveController:
    """A controller or ATIS connection now; the position is the centre of its radios."""

    id: int
    cid: int
    callsign: str
    kind: str
    frequency: str | None
    facility: int | None
    rating: int | None
    atis_code: str | None
    lat: float | None
    lon: float | None
    logon_time: datetime
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class SectorSummary:
    """A sector without its boundary (unless asked for), and who staffs it now."""

    id: str
    name: str | None
    callsign_prefix: str | None
    kind: str
    oceanic: bool
    region: str | None
    division: str | None
    bbox: list[float] | None
    staffed: bool
    staffed_by: list[str]
    geometry: dict | None = None


@dataclass(frozen=True)
class SnapshotInfo:
    """The newest stored feed update and what it held."""

    update_timestamp: datetime
    fetched_at: datetime | None
    stored_at: datetime
    connected_clients: int | None
    pilots: int
    controllers: int
    atis: int
    prefiles: int
    rejected: int


class DatabaseStats(TypedDict):
    """The old database service's statistics, field for field."""

    total_flights: int
    total_controllers: int
    total_sectors: int
    total_transceivers: int
    active_flights: int
    active_controllers: int
    recent_flights: int
    last_cleanup: str | None
    query_count: int
    avg_query_time: float


class HealthReport(TypedDict):
    """The old health check's fields plus the age of the newest snapshot."""

    status: str
    database_connected: bool
    flight_count: int | None
    controller_count: int | None
    last_cleanup: str | None
    query_count: int
    newest_snapshot: str | None
    newest_snapshot_age_s: float | None
    error: str | None
