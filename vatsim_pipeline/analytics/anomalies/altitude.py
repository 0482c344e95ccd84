"""A change of altitude between two consecutive positions faster than aircraft climb or
descend, sustained over the whole time between them."""

from __future__ import annotations

from vatsim_pipeline.analytics.anomalies.observation import Observation, elapsed_s, finite
from vatsim_pipeline.analytics.anomalies.thresholds import Thresholds


def altitude_jump(
    previous: Observation, current: Observation, thresholds: Thresholds
) -> dict | None:
    """The jump's values when the implied vertical rate exceeds the threshold, else None."""
    if not finite(previous.altitude, current.altitude):
        return None
    elapsed = elapsed_s(previous, current)
    if elapsed <= 0:
        return None
    change = current.altitude - previous.altitude
    rate_fpm = abs(change) / elapsed * 60
    if rate_fpm <= thresholds.altitude_rate_fpm:
        return None
    return {
        "altitude_before": previous.altitude,
        "altitude": current.altitude,
        "change_ft": change,
        "elapsed_s": round(elapsed, 3),
        "vertical_rate_fpm": round(rate_fpm),
        "previous_observed_at": previous.observed_at.isoformat(),
    }
