"""Flight summaries: one row per ended flight, from what is stored about it.

- Distance is the great-circle length of the stored track, so missed snapshots shorten it
  by the corners they cut, never add to it.
- Sectors are the flight's occupancy intervals with the seconds in each.
- Controllers tuned are read from the pilot's radios matched, snapshot by snapshot, to the
  controllers' radios (or primary frequency) on the same channel: frequencies are
  compared in kHz (radios are often a few Hz off: 122800010), UNICOM 122.800, 199.998 and
  0 identify nobody, and of several stations on one channel the nearest is heard. The
  time on each is the sum of the gaps between consecutive snapshots tuned, each capped at
  60 s so that a gap in the data does not count as listening.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, or_, select

from vatsim_pipeline.storage.occupancy_writes import chunked
from vatsim_pipeline.storage.position_runs import position_snapshots
from vatsim_pipeline.storage.radio_runs import transceiver_snapshots
from vatsim_pipeline.storage.schema import (
    controllers,
    flight_sector_occupancy,
    flight_summaries,
    flights,
)

EARTH_RADIUS_NM = 3440.065
MAX_TUNED_GAP_S = 60.0
# Frequencies that say nothing about which controller a pilot listens to: none, UNICOM
# and the observers' 199.998 MHz (in kHz).
IGNORED_KHZ = frozenset({0, 122_800, 199_998})


def great_circle_nm(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in nautical miles."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_NM * math.asin(min(1.0, math.sqrt(h)))


def track_distance_nm(points: Sequence[tuple[float, float]]) -> float:
    """Great-circle length of a track given as (lat, lon) in time order."""
    return sum(great_circle_nm(*a, *b) for a, b in pairwise(points))


def frequency_khz(hz: int | None) -> int | None:
    """The channel in kHz (radios are often a few Hz off: 122800010), or None when it
    identifies no controller."""
    if hz is None:
        return None
    khz = round(hz / 1000)
    return None if khz in IGNORED_KHZ else khz


def tuned_seconds(times: Sequence[datetime]) -> float:
    """Time tuned, from the snapshots it was observed in: the gaps between consecutive
    ones, each capped so that a long gap in the data does not count as listening."""
    ordered = sorted(times)
    return sum(min((b - a).total_seconds(), MAX_TUNED_GAP_S) for a, b in pairwise(ordered))


class Radio(NamedTuple):
    """A pilot's receiver at one snapshot: channel in kHz and where it was."""

    khz: int
    latitude: float | None
    longitude: float | None


class Station(NamedTuple):
    """A controller frequency on the air at one snapshot, and where it was."""

    controller_id: int
    callsign: str
    khz: int
    latitude: float | None
    longitude: float | None


def _distance(radio: Radio, station: Station) -> float:
    if None in (radio.latitude, radio.longitude, station.latitude, station.longitude):
        return math.inf
    return great_circle_nm(radio.latitude, radio.longitude, station.latitude, station.longitude)


def tuned_station(radio: Radio, stations: Iterable[Station]) -> Station | None:
    """The station a receiver hears: the nearest on its channel, as frequencies are
    reused around the world (several stations share 118.705 in one snapshot)."""
    on_channel = [s for s in stations if s.khz == radio.khz]
    if not on_channel:
        return None
    return min(on_channel, key=lambda s: (_distance(radio, s), s.callsign, s.controller_id))


def tuned_controllers(
    radios: Mapping[datetime, Iterable[Radio]],
    stations: Mapping[datetime, Sequence[Station]],
) -> list[dict[str, Any]]:
    """[{callsign, controller_id, seconds}] a pilot was tuned to, most time first, from
    the pilot's receivers and the stations on the air, both per snapshot."""
    seen: dict[tuple[int, str], list[datetime]] = defaultdict(list)
    for observed_at, receivers in radios.items():
        on_air = stations.get(observed_at, ())
        heard = {tuned_station(radio, on_air) for radio in receivers}
        for station in heard - {None}:
            seen[(station.controller_id, station.callsign)].append(observed_at)
    found = [
        {"callsign": callsign, "controller_id": cid, "seconds": round(tuned_seconds(times), 3)}
        for (cid, callsign), times in seen.items()
    ]
    return sorted(found, key=lambda c: (-c["seconds"], c["callsign"], c["controller_id"]))


def _positions(connection: Connection, ids: list[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = defaultdict(list)
    rows = connection.execute(
        select(
            position_snapshots.c.flight_id,
            position_snapshots.c.latitude,
            position_snapshots.c.longitude,
            position_snapshots.c.altitude,
        )
        .where(position_snapshots.c.flight_id.in_(ids))
        .order_by(position_snapshots.c.flight_id, position_snapshots.c.observed_at)
    )
    for row in rows:
        found[row.flight_id].append(row)
    return found


def _sectors(connection: Connection, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    occupancy = flight_sector_occupancy
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = connection.execute(
        select(
            occupancy.c.flight_id,
            occupancy.c.sector_id,
            occupancy.c.entered_at,
            occupancy.c.exited_at,
        )
        .where(occupancy.c.flight_id.in_(ids))
        .order_by(occupancy.c.flight_id, occupancy.c.entered_at, occupancy.c.sector_id)
    )
    for row in rows:
        seconds = (row.exited_at - row.entered_at).total_seconds() if row.exited_at else None
        found[row.flight_id].append(
            {
                "sector_id": row.sector_id,
                "entered_at": row.entered_at.isoformat(),
                "exited_at": row.exited_at.isoformat() if row.exited_at else None,
                "seconds": None if seconds is None else round(seconds, 3),
            }
        )
    return found


def _pilot_radios(connection: Connection, ids: list[int]) -> dict[int, dict[datetime, set[Radio]]]:
    radios: dict[int, dict[datetime, set[Radio]]] = defaultdict(lambda: defaultdict(set))
    rows = connection.execute(
        select(
            transceiver_snapshots.c.flight_id,
            transceiver_snapshots.c.observed_at,
            transceiver_snapshots.c.frequency_hz,
            transceiver_snapshots.c.latitude,
            transceiver_snapshots.c.longitude,
        ).where(transceiver_snapshots.c.flight_id.in_(ids))
    )
    for flight_id, observed_at, hz, latitude, longitude in rows:
        if (khz := frequency_khz(hz)) is not None:
            radios[flight_id][observed_at].add(Radio(khz, latitude, longitude))
    return radios


def _stations(
    connection: Connection, times: list[datetime], channels: set[int]
) -> dict[datetime, list[Station]]:
    """Controller frequencies among `channels` on the air at `times`: their radios at that
    snapshot, or, for a controller online without radios in it, the primary frequency at
    the station's position. Observers (facility 0) and ATIS control nothing.

    Radios are read by time alone and their controllers looked up after, because a join
    lets SQLite walk every radio each controller ever had.
    """
    controlling = and_(controllers.c.kind == "controller", controllers.c.facility != 0)
    # Radios within half a kHz of a channel: a superset of what rounds to it.
    hz = transceiver_snapshots.c.frequency_hz
    near_channel = or_(*(hz.between(1000 * k - 500, 1000 * k + 500) for k in channels))
    radios = []
    for chunk in chunked(times):
        radios += connection.execute(
            select(
                transceiver_snapshots.c.observed_at,
                transceiver_snapshots.c.frequency_hz,
                transceiver_snapshots.c.latitude,
                transceiver_snapshots.c.longitude,
                transceiver_snapshots.c.controller_id,
            ).where(
                transceiver_snapshots.c.observed_at.in_(chunk),
                transceiver_snapshots.c.controller_id.is_not(None),
                near_channel,
            )
        ).all()
    callsigns: dict[int, str] = {}
    for chunk in chunked({radio.controller_id for radio in radios}):
        rows = connection.execute(
            select(controllers.c.id, controllers.c.callsign).where(
                controllers.c.id.in_(chunk), controlling
            )
        )
        callsigns.update((controller_id, callsign) for controller_id, callsign in rows)
    on_air: dict[datetime, list[Station]] = defaultdict(list)
    for observed_at, hz, latitude, longitude, controller_id in radios:
        khz = frequency_khz(hz)
        if khz in channels and controller_id in callsigns:
            station = Station(controller_id, callsigns[controller_id], khz, latitude, longitude)
            on_air[observed_at].append(station)
    for t, station in _primary_frequencies(connection, times, channels, controlling):
        on_air[t].append(station)
    return on_air


def _primary_frequencies(
    connection: Connection, times: list[datetime], channels: set[int], controlling
) -> list[tuple[datetime, Station]]:
    """(time, station) of the controllers online at `times` with a primary frequency among
    `channels` but no radio in that snapshot."""
    online = connection.execute(
        select(
            controllers.c.id,
            controllers.c.callsign,
            controllers.c.frequency_hz,
            controllers.c.latitude,
            controllers.c.longitude,
            controllers.c.first_seen,
            controllers.c.last_seen,
        ).where(
            controlling,
            controllers.c.last_seen >= times[0],
            controllers.c.first_seen <= times[-1],
        )
    ).all()
    candidates = {row.id: row for row in online if frequency_khz(row.frequency_hz) in channels}
    if not candidates:
        return []
    with_radios: set[tuple[datetime, int]] = set()
    for chunk in chunked(times):
        with_radios.update(
            connection.execute(
                select(transceiver_snapshots.c.observed_at, transceiver_snapshots.c.controller_id)
                .where(
                    transceiver_snapshots.c.observed_at.in_(chunk),
                    transceiver_snapshots.c.controller_id.in_(list(candidates)),
                )
                .distinct()
            ).tuples()
        )
    return [
        (
            t,
            Station(
                row.id, row.callsign, frequency_khz(row.frequency_hz), row.latitude, row.longitude
            ),
        )
        for row in candidates.values()
        for t in times
        if row.first_seen <= t <= row.last_seen and (t, row.id) not in with_radios
    ]


def _controllers_tuned(connection: Connection, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Per flight, the controllers its pilot was tuned to, with the time on each."""
    radios = _pilot_radios(connection, ids)
    times = sorted({t for by_time in radios.values() for t in by_time})
    if not times:
        return {}
    channels = {r.khz for heard in radios.values() for rs in heard.values() for r in rs}
    stations = _stations(connection, times, channels)
    return {
        flight_id: tuned_controllers(by_time, stations) for flight_id, by_time in radios.items()
    }


def summary_rows(connection: Connection, ids: list[int]) -> list[dict[str, Any]]:
    """The `flight_summaries` rows of ended flights, from their stored data."""
    flight_rows = connection.execute(
        select(
            flights.c.id,
            flights.c.callsign,
            flights.c.cid,
            flights.c.departure,
            flights.c.arrival,
            flights.c.aircraft_short,
            flights.c.first_seen,
            flights.c.ended_at,
        ).where(flights.c.id.in_(ids), flights.c.ended_at.is_not(None))
    ).all()
    positions = _positions(connection, ids)
    sectors = _sectors(connection, ids)
    tuned = _controllers_tuned(connection, ids)
    rows = []
    for f in flight_rows:
        track = positions.get(f.id, [])
        altitudes = [p.altitude for p in track if p.altitude is not None]
        rows.append(
            {
                "flight_id": f.id,
                "callsign": f.callsign,
                "cid": f.cid,
                "departure": f.departure,
                "arrival": f.arrival,
                "aircraft": f.aircraft_short,
                "started_at": f.first_seen,
                "ended_at": f.ended_at,
                "duration_s": (f.ended_at - f.first_seen).total_seconds(),
                "positions": len(track),
                "distance_nm": track_distance_nm([(p.latitude, p.longitude) for p in track]),
                "max_altitude": max(altitudes) if altitudes else None,
                "sectors": json.dumps(sectors.get(f.id, [])),
                "controllers": json.dumps(tuned.get(f.id, [])),
            }
        )
    return rows


def write_summaries(connection: Connection, flight_ids: Iterable[int]) -> int:
    """Store the summaries of ended flights, rewriting only those that differ; returns
    how many rows were written."""
    written = 0
    for chunk in chunked(flight_ids):
        wanted = {row["flight_id"]: row for row in summary_rows(connection, chunk)}
        stored = {
            row.flight_id: dict(row._mapping)
            for row in connection.execute(
                select(flight_summaries).where(flight_summaries.c.flight_id.in_(chunk))
            )
        }
        changed = [row for flight_id, row in wanted.items() if stored.get(flight_id) != row]
        if changed:
            connection.execute(
                flight_summaries.delete().where(
                    flight_summaries.c.flight_id.in_([row["flight_id"] for row in changed])
                )
            )
            connection.execute(flight_summaries.insert(), changed)
        written += len(changed)
    return written
