"""Sector occupancy of one flight: the intervals its positions spent in each sector.

Intervals are a function of the flight's stored track alone (each position with the most
specific sector covering it), never of the order in which snapshots arrived: that is what
lets a restart, a gap or a replayed snapshot end in the same intervals as an
uninterrupted run.

- Consecutive positions in the same sector form one interval. `entered_at` is the first
  position's time, and the entry point is that position.
- `exited_at` is the time of the first position after the interval (in another sector or
  in none: a position no sector covers closes the interval), and the exit point is that
  position, where the flight was seen outside.
- The interval holding the flight's last position has no exit while the flight is active
  (it is still inside); once the flight has ended it exits at that last position.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from operator import attrgetter
from typing import NamedTuple


class Observation(NamedTuple):
    """One stored position of a flight and the sector located for it (None: no sector)."""

    observed_at: datetime
    sector_id: str | None
    latitude: float
    longitude: float
    altitude: int | None


class Interval(NamedTuple):
    """One stay of a flight in one sector; the exit fields are None while inside."""

    sector_id: str
    entered_at: datetime
    exited_at: datetime | None
    entry_latitude: float
    entry_longitude: float
    entry_altitude: int | None
    exit_latitude: float | None
    exit_longitude: float | None
    exit_altitude: int | None


def _interval(entry: Observation, exit_: Observation | None) -> Interval:
    if exit_ is None:
        return Interval(
            entry.sector_id,
            entry.observed_at,
            None,
            entry.latitude,
            entry.longitude,
            entry.altitude,
            None,
            None,
            None,
        )
    return Interval(
        entry.sector_id,
        entry.observed_at,
        exit_.observed_at,
        entry.latitude,
        entry.longitude,
        entry.altitude,
        exit_.latitude,
        exit_.longitude,
        exit_.altitude,
    )


def intervals(track: Sequence[Observation], active: bool) -> list[Interval]:
    """The occupancy intervals of one flight's track (in any order), oldest first."""
    ordered = sorted(track, key=attrgetter("observed_at"))
    found: list[Interval] = []
    entry: Observation | None = None
    for observation in ordered:
        if entry is not None and observation.sector_id != entry.sector_id:
            found.append(_interval(entry, observation))
            entry = None
        if entry is None and observation.sector_id is not None:
            entry = observation
    if entry is not None:
        found.append(_interval(entry, None if active else ordered[-1]))
    return found


def append_changes_nothing(
    previous_sector: str | None,
    new_sector: str | None,
    *,
    has_previous: bool,
    has_next: bool,
    active: bool,
) -> bool:
    """Whether a position added after the flight's last one leaves its intervals as they
    are, so that the common case (one more position in the same sector) costs no rebuild.

    True only when provably so: the new position continues the open interval of an active
    flight, or follows a position that no sector covered without entering a sector.
    """
    if has_next or not has_previous:
        return False
    if new_sector is None:
        return previous_sector is None
    return active and new_sector == previous_sector
