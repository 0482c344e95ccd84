"""A jump between two consecutive positions farther than the aircraft could have flown.

dump1090's rule, adapted: the new position must lie within `base` + elapsed x speed x
factor of the previous one, where speed is the larger of the two reported ground speeds
but at least `min_speed` (in a long gap between snapshots an aircraft parked at both
ends may have flown anywhere at airliner speed). The factor covers the simulation rates
(2x, 4x) pilots fly at, which move them at a multiple of their reported speed.
"""

from __future__ import annotations

from vatsim_pipeline.analytics.anomalies.observation import (
    KT_TO_M_S,
    Observation,
    distance_m,
    elapsed_s,
    finite,
    has_position,
)
from vatsim_pipeline.analytics.anomalies.thresholds import Thresholds

M_PER_NM = 1852


def teleport(previous: Observation, current: Observation, thresholds: Thresholds) -> dict | None:
    """The jump's values when it exceeds the allowed distance, else None."""
    if not (has_position(previous) and has_position(current)):
        return None
    elapsed = elapsed_s(previous, current)
    if elapsed <= 0:
        return None
    speeds = [s for s in (previous.groundspeed, current.groundspeed) if finite(s) and s >= 0]
    if not speeds:
        return None
    speed_kt = max(speeds)
    allowed_kt = max(speed_kt * thresholds.teleport_speed_factor, thresholds.teleport_min_speed_kt)
    allowed = thresholds.teleport_base_m + elapsed * allowed_kt * KT_TO_M_S
    distance = distance_m(previous, current)
    if distance <= allowed:
        return None
    return {
        "distance_nm": round(distance / M_PER_NM, 2),
        "allowed_nm": round(allowed / M_PER_NM, 2),
        "elapsed_s": round(elapsed, 3),
        "implied_speed_kt": round(distance / elapsed / KT_TO_M_S, 1),
        "groundspeed_before": previous.groundspeed,
        "groundspeed": current.groundspeed,
        "from": [previous.latitude, previous.longitude],
        "to": [current.latitude, current.longitude],
        "previous_observed_at": previous.observed_at.isoformat(),
    }
