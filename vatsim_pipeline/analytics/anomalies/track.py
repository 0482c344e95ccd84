"""A connection's track as per-observation flags, and the flags as intervals.

An observation's flags depend only on it and the observations before it (its previous
position, and for `frozen` how long the point has been held), so appending a position
flags only that position, and any order of arrival, rebuilt, gives the same flags.
An interval is a maximal run of consecutive observations flagged with one kind; it
starts at the first and was last seen at the last, and keeps the first one's values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from vatsim_pipeline.analytics.anomalies.altitude import altitude_jump
from vatsim_pipeline.analytics.anomalies.frozen import frozen, stationary
from vatsim_pipeline.analytics.anomalies.observation import Observation
from vatsim_pipeline.analytics.anomalies.squawk import squawk
from vatsim_pipeline.analytics.anomalies.teleport import teleport
from vatsim_pipeline.analytics.anomalies.thresholds import Thresholds

Flags = dict[str, dict]
"""Kind -> the values that triggered it, for one observation."""


class Interval(NamedTuple):
    kind: str
    started_at: datetime
    last_seen_at: datetime
    trigger: dict


def step(
    previous: Observation | None,
    current: Observation,
    held_since: datetime | None,
    duplicate: dict | None,
    thresholds: Thresholds,
) -> tuple[Flags, datetime | None]:
    """The flags of `current`, and since when its point is held (None: it moved).

    `held_since` is the previous observation's (None when it had moved or is the first).
    """
    flags: Flags = {}
    found = squawk(current)
    if found is not None:
        flags[found[0]] = found[1]
    held = None
    if previous is not None:
        jump = teleport(previous, current, thresholds)
        if jump is not None:
            flags["teleport"] = jump
        climb = altitude_jump(previous, current, thresholds)
        if climb is not None:
            flags["altitude_jump"] = climb
        if stationary(previous, current, thresholds):
            held = held_since or previous.observed_at
    still = frozen(held, current, thresholds)
    if still is not None:
        flags["frozen"] = still
    if duplicate is not None:
        flags["duplicate_callsign"] = duplicate
    return flags, held


def track_flags(
    track: Sequence[Observation],
    duplicates_at: Mapping[datetime, dict],
    thresholds: Thresholds,
) -> list[Flags]:
    """Flags of every observation of a track ordered by time."""
    flags: list[Flags] = []
    previous = None
    held = None
    for current in track:
        found, held = step(
            previous, current, held, duplicates_at.get(current.observed_at), thresholds
        )
        flags.append(found)
        previous = current
    return flags


def intervals(track: Sequence[Observation], flags: Sequence[Flags]) -> list[Interval]:
    """Maximal runs of consecutive observations flagged with one kind, by start then kind."""
    found: list[Interval] = []
    open_runs: dict[str, Interval] = {}
    for observation, flagged in zip(track, flags, strict=True):
        for kind in list(open_runs):
            if kind not in flagged:
                found.append(open_runs.pop(kind))
        for kind, trigger in flagged.items():
            run = open_runs.get(kind)
            if run is None:
                open_runs[kind] = Interval(
                    kind, observation.observed_at, observation.observed_at, trigger
                )
            else:
                open_runs[kind] = run._replace(last_seen_at=observation.observed_at)
    found.extend(open_runs.values())
    return sorted(found, key=lambda interval: (interval.started_at, interval.kind))
