"""Asset checks on the stored tables, evaluated at the end of every ingest run, once its
tables and occupancy are written (each check reads a handful of indexed rows:
milliseconds), and reported against the materializations that run made.

The UI shows a check against its asset's latest materialization. Evaluated by another
run (they used to run every minute in the session lifecycle job) a check reads "Not
Evaluated" as soon as the next ingest run materializes the asset, about every 15 s; and
a check step inside the ingest job is "planned" from the moment each run is queued, so
with a run always queued or running the UI showed it in progress, never its result. So
the ingest run's step (`ingest`) evaluates them last and reports each
result for the asset's materialization it checked (`report_check`): the UI shows
it until the next run reports the next one. `table_checks` keeps them executable from
the UI. A database that cannot answer fails a check with a WARN naming the error; it
never fails the run.

- `flights`: every pilot of the newest snapshot has its position; every recent flight's
  track starts at its `first_seen` and ends at its `last_seen` (the writes store both in
  one transaction, so a difference means lost, moved or foreign positions).
- `flight_sector_occupancy`: every position of the newest snapshot has its sector.
- `landed_snapshot`: the newest stored snapshot is under a minute old (WARN), under 90 s
  (ERROR beyond: red), checked only while the feed sensor is running (a stopped sensor
  means nobody expects fresh data). No ingest run happens while the feed is down, so
  the feed sensor reports this check too (`stale_feed_evaluation`) once the newest
  landed update is older than a minute: a feed outage turns the asset and the Overview
  red within two minutes, with the sensor's reason, instead of a grey skipped tick.
"""

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    DagsterInstance,
    multi_asset_check,
)
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from sqlalchemy import Connection, and_, func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from vatsim_pipeline.defs.resources import DatabaseResource
from vatsim_pipeline.storage.assignment_runs import covering
from vatsim_pipeline.storage.partitions import day_start, utc_day
from vatsim_pipeline.storage.position_runs import position_snapshots, run_end_of
from vatsim_pipeline.storage.schema import (
    feed_snapshots,
    flight_positions,
    flights,
    sector_assignments,
    sectors,
)

TRACK_LOOKBACK = timedelta(hours=1)
MAX_SNAPSHOT_AGE_S = 60.0
# Older than this the freshness check fails as an ERROR (red), so that a feed down for
# two minutes is red whatever the phase of the sensor's 5 s ticks and the 15 s updates.
STALE_ERROR_AGE_S = 90.0
# While the feed stays stale the sensor reports the check once per this many seconds.
STALE_REPORT_EVERY_S = 30.0
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
        select(position_snapshots.c.flight_id)
        .join(flights, flights.c.id == position_snapshots.c.flight_id)
        .where(
            flights.c.last_seen >= observed_at,
            flights.c.first_seen <= observed_at,
            position_snapshots.c.observed_at == observed_at,
        )
    )


def _positions_complete(connection: Connection) -> AssetCheckResult:
    newest, pilots = _newest(connection)
    if newest is None:
        return NOTHING_STORED
    stored = connection.scalar(select(func.count()).select_from(_positions_at(newest).subquery()))
    return AssetCheckResult(
        passed=stored == pilots,
        severity=AssetCheckSeverity.ERROR,
        description=f"{stored} positions for {pilots} pilots at {newest.isoformat()}",
        metadata={"pilots": pilots, "positions": stored},
    )


def _tracks_match(connection: Connection) -> AssetCheckResult:
    # A flight's first position starts its first run; its last ends its latest run (runs
    # never overlap): index probes, not an expansion of every run.
    run = flight_positions.alias("run")
    first = (
        select(func.min(run.c.observed_at)).where(run.c.flight_id == flights.c.id)
    ).scalar_subquery()
    last = (
        select(run_end_of(run))
        .where(run.c.flight_id == flights.c.id)
        .order_by(run.c.observed_at.desc())
        .limit(1)
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
            **(
                {"examples": ", ".join(f"{row.callsign} (id {row.id})" for row in bad[:EXAMPLES])}
                if bad
                else {}
            ),
        },
    )


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
                    covering(assigned, positions.c.flight_id, newest),
                    # Runs never cross midnight: only the day's partition.
                    assigned.c.observed_at >= day_start(utc_day(newest)),
                ),
            )
        )
    ).one()
    description = f"{located} of {total} positions at {newest.isoformat()} located"
    if located < total and not connection.scalar(select(func.count()).select_from(sectors)):
        description += "; no sectors stored (sensor sectors_when_missing requests them)"
    return AssetCheckResult(
        passed=located == total,
        severity=AssetCheckSeverity.ERROR,
        description=description,
        metadata={
            "positions": total,
            "located": located,
            "outside_sectors": outside,
        },
    )


def feed_sensor_running(instance: DagsterInstance, now: float) -> bool:
    """Whether the feed sensor is on and its daemon ticked recently."""
    for state in instance.all_instigator_state():
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


def _fresh(instance: DagsterInstance, connection: Connection) -> AssetCheckResult:
    now = time.time()
    newest, _ = _newest(connection)
    age = None if newest is None else now - newest.timestamp()
    metadata = {
        "newest_snapshot": newest.isoformat() if newest else "",
        "age_s": round(age, 1) if age is not None else -1.0,
    }
    if not feed_sensor_running(instance, now):
        return AssetCheckResult(
            passed=True,
            severity=AssetCheckSeverity.WARN,
            description=f"{SENSOR} is not running, so no fresh snapshot is expected",
            metadata={**metadata, "sensor_running": False},
        )
    return AssetCheckResult(
        passed=age is not None and age < MAX_SNAPSHOT_AGE_S,
        severity=_age_severity(age),
        description="no snapshot stored"
        if age is None
        else f"newest snapshot is {age:.0f} s old (limit {MAX_SNAPSHOT_AGE_S:.0f} s)",
        metadata={**metadata, "sensor_running": True},
    )


def _age_severity(age: float | None) -> AssetCheckSeverity:
    """WARN while a snapshot is merely late, ERROR (red) once it is `STALE_ERROR_AGE_S` old."""
    if age is not None and age < STALE_ERROR_AGE_S:
        return AssetCheckSeverity.WARN
    return AssetCheckSeverity.ERROR


POSITIONS_COMPLETE = AssetCheckKey(AssetKey("flights"), "newest_snapshot_positions_complete")
TRACKS_MATCH = AssetCheckKey(AssetKey("flights"), "tracks_match_sessions")
POSITIONS_LOCATED = AssetCheckKey(
    AssetKey("flight_sector_occupancy"), "newest_snapshot_positions_located"
)
FRESH = AssetCheckKey(AssetKey("landed_snapshot"), "newest_snapshot_fresh")
DESCRIPTIONS = {
    POSITIONS_COMPLETE: "Every pilot of the newest stored snapshot has its row in "
    "flight_positions (expanded from its runs).",
    TRACKS_MATCH: "Every flight seen in the last hour has its first position at first_seen "
    "and its last at last_seen: none missing, none outside the session.",
    POSITIONS_LOCATED: "Every position of the newest stored snapshot has its sector "
    "assignment (a run that failed locating, or no sectors stored, leaves positions unassigned).",
    FRESH: f"The newest stored snapshot is under {MAX_SNAPSHOT_AGE_S:.0f} s old while the "
    f"feed sensor runs (WARN; ERROR from {STALE_ERROR_AGE_S:.0f} s, also reported by the "
    "sensor while the feed is down); passes with a note when the sensor is stopped.",
}


def _keyed(result: AssetCheckResult, key: AssetCheckKey) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=result.passed,
        severity=result.severity,
        description=result.description,
        metadata=result.metadata,
    )


@multi_asset_check(
    specs=[
        AssetCheckSpec(key.name, asset=key.asset_key, description=description)
        for key, description in DESCRIPTIONS.items()
    ],
    can_subset=True,
    name="table_checks",
    description="The checks of the stored tables, in one step of every ingest run.",
)
def table_checks(
    context: AssetCheckExecutionContext, database: DatabaseResource
) -> Iterator[AssetCheckResult]:
    for key, query in _queries(context.instance).items():
        if key in context.selected_asset_check_keys:
            yield _keyed(_queried(database, query), key)


def _queries(
    instance: DagsterInstance,
) -> dict[AssetCheckKey, Callable[[Connection], AssetCheckResult]]:
    return {
        POSITIONS_COMPLETE: _positions_complete,
        TRACKS_MATCH: _tracks_match,
        POSITIONS_LOCATED: _positions_located,
        FRESH: lambda connection: _fresh(instance, connection),
    }


Targets = dict[AssetKey, AssetCheckEvaluationTargetMaterializationData]


def newest_materializations(instance: DagsterInstance, assets: Iterable[AssetKey]) -> Targets:
    """The newest materialization of each asset, as its checks' target: one read of
    Dagster's asset index for all of them (an ingest run reports 9 checks on 4 assets),
    instead of a query per check."""
    records = instance.get_asset_records(list(assets))
    return {
        record.asset_entry.asset_key: AssetCheckEvaluationTargetMaterializationData(
            storage_id=newest.storage_id, run_id=newest.run_id, timestamp=newest.timestamp
        )
        for record in records
        if (newest := record.asset_entry.last_materialization_record) is not None
    }


def report_table_checks(
    instance: DagsterInstance, database: DatabaseResource, targets: Targets
) -> None:
    """Evaluate every table check and record each result for its asset's materialization
    in `targets` (the ones the calling ingest run just made)."""
    for key, query in _queries(instance).items():
        report_check(instance, key, _queried(database, query), targets)


def report_check(
    instance: DagsterInstance, key: AssetCheckKey, result: AssetCheckResult, targets: Targets
) -> None:
    """Record `result` of the check `key` for its asset's materialization in `targets`, so
    that the UI shows it as that materialization's result (not "Not Evaluated")."""
    instance.report_runless_asset_event(
        AssetCheckEvaluation(
            asset_key=key.asset_key,
            check_name=key.name,
            passed=result.passed,
            severity=result.severity,
            description=result.description,
            metadata=result.metadata,
            target_materialization_data=targets.get(key.asset_key),
        )
    )


def stale_feed_evaluation(
    newest_landed: datetime | None,
    now: datetime,
    previous_tick: datetime | None,
    reason: str,
) -> AssetCheckEvaluation | None:
    """The freshness check as the feed sensor reports it while no update lands (no ingest
    run evaluates it then): failed once the newest landed update is `MAX_SNAPSHOT_AGE_S`
    old, ERROR from `STALE_ERROR_AGE_S`, with the sensor's reason. Reported when it
    crosses either age, then every `STALE_REPORT_EVERY_S`; None otherwise (an ingest run
    reports the fresh case)."""
    if newest_landed is None:
        return None
    age = (now - newest_landed).total_seconds()
    if age < MAX_SNAPSHOT_AGE_S:
        return None
    if previous_tick is not None:
        before = (previous_tick - newest_landed).total_seconds()
        thresholds = (MAX_SNAPSHOT_AGE_S, STALE_ERROR_AGE_S)
        crossed = any(before < limit <= age for limit in thresholds)
        if not crossed and before // STALE_REPORT_EVERY_S == age // STALE_REPORT_EVERY_S:
            return None
    return AssetCheckEvaluation(
        asset_key=FRESH.asset_key,
        check_name=FRESH.name,
        passed=False,
        severity=_age_severity(age),
        description=f"no new feed update for {age:.0f} s: {reason}"[: MAX_REASON * 2],
        metadata={
            "newest_landed": newest_landed.isoformat(),
            "age_s": round(age, 1),
            "checked_at": now.isoformat(),
            "reported_by": SENSOR,
        },
    )


TABLE_CHECKS = [table_checks]
