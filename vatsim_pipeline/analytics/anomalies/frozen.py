"""A connection that stays at one point while it reports flying: the sim paused in flight,
or a connection whose position stopped updating. A parked aircraft at 0 kt is not frozen.

A step between two positions is stationary when they lie within `frozen_radius_m` of
each other and both report at least `frozen_groundspeed_kt`. A run of stationary steps
holds the point since its first position; the connection is frozen at every position
once the point has been held for `frozen_s`.
"""

from __future__ import annotations

import math
from datetime import datetime

from vatsim_pipeline.analytics.anomalies.observation import (
    EARTH_RADIUS_M,
    Observation,
    distance_m,
    finite,
    has_position,
)
from vatsim_pipeline.analytics.anomalies.thresholds import Thresholds

M_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180


def stationary(previous: Observation, current: Observation, thresholds: Thresholds) -> bool:
    """Whether the step from `previous` to `current` stayed put while reporting speed."""
    speeds = (previous.groundspeed, current.groundspeed)
    if not finite(*speeds) or min(speeds) < thresholds.frozen_groundspeed_kt:
        return False
    if not (has_position(previous) and has_position(current)):
        return False
    # The latitude difference alone bounds the distance from below: most steps that
    # moved are told without the great circle.
    if abs(current.latitude - previous.latitude) * M_PER_DEGREE > thresholds.frozen_radius_m:
        return False
    return distance_m(previous, current) <= thresholds.frozen_radius_m


def frozen(
    held_since: datetime | None, current: Observation, thresholds: Thresholds
) -> dict | None:
    """The frozen values when the point has been held long enough, else None."""
    if held_since is None:
        return None
    held_s = (current.observed_at - held_since).total_seconds()
    if held_s < thresholds.frozen_s:
        return None
    return {
        "held_since": held_since.isoformat(),
        "held_s": round(held_s, 3),
        "latitude": current.latitude,
        "longitude": current.longitude,
        "altitude": current.altitude,
        "groundspeed": current.groundspeed,
    }
