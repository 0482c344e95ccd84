"""One stored position of a connection, as the detectors see it, and the geometry on it."""

from __future__ import annotations

import math
from datetime import datetime
from typing import NamedTuple

EARTH_RADIUS_M = 6_371_008.8
KT_TO_M_S = 1852 / 3600
# Exact classes: `bool` is an `int` subclass and no number here.
_NUMBERS = (int, float)


class Observation(NamedTuple):
    """A connection's position in one snapshot; any value but the time may be missing."""

    observed_at: datetime
    latitude: float | None
    longitude: float | None
    altitude: int | float | None
    groundspeed: int | float | None
    transponder: str | None


def finite(*values: object) -> bool:
    """True when every value is a real, finite number (None, NaN, text and bools are not)."""
    for value in values:
        if value.__class__ not in _NUMBERS or not math.isfinite(value):
            return False
    return True


def has_position(observation: Observation) -> bool:
    return (
        finite(observation.latitude, observation.longitude)
        and -90 <= observation.latitude <= 90
        and -180 <= observation.longitude <= 180
    )


def distance_m(a: Observation, b: Observation) -> float:
    """Great-circle distance (haversine) between two observations with positions."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def elapsed_s(a: Observation, b: Observation) -> float:
    return (b.observed_at - a.observed_at).total_seconds()
