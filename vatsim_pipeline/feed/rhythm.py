"""The daily rhythm of simulated traffic: how busy the network and each airport are at a
given moment, so that simulated history has patterns for forecasts to learn.

The shape follows what VATSIM's own statistics show: the network is quietest around
07 UTC and busiest around 19 UTC (Europe's evening meets America's afternoon), at about
twice the pilots of the quietest hour, with a busier Friday and Saturday. Each airport
follows its own local day: few departures in the small hours, most from morning to
late evening. Both are smooth functions of time, so the same moment always gives the
same value and a seeded simulation stays reproducible.
"""

from __future__ import annotations

import math
from datetime import datetime

QUIETEST_SHARE = 0.45
NETWORK_PEAK_UTC_H = 19.0
LOCAL_PEAK_H = 15.0
LOCAL_NIGHT_SHARE = 0.15
WEEKDAY_FACTOR = (0.92, 0.92, 0.95, 0.97, 1.08, 1.12, 1.04)  # Monday .. Sunday


def _hours(moment: datetime) -> float:
    return moment.hour + moment.minute / 60 + moment.second / 3600


def _wave(hours: float, peak: float) -> float:
    """1 at `peak`, 0 twelve hours away, a cosine between."""
    return 0.5 + 0.5 * math.cos((hours - peak) / 24.0 * 2.0 * math.pi)


def network_share(moment: datetime) -> float:
    """Share (0..1] of the peak pilot population connected at `moment` (UTC)."""
    share = QUIETEST_SHARE + (1.0 - QUIETEST_SHARE) * _wave(_hours(moment), NETWORK_PEAK_UTC_H)
    return min(1.0, share * WEEKDAY_FACTOR[moment.weekday()] / max(WEEKDAY_FACTOR))


def local_activity(longitude: float, moment: datetime) -> float:
    """Relative departure activity (0..1] of an airport at `longitude` at `moment` (UTC),
    from its local solar time: lowest around 03 local, highest mid-afternoon."""
    local = (_hours(moment) + longitude / 15.0) % 24.0
    return LOCAL_NIGHT_SHARE + (1.0 - LOCAL_NIGHT_SHARE) * _wave(local, LOCAL_PEAK_H)
