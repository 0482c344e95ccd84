"""Typed records of one VATSIM feed snapshot, as the parser hands them to storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

FLIGHT_PLAN_FIELDS = (
    "flight_rules",
    "aircraft",
    "aircraft_faa",
    "aircraft_short",
    "departure",
    "arrival",
    "alternate",
    "cruise_tas",
    "planned_altitude",
    "deptime",
    "enroute_time",
    "fuel_time",
    "remarks",
    "route",
    "revision_id",
    "assigned_transponder",
)


@dataclass(frozen=True, slots=True)
class FlightPlan:
    """A filed flight plan; older feeds lack the last four fields, which stay None."""

    flight_rules: str | None = None
    aircraft: str | None = None
    aircraft_faa: str | None = None
    aircraft_short: str | None = None
    departure: str | None = None
    arrival: str | None = None
    alternate: str | None = None
    cruise_tas: str | None = None
    planned_altitude: str | None = None
    deptime: str | None = None
    enroute_time: str | None = None
    fuel_time: str | None = None
    remarks: str | None = None
    route: str | None = None
    revision_id: int | None = None
    assigned_transponder: str | None = None


@dataclass(frozen=True, slots=True)
class Pilot:
    """One pilot connection as seen in one snapshot."""

    cid: int
    callsign: str
    logon_time: datetime
    name: str | None
    server: str | None
    pilot_rating: int | None
    military_rating: int | None
    latitude: float
    longitude: float
    altitude: int | None
    groundspeed: int | None
    heading: int | None
    transponder: str | None
    qnh_i_hg: float | None
    qnh_mb: int | None
    last_updated: datetime | None
    flight_plan: FlightPlan | None


@dataclass(frozen=True, slots=True)
class Controller:
    """A controller or ATIS connection (`kind` says which) as seen in one snapshot."""

    kind: str
    cid: int
    callsign: str
    logon_time: datetime
    name: str | None
    server: str | None
    frequency: str | None
    frequency_hz: int | None
    facility: int | None
    rating: int | None
    visual_range: int | None
    atis_code: str | None
    text_atis: str | None
    last_updated: datetime | None


@dataclass(frozen=True, slots=True)
class Prefile:
    """A flight plan filed by a user who is not connected yet."""

    cid: int
    callsign: str
    name: str | None
    last_updated: datetime | None
    flight_plan: FlightPlan


@dataclass(frozen=True, slots=True)
class Server:
    """An FSD server listed in the feed."""

    ident: str
    hostname_or_ip: str | None
    location: str | None
    name: str | None
    clients_connection_allowed: bool | None
    is_sweatbox: bool | None


@dataclass(frozen=True, slots=True)
class Transceiver:
    """One radio of one station, from the transceivers feed."""

    callsign: str
    transceiver_id: int
    frequency_hz: int
    latitude: float
    longitude: float
    height_msl_m: float | None
    height_agl_m: float | None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record set aside because it cannot be true, with the reason why."""

    section: str
    index: int
    callsign: str | None
    reason: str
    raw: str


@dataclass(slots=True)
class Snapshot:
    """Everything one feed update holds, parsed once, plus what was set aside."""

    update_timestamp: datetime
    connected_clients: int | None
    pilots: list[Pilot] = field(default_factory=list)
    controllers: list[Controller] = field(default_factory=list)
    prefiles: list[Prefile] = field(default_factory=list)
    servers: list[Server] = field(default_factory=list)
    transceivers: list[Transceiver] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    transceiver_stations: int = 0

    def counts(self) -> dict[str, int]:
        """Record counts by kind, as stored in `feed_snapshots` and shown in metadata."""
        atis = sum(1 for c in self.controllers if c.kind == "atis")
        return {
            "pilots": len(self.pilots),
            "controllers": len(self.controllers) - atis,
            "atis": atis,
            "prefiles": len(self.prefiles),
            "servers": len(self.servers),
            "transceiver_stations": self.transceiver_stations,
            "transceivers": len(self.transceivers),
            "rejected": len(self.rejected),
        }
