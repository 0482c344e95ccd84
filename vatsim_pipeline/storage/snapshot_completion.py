"""Is a snapshot finished? Stored (`feed_snapshots`) and located (`sector_assignments`).

A run can fail locating its positions after its one step stored the snapshot (the store
commits on its own, before locating), and later runs locate only their own snapshot's
positions, so "stored" alone would let a snapshot stay unlocated for good; the replay
runs the whole step again, storing idempotently, and locates them. Dead letters list
the unfinished snapshots of failed runs, and run pruning keeps those runs (their replay
needs them); both ask here.
Located means no position of the snapshot lacks a `sector_assignments` run, or no
sectors are stored at all (locating then records nothing: nothing could be located).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, and_, exists, select

from vatsim_pipeline.storage.assignment_runs import covering
from vatsim_pipeline.storage.position_runs import position_snapshots
from vatsim_pipeline.storage.schema import (
    feed_snapshots,
    flights,
    sector_assignments,
    sectors,
)

NOT_STORED = "snapshot not stored"
NOT_LOCATED = "positions not located in sectors"


def unfinished_snapshots(engine: Engine, stamps: Iterable[datetime]) -> dict[datetime, str]:
    """What each of these snapshots still misses, in one query; finished ones are left out."""
    missing = dict.fromkeys(stamps, NOT_STORED)
    if not missing:
        return {}
    stamp = feed_snapshots.c.update_timestamp
    with engine.connect() as connection:
        rows = connection.execute(
            select(stamp, _unlocated(stamp)).where(stamp.in_(list(missing)))
        ).all()
    for stored, unlocated in rows:
        if unlocated:
            missing[stored] = NOT_LOCATED
        else:
            del missing[stored]
    return missing


def _unlocated(t: ColumnElement) -> ColumnElement[bool]:
    """Whether sectors are stored and a position seen at `t` has none assigned.

    Positions are reached as locating reaches them, through the flights seen
    around `t` (index probes, where a filter on `observed_at` alone scans a day of
    positions on PostgreSQL); a position it cannot reach, a replay could not locate.
    """
    position = position_snapshots
    assigned = exists().where(
        covering(sector_assignments, position.c.flight_id, position.c.observed_at)
    )
    lacking = (
        select(flights.c.id)
        .select_from(
            flights.join(
                position, and_(position.c.flight_id == flights.c.id, position.c.observed_at == t)
            )
        )
        .where(flights.c.last_seen >= t, flights.c.first_seen <= t, ~assigned)
    )
    return and_(select(sectors.c.id).exists(), lacking.exists())
