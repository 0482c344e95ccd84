"""Asset checks on the stored tables. Each reads a handful of indexed rows (milliseconds);
what they cost is a Dagster step each, so they run every minute in the session lifecycle
job rather than in every ingest run (where a job selecting their assets would include
them unless it says `.without_checks()`). A database that cannot answer fails a check
with a WARN naming the error; it never fails the run the check is part of.

- `flights`: every pilot of the newest snapshot has its position; every recent flight's
  track starts at its `first_seen` and ends at its `last_seen` (the writes store both in
  one transaction, so a difference means lost, moved or foreign positions).
- `flight_sector_occupancy`: every position of the newest snapshot has its sector.
- `landed_snapshot`: the newest stored snapshot is under a minute old, checked only while
  the feed sensor is running (a stopped sensor means nobody expects fresh data).
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    asset_check,
)
from sqlalchemy import Connection, and_, func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from vatsim_pipeline.defs.resources import DatabaseResource
from vatsim_pipeline.storage.schema import (
    feed_snapshots,
    flight_positions,
    flights,
    sector_assignments,
)

TRACK_LOOKBACK = timedelta(hours=1)
MAX_SNAPSHOT_AGE_S = 60.0
SENSOR = "vatsim_feed_sensor"
# A sensor whose last tick is older than this is not running, whatever its status says
# (the daemon is down).
SENSOR_TICK_MAX_AGE_S = 120.0
EXAMPLES = 5
RUNNING_STATUSES = ("RUNNING", "DECLARED_IN_CODE")
MAX_REASON = 200


NOTHING_STORED = AssetCheckResult(passed=True, description="no snapshot stored yet")


def _queried(
    database: DatabaseResource, check: Callable[[Connection], AssetCheckResult]
) -> AssetCheckResult:
    """The check's result, or a failed one (WARN) naming the error when the database
    cannot answer: a check reports, it never fails the run it is part of."""
    try:
        with database.engine().connect() as connection:
            return check(connection)
    except SQLAlchemyError as error:
        reason = " ".join(str(error.orig if hasattr(error, "orig") else error).split())
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.WARN,
            description=f"could not query the database: {reason[:MAX_REASON]}",
            metadata={"error": type(error).__name__},
        )


def _newest(connection: Connection) -> tuple[datetime | None, int | None]:
    row = connection.execute(
        select(feed_snapshots.c.update_timestamp, feed_snapshots.c.pilots)
        .order_by(feed_snapshots.c.update_timestamp.desc())
        .limit(1)
    ).first()
    return (row.update_timestamp, row.pilots) if row else (None, None)


def _positions_at(observed_at: datetime):
    """Positions stored at `observed_at`, found through the flights seen then (indexed)."""
    return (
        select(flight_positions.c.flight_id)
        .join(flights, flights.c.id == flight_positions.c.flight_id)
        .where(
            flights.c.last_seen >= observed_at,
            flights.c.first_seen <= observed_at,
            flight_positions.c.observed_at == observed_at,
        )
    )


@asset_check(
    asset="flights",
    description="Every pilot of the newest stored snapshot has its row in flight_positions.",
)
def newest_snapshot_positions_complete(database: DatabaseResource) -> AssetCheckResult:
    return _queried(database, _positions_complete)


def _positions_complete(connection: Connection) -> AssetCheckResult:
    newest, pilots = _newest(connection)
    if newest is None:
        return NOTHING_STORED
    stored = connection.scalar(select(func.count()).select_from(_positions_at(newest).subquery()))
    return AssetCheckResult(
        passed=stored == pilots,
        severity=AssetCheckSeverity.ERROR,
        description=f"{stored} positions for {pilots} pilots at {newest.isoformat()}",
        metadata={"snapshot": newest.isoformat(), "pilots": pilots, "positions": stored},
    )


@asset_check(
    asset="flights",
    description="Every flight seen in the last hour has its first position at first_seen "
    "and its last at last_seen: none missing, none outside the session.",
)
def tracks_match_sessions(database: DatabaseResource) -> AssetCheckResult:
    return _queried(database, _tracks_match)


def _tracks_match(connection: Connection) -> AssetCheckResult:
    first = (
        select(func.min(flight_positions.c.observed_at))
        .where(flight_positions.c.flight_id == flights.c.id)
        .scalar_subquery()
    )
    last = (
        select(func.max(flight_positions.c.observed_at))
        .where(flight_positions.c.flight_id == flights.c.id)
        .scalar_subquery()
    )
    newest, _ = _newest(connection)
    if newest is None:
        return NOTHING_STORED
    since = newest - TRACK_LOOKBACK
    recent = flights.c.last_seen >= since
    checked = connection.scalar(select(func.count()).select_from(flights).where(recent))
    bad = connection.execute(
        select(flights.c.id, flights.c.callsign, first.label("first"), last.label("last"))
        .where(
            recent,
            or_(first.is_(None), first != flights.c.first_seen, last != flights.c.last_seen),
        )
        .order_by(flights.c.id)
    ).all()
    return AssetCheckResult(
        passed=not bad,
        severity=AssetCheckSeverity.ERROR,
        description=f"{len(bad)} of {checked} flights seen since {since.isoformat()} have "
        "positions that do not match first_seen/last_seen",
        metadata={
            "flights_checked": checked,
            "flights_mismatched": len(bad),
            "examples": ", ".join(f"{row.callsign} (id {row.id})" for row in bad[:EXAMPLES]),
        },
    )


@asset_check(
    asset="flight_sector_occupancy",
    description="Every position of the newest stored snapshot has its sector assignment "
    "(a missed occupancy step leaves positions unassigned).",
)
def newest_snapshot_positions_located(database: DatabaseResource) -> AssetCheckResult:
    return _queried(database, _positions_located)


def _positions_located(connection: Connection) -> AssetCheckResult:
    newest, _ = _newest(connection)
    if newest is None:
        return NOTHING_STORED
    positions = _positions_at(newest).subquery()
    assigned = sector_assignments.alias("assigned")
    total, located, outside = connection.execute(
        select(
            func.count(),
            func.count(assigned.c.flight_id),
            func.count(assigned.c.flight_id).filter(assigned.c.sector_id.is_(None)),
        ).select_from(
            positions.outerjoin(
                assigned,
                and_(
                    assigned.c.flight_id == positions.c.flight_id,
                    assigned.c.observed_at == newest,
                ),
            )
        )
    ).one()
    return AssetCheckResult(
        passed=located == total,
        severity=AssetCheckSeverity.ERROR,
        description=f"{located} of {total} positions at {newest.isoformat()} located",
        metadata={
            "snapshot": newest.isoformat(),
            "positions": total,
            "located": located,
            "outside_sectors": outside,
        },
    )


def feed_sensor_running(context: AssetCheckExecutionContext, now: float) -> bool:
    """Whether the feed sensor is on and its daemon ticked recently."""
    for state in context.instance.all_instigator_state():
        if (
            state.instigator_type.value != "SENSOR"
            or state.instigator_name != SENSOR
            or state.status.value not in RUNNING_STATUSES
        ):
            continue
        last_tick = getattr(state.instigator_data, "last_tick_timestamp", None)
        if last_tick is not None and now - last_tick <= SENSOR_TICK_MAX_AGE_S:
            return True
    return False


@asset_check(
    asset="landed_snapshot",
    description="The newest stored snapshot is under 60 s old while the feed sensor runs; "
    "passes with a note when the sensor is stopped (replays, back-fills).",
)
def newest_snapshot_fresh(
    context: AssetCheckExecutionContext, database: DatabaseResource
) -> AssetCheckResult:
    return _queried(database, lambda connection: _fresh(context, connection))


def _fresh(context: AssetCheckExecutionContext, connection: Connection) -> AssetCheckResult:
    now = time.time()
    newest, _ = _newest(connection)
    age = None if newest is None else now - newest.timestamp()
    metadata = {
        "newest_snapshot": newest.isoformat() if newest else "",
        "age_s": round(age, 1) if age is not None else -1.0,
        "checked_at": datetime.fromtimestamp(now, UTC).isoformat(),
    }
    if not feed_sensor_running(context, now):
        return AssetCheckResult(
            passed=True,
            severity=AssetCheckSeverity.WARN,
            description=f"{SENSOR} is not running, so no fresh snapshot is expected",
            metadata={**metadata, "sensor_running": False},
        )
    return AssetCheckResult(
        passed=age is not None and age < MAX_SNAPSHOT_AGE_S,
        severity=AssetCheckSeverity.WARN,
        description="no snapshot stored"
        if age is None
        else f"newest snapshot is {age:.0f} s old (limit {MAX_SNAPSHOT_AGE_S:.0f} s)",
        metadata={**metadata, "sensor_running": True},
    )


TABLE_CHECKS = [
    newest_snapshot_positions_complete,
    tracks_match_sessions,
    newest_snapshot_positions_located,
    newest_snapshot_fresh,
]
