"""The detectors' thresholds, read from the environment (`VATSIM_ANOMALY_*`).

Each default has a source, given beside it below and in the README's table: dump1090's
rule for accepting a new position, the issue's own figures, and what the recorded real
sequences show (docs/anomalies.md).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

PREFIX = "VATSIM_ANOMALY_"


@dataclass(frozen=True)
class Thresholds:
    """When each detector fires; every value is a positive number."""

    # dump1090: a new airborne position within 500 m + elapsed x speed x 4/3.
    teleport_base_m: float = 500.0
    # dump1090's 4/3 at the 4x simulation rate real pilots fly at (CPA539, 2024-11-22).
    teleport_speed_factor: float = 16 / 3
    # In a gap between snapshots any airliner may have flown at cruise with a tail wind.
    teleport_min_speed_kt: float = 600.0
    # The "beyond what aircraft do"; real sequences peak under 9,000 ft/min.
    altitude_rate_fpm: float = 10_000.0
    # The issue: the same position for 5 minutes while reporting 50 kt or more.
    frozen_s: float = 300.0
    frozen_groundspeed_kt: float = 50.0
    # Position jitter allowed; 50 kt moves 386 m in a 15 s feed period.
    frozen_radius_m: float = 50.0
    # The issue: the update timestamp has not moved for 2 minutes.
    stale_feed_s: float = 120.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Thresholds:
        """Thresholds from `VATSIM_ANOMALY_*`; a bad value raises `ValueError` naming it."""
        env = os.environ if env is None else env
        values = {}
        for field in fields(cls):
            name = variable(field.name)
            text = env.get(name)
            if text is None or not text.strip():
                continue
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"{name}: {text!r} is not a number") from None
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name}: {text!r} must be a positive number")
            values[field.name] = value
        return cls(**values)

    def as_dict(self) -> dict[str, float]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


def variable(name: str) -> str:
    """The environment variable of a threshold field."""
    return PREFIX + name.upper()
