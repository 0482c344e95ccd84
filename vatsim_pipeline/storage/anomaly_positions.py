"""Reads of flight positions in the shapes the anomaly detectors need.

The previous state of a connection for a snapshot at `t` is its stored position with the
greatest `observed_at` before `t`, whatever order the snapshots arrived in; `first_seen`
and `last_seen` (written with the positions, in one transaction) say without a query
whether a flight has any position before or after `t`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import NamedTuple, TypeVar

from sqlalchemy import Connection, and_, func, select

from vatsim_pipeline.analytics.anomalies.duplicates import Connection as LiveConnection
from vatsim_pipeline.analytics.anomalies.observation import Observation
from vatsim_pipeline.storage.position_runs import (
    RUN_SPAN,
    neighbours,
    position_snapshots,
    positions_between,
)
from vatsim_pipeline.storage.schema import flight_positions, flights

CHUNK = 500
T = TypeVar("T")
_OBSERVATION_COLUMNS = ("latitude", "longitude", "altitude", "groundspeed", "transponder")


class SnapshotPosition(NamedTuple):
    """A flight seen in one snapshot: its position then and its previous one."""

    connection: LiveConnection
    later: bool
    """Whether the flight has positions after this one (the snapshot came late)."""
    current: Observation
    previous: Observation | None


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def snapshot_positions(connection: Connection, observed_at: datetime) -> list[SnapshotPosition]:
    """Every flight with a position at `observed_at`, with its previous stored position.

    Read from the runs (`position_runs`): the current run holds `observed_at`; the
    previous position is the latest run starting before it, seen last at its own end or
    at the snapshot recorded just before `observed_at`, whichever is earlier (the
    current run itself, when it started before). One index probe per flight each.
    """
    current = flight_positions.alias("current")
    previous = flight_positions.alias("previous")
    earlier = flight_positions.alias("earlier")
    previous_start = (
        select(func.max(earlier.c.observed_at))
        .where(
            earlier.c.flight_id == flights.c.id,
            earlier.c.observed_at < observed_at,
            earlier.c.observed_at >= flights.c.first_seen,
        )
        .scalar_subquery()
    )
    query = (
        select(
            flights.c.id,
            flights.c.callsign,
            flights.c.cid,
            flights.c.logon_time,
            (flights.c.last_seen > observed_at).label("later"),
            *(current.c[name] for name in _OBSERVATION_COLUMNS),
            func.coalesce(previous.c.last_observed_at, previous.c.observed_at).label(
                "previous_end"
            ),
            *(previous.c[name].label(f"previous_{name}") for name in _OBSERVATION_COLUMNS),
        )
        .select_from(
            flights.join(
                current,
                and_(
                    current.c.flight_id == flights.c.id,
                    current.c.observed_at >= observed_at - RUN_SPAN,
                    current.c.observed_at <= observed_at,
                    func.coalesce(current.c.last_observed_at, current.c.observed_at) >= observed_at,
                ),
            ).outerjoin(
                previous,
                and_(
                    previous.c.flight_id == flights.c.id,
                    flights.c.first_seen < observed_at,
                    previous.c.observed_at == previous_start,
                ),
            )
        )
        .where(flights.c.first_seen <= observed_at, flights.c.last_seen >= observed_at)
    )
    recorded_before = neighbours(connection, observed_at).previous
    found = []
    # Unpacked by position: the rows of a snapshot are the hot path of detection (1,500
    # at today's traffic), and named access on a Row costs a lookup per value.
    for (
        flight_id,
        callsign,
        cid,
        logon_time,
        later,
        *now_values,
        previous_end,
        previous_latitude,
        previous_longitude,
        previous_altitude,
        previous_groundspeed,
        previous_transponder,
    ) in connection.execute(query):
        found.append(
            SnapshotPosition(
                LiveConnection(flight_id, callsign, cid, logon_time),
                bool(later),
                Observation(observed_at, *now_values),
                None
                if previous_end is None
                else Observation(
                    min(previous_end, recorded_before),
                    previous_latitude,
                    previous_longitude,
                    previous_altitude,
                    previous_groundspeed,
                    previous_transponder,
                ),
            )
        )
    return found


def flight_tracks(
    connection: Connection, flight_ids: Collection[int]
) -> dict[int, list[Observation]]:
    """The whole stored track of each flight, oldest first."""
    tracks: dict[int, list[Observation]] = {flight_id: [] for flight_id in flight_ids}
    for chunk in chunks(sorted(flight_ids)):
        rows = connection.execute(
            select(
                position_snapshots.c.flight_id,
                position_snapshots.c.observed_at,
                *(position_snapshots.c[name] for name in _OBSERVATION_COLUMNS),
            )
            .where(position_snapshots.c.flight_id.in_(chunk))
            .order_by(position_snapshots.c.flight_id, position_snapshots.c.observed_at)
        )
        for row in rows:
            tracks[row.flight_id].append(Observation(*row[1:]))
    return tracks


def same_callsign_positions(
    connection: Connection, callsigns: Collection[str], since: datetime, until: datetime
) -> dict[str, dict[datetime, list[LiveConnection]]]:
    """Per callsign and time, every connection with that callsign seen then (in the window)."""
    found: dict[str, dict[datetime, list[LiveConnection]]] = {}
    window = positions_between(since, until)
    for chunk in chunks(sorted(callsigns)):
        rows = connection.execute(
            select(
                flights.c.id,
                flights.c.callsign,
                flights.c.cid,
                flights.c.logon_time,
                window.c.observed_at,
            )
            .join(window, window.c.flight_id == flights.c.id)
            .where(
                flights.c.callsign.in_(chunk),
                flights.c.last_seen >= since,
                flights.c.first_seen <= until,
                window.c.observed_at >= since,
                window.c.observed_at <= until,
            )
        )
        for row in rows:
            live = LiveConnection(row.id, row.callsign, row.cid, row.logon_time)
            found.setdefault(row.callsign, {}).setdefault(row.observed_at, []).append(live)
    return found
