"""One parsed snapshot as table rows, shared by both write paths.

Rows are plain tuples in the fixed column orders below, so that the PostgreSQL COPY path
and the SQLAlchemy Core path store exactly the same values and differ only in how.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter

from vatsim_pipeline.feed.models import (
    FLIGHT_PLAN_FIELDS,
    Controller,
    Pilot,
    Prefile,
    Snapshot,
    Transceiver,
)

CONNECTION_KEY = ("cid", "callsign", "logon_time")
PREFILE_KEY = ("cid", "callsign")

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
_PILOT_COLUMNS = (*CONNECTION_KEY, "name", "server", "pilot_rating", "military_rating")
FLIGHT_COLUMNS = (*_PILOT_COLUMNS, *FLIGHT_PLAN_FIELDS, *POSITION_COLUMNS, "last_updated")
_CONTROLLER_COLUMNS = (
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
)
CONTROLLER_COLUMNS = (*_CONTROLLER_COLUMNS, "latitude", "longitude", "last_updated")
PREFILE_COLUMNS = (*PREFILE_KEY, "name", *FLIGHT_PLAN_FIELDS, "last_updated")
RADIO_COLUMNS = (
    "callsign",
    "transceiver_id",
    "frequency_hz",
    "latitude",
    "longitude",
    "height_msl_m",
    "height_agl_m",
)
# A radio's station, as the index of its row in `flights` / `controllers` (or None).
RADIO_LINK_COLUMNS = ("flight_row", "controller_row")
REJECTED_COLUMNS = ("section", "record_index", "callsign", "reason", "record")

_pilot = attrgetter(*_PILOT_COLUMNS)
_position = attrgetter(*POSITION_COLUMNS)
_plan = attrgetter(*FLIGHT_PLAN_FIELDS)
_NO_PLAN = (None,) * len(FLIGHT_PLAN_FIELDS)
_controller = attrgetter(*_CONTROLLER_COLUMNS)
_radio = attrgetter(*RADIO_COLUMNS)
_rejected = attrgetter("section", "index", "callsign", "reason", "raw")


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


def _flight_row(pilot: Pilot) -> tuple:
    plan = _NO_PLAN if pilot.flight_plan is None else _plan(pilot.flight_plan)
    return _pilot(pilot) + plan + _position(pilot) + (pilot.last_updated,)


def _prefile_row(prefile: Prefile) -> tuple:
    return (
        prefile.cid,
        prefile.callsign,
        prefile.name,
        *_plan(prefile.flight_plan),
        prefile.last_updated,
    )


def _controller_row(controller: Controller, radios: dict[str, list[Transceiver]]) -> tuple:
    station = radios.get(controller.callsign)
    position = centre(station) if station else (None, None)
    return _controller(controller) + position + (controller.last_updated,)


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
    transceivers = [
        (*_radio(r), flight_row.get(r.callsign), controller_row.get(r.callsign))
        for r in snapshot.transceivers
    ]
    rejected = [_rejected(r) for r in snapshot.rejected]
    return SnapshotRows(flights, controllers, prefiles, transceivers, rejected)
