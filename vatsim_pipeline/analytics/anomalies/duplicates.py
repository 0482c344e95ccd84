"""Two live connections with one callsign (a ghost of a dropped connection, or two people).

The connection that logged on first keeps the callsign; every later one is the duplicate.
The order is `(logon_time, cid)`, which the connection key makes unique per callsign.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple


class Connection(NamedTuple):
    """A live connection in one snapshot."""

    flight_id: int
    callsign: str
    cid: int
    logon_time: datetime


def duplicates(connections: Iterable[Connection]) -> dict[int, dict]:
    """For each duplicate connection (by flight id), the values naming who holds the callsign."""
    by_callsign: dict[str, list[Connection]] = {}
    for connection in connections:
        by_callsign.setdefault(connection.callsign, []).append(connection)
    found: dict[int, dict] = {}
    for callsign, group in by_callsign.items():
        if len(group) < 2:
            continue
        group.sort(key=lambda c: (c.logon_time, c.cid))
        first = group[0]
        for later in group[1:]:
            found[later.flight_id] = {
                "callsign": callsign,
                "connections": len(group),
                "held_by_flight_id": first.flight_id,
                "held_by_cid": first.cid,
                "held_by_logon_time": first.logon_time.isoformat(),
                "logon_time": later.logon_time.isoformat(),
            }
    return found
