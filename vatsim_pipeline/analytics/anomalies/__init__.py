"""Anomaly detectors: one module per concern, plain functions over observations.

Every detector looks at one connection's observation and the one before it (its
previous stored position, whatever order snapshots arrived in), or at one snapshot, and
returns the values that triggered it, or None when nothing is wrong or the record lacks
what the check needs (no transponder, NaN altitude): a check is skipped, never raised.
`track` turns a connection's whole track into per-observation flags and intervals.
"""

KINDS = (
    "emergency_squawk",
    "radio_failure_squawk",
    "hijack_squawk",
    "teleport",
    "frozen",
    "duplicate_callsign",
    "altitude_jump",
    "stale_feed",
)
SQUAWK_KINDS = ("emergency_squawk", "radio_failure_squawk", "hijack_squawk")
# What the traffic-pattern analytics may leave out: positions that are not where the
# aircraft really was, and speeds that are not what it really flew.
POSITION_KINDS = ("teleport", "frozen")
