"""Emergency transponder codes: 7700 (emergency), 7600 (radio failure), 7500 (hijack)."""

from __future__ import annotations

from vatsim_pipeline.analytics.anomalies.observation import Observation

SQUAWKS = {
    "7700": "emergency_squawk",
    "7600": "radio_failure_squawk",
    "7500": "hijack_squawk",
}


def squawk(observation: Observation) -> tuple[str, dict] | None:
    """The squawk kind and its values, or None (no transponder, or an ordinary code)."""
    code = observation.transponder
    if not isinstance(code, str):
        return None
    kind = SQUAWKS.get(code.strip())
    if kind is None:
        return None
    return kind, {
        "transponder": code.strip(),
        "latitude": observation.latitude,
        "longitude": observation.longitude,
        "altitude": observation.altitude,
        "groundspeed": observation.groundspeed,
    }
