"""One parsed snapshot as table rows, shared by both write paths.

Rows are plain tuples in the fixed column orders below, so that the PostgreSQL COPY path
and the SQLAlchemy Core path store exactly the same values and differ only in how.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vatsim_pipeline.feed.models import (
    FLIGHT_PLAN_FIELDS,
    Controller,
    FlightPlan,
    Pilot,
    Prefile,
    Snapshot,
    Transceiver,
)
from vatsim_pipeline.gc_pause import without_gc

# The builders below spell each row out attribute by attribute, in these orders: twice
# as fast as `operator.attrgetter`, which matters at 15,000 pilots.
CONNECTION_KEY = ("cid", "callsign", "logon_time")
PREFILE_KEY = ("cid", "callsign")
PLAN_COLUMNS = FLIGHT_PLAN_FIELDS
POSITION_COLUMNS = (
    "latitude",
    "longitude",
    "altitude",
    "groundspeed",
    "heading",
    "transponder",
    "qnh_i_hg",
    "qnh_mb",
)
FLIGHT_COLUMNS = (
    *CONNECTION_KEY,
    "name",
    "server",
    "pilot_rating",
    "military_rating",
    *PLAN_COLUMNS,
    *POSITION_COLUMNS,
    "last_updated",
)
CONTROLLER_COLUMNS = (
    *CONNECTION_KEY,
    "kind",
    "name",
    "server",
    "frequency",
    "frequency_hz",
    "facility",
    "rating",
    "visual_range",
    "atis_code",
    "text_atis",
    "latitude",
    "longitude",
    "last_updated",
)
PREFILE_COLUMNS = (*PREFILE_KEY, "name", *PLAN_COLUMNS, "last_updated")
RADIO_COLUMNS = (
    "callsign",
    "transceiver_id",
    "frequency_hz",
    "latitude",
    "longitude",
    "height_msl_m",
    "height_agl_m",
    "position_of",
)
# A radio's station, as the index of its row in `flights` / `controllers` (or None).
RADIO_LINK_COLUMNS = ("flight_row", "controller_row")
REJECTED_COLUMNS = ("section", "record_index", "callsign", "reason", "record")

_NO_PLAN = (None,) * len(PLAN_COLUMNS)


@dataclass(frozen=True, slots=True)
class SnapshotRows:
    """The rows of one snapshot, one per natural key, in the column orders above."""

    flights: list[tuple]
    controllers: list[tuple]
    prefiles: list[tuple]
    transceivers: list[tuple]
    """`RADIO_COLUMNS` followed by `RADIO_LINK_COLUMNS`."""
    rejected: list[tuple]


def _one_per_key(rows: Iterable[tuple], width: int) -> list[tuple]:
    """A feed that lists a key twice keeps its last entry (in the first one's place)."""
    return list({row[:width]: row for row in rows}.values())


def centre(radios: list[Transceiver]) -> tuple[float, float]:
    """Mean position of a station's radios on the sphere (safe across the antimeridian)."""
    x = y = z = 0.0
    for radio in radios:
        lat, lon = math.radians(radio.latitude), math.radians(radio.longitude)
        x += math.cos(lat) * math.cos(lon)
        y += math.cos(lat) * math.sin(lon)
        z += math.sin(lat)
    lon = math.degrees(math.atan2(y, x))
    lat = math.degrees(math.atan2(z, math.hypot(x, y)))
    return round(lat, 6), round(lon, 6)


def _plan_row(plan: FlightPlan | None) -> tuple:
    if plan is None:
        return _NO_PLAN
    return (
        plan.flight_rules,
        plan.aircraft,
        plan.aircraft_faa,
        plan.aircraft_short,
        plan.departure,
        plan.arrival,
        plan.alternate,
        plan.cruise_tas,
        plan.planned_altitude,
        plan.deptime,
        plan.enroute_time,
        plan.fuel_time,
        plan.remarks,
        plan.route,
        plan.revision_id,
        plan.assigned_transponder,
    )


def _flight_row(p: Pilot) -> tuple:
    return (
        p.cid,
        p.callsign,
        p.logon_time,
        p.name,
        p.server,
        p.pilot_rating,
        p.military_rating,
        *_plan_row(p.flight_plan),
        p.latitude,
        p.longitude,
        p.altitude,
        p.groundspeed,
        p.heading,
        p.transponder,
        p.qnh_i_hg,
        p.qnh_mb,
        p.last_updated,
    )


def _prefile_row(p: Prefile) -> tuple:
    return (p.cid, p.callsign, p.name, *_plan_row(p.flight_plan), p.last_updated)


def _controller_row(c: Controller, radios: dict[str, list[Transceiver]]) -> tuple:
    station = radios.get(c.callsign)
    latitude, longitude = centre(station) if station else (None, None)
    return (
        c.cid,
        c.callsign,
        c.logon_time,
        c.kind,
        c.name,
        c.server,
        c.frequency,
        c.frequency_hz,
        c.facility,
        c.rating,
        c.visual_range,
        c.atis_code,
        c.text_atis,
        latitude,
        longitude,
        c.last_updated,
    )


def _position(r: Transceiver) -> tuple:
    """A radio's position compared exactly: `repr` tells -0.0 from 0.0 (equal as floats)
    and 50 from 50.0, so a reference never stands for a value that differs."""
    return tuple(map(repr, (r.latitude, r.longitude, r.height_msl_m, r.height_agl_m)))


def positions_of(radios: Sequence[Transceiver]) -> dict[tuple[str, int], int]:
    """(callsign, transceiver_id) -> the lowest `transceiver_id` of the same station at
    exactly the same position, for each radio that has such a lower-numbered twin."""
    lowest: dict[tuple[str, tuple], int] = {}
    for r in radios:
        key = (r.callsign, _position(r))
        if key not in lowest or r.transceiver_id < lowest[key]:
            lowest[key] = r.transceiver_id
    found = {}
    for r in radios:
        owner = lowest[(r.callsign, _position(r))]
        if owner < r.transceiver_id:
            found[(r.callsign, r.transceiver_id)] = owner
    return found


def _radio_row(
    r: Transceiver, position_of: int | None, flight_row: int | None, controller_row: int | None
) -> tuple:
    own = position_of is None
    return (
        r.callsign,
        r.transceiver_id,
        r.frequency_hz,
        r.latitude if own else None,
        r.longitude if own else None,
        r.height_msl_m if own else None,
        r.height_agl_m if own else None,
        position_of,
        flight_row,
        controller_row,
    )


@without_gc
def snapshot_rows(snapshot: Snapshot) -> SnapshotRows:
    """Turn a parsed snapshot into the rows of every table it touches."""
    key = len(CONNECTION_KEY)
    radios: dict[str, list[Transceiver]] = {}
    for radio in snapshot.transceivers:
        radios.setdefault(radio.callsign, []).append(radio)
    flights = _one_per_key(map(_flight_row, snapshot.pilots), key)
    controllers = _one_per_key((_controller_row(c, radios) for c in snapshot.controllers), key)
    prefiles = _one_per_key(map(_prefile_row, snapshot.prefiles), len(PREFILE_KEY))
    # A callsign flown twice in one feed links its radios to the last of those rows.
    flight_row = {row[1]: index for index, row in enumerate(flights)}
    controller_row = {row[1]: index for index, row in enumerate(controllers)}
    twins = positions_of(snapshot.transceivers)
    transceivers = [
        _radio_row(
            r,
            twins.get((r.callsign, r.transceiver_id)),
            flight_row.get(r.callsign),
            controller_row.get(r.callsign),
        )
        for r in snapshot.transceivers
    ]
    rejected = [(r.section, r.index, r.callsign, r.reason, r.raw) for r in snapshot.rejected]
    return SnapshotRows(flights, controllers, prefiles, transceivers, rejected)
