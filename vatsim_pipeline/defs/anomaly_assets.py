"""Anomaly detection in the ingest run, and its checks beside the tables.

The ingest run's one step (`ingest`) detects after the tables are stored and
located: it reads its snapshot's positions and their previous ones from the database
(see `storage.anomaly_writes`) and keeps the intervals of the `anomalies` table. It runs
in the ingest run rather than a job of its own: a run of its own costs a process and a
Dagster run (seconds) every 15 s, detection costs milliseconds (bench/scale.py, column
`anomalies`). The checks (WARN) count what is still going on; the step reports them at
its end for the materializations they check (`report_anomaly_checks`; why not as checks
of the step: `ingest_step`). `anomaly_checks` keeps them executable from the UI.
"""

from collections.abc import Iterator

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    DagsterInstance,
    Failure,
    multi_asset_check,
)
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from vatsim_pipeline.analytics.anomalies import KINDS, SQUAWK_KINDS
from vatsim_pipeline.analytics.anomalies.thresholds import Thresholds
from vatsim_pipeline.defs.resources import DatabaseResource
from vatsim_pipeline.defs.table_checks import Targets, report_check
from vatsim_pipeline.feed.landing import LandedSnapshot
from vatsim_pipeline.resilience.retry import fail_fast_if_unretryable
from vatsim_pipeline.storage.anomaly_reads import active_counts
from vatsim_pipeline.storage.anomaly_writes import detect_snapshot

ANALYTICS_GROUP = "analytics"
ANOMALIES = "anomalies"
LABELS = {
    "emergency_squawk": ("emergency", "emergencies"),
    "radio_failure_squawk": ("radio failure", "radio failures"),
    "hijack_squawk": ("hijack squawk", "hijack squawks"),
    "teleport": ("teleport", "teleports"),
    "frozen": ("frozen connection", "frozen connections"),
    "duplicate_callsign": ("duplicate callsign", "duplicate callsigns"),
    "altitude_jump": ("altitude jump", "altitude jumps"),
    "stale_feed": ("stale feed", "stale feeds"),
}


def thresholds_or_fail() -> Thresholds:
    """The thresholds, or a run failure (no retries) naming the bad variable."""
    try:
        return Thresholds.from_env()
    except ValueError as error:
        raise Failure(description=str(error), allow_retries=False) from error


ANOMALIES_SPEC = AssetSpec(
    ANOMALIES,
    group_name=ANALYTICS_GROUP,
    deps=["flights"],
    description="One row per anomaly interval (squawks 7700/7600/7500, teleports, frozen "
    "connections, duplicate callsigns, altitude jumps, stale feed): kind, connection, "
    "start, end (null while still seen), the values that raised it.",
)


def detect(
    context: AssetExecutionContext, engine: Engine, landed: LandedSnapshot, thresholds: Thresholds
) -> AssetMaterialization:
    """Detect the snapshot's anomalies against each connection's previous position."""
    try:
        write = detect_snapshot(engine, landed.update_timestamp, thresholds)
    except Exception as error:
        fail_fast_if_unretryable(error, "database")
    new = ", ".join(f"{count} {kind}" for kind, count in sorted(write.new_by_kind.items()))
    context.log.info(
        f"snapshot {landed.update_timestamp.isoformat()}: {write.flights} flights checked, "
        f"{write.rebuilt} rebuilt; new: {new or 'none'}; +{write.inserted} ~{write.updated} "
        f"-{write.deleted}, {write.closed} ended; {write.cpu_ms:.0f} ms CPU"
    )
    return AssetMaterialization(
        asset_key=ANOMALIES,
        metadata={
            "flights_checked": write.flights,
            "flights_rebuilt": write.rebuilt,
            "rows_inserted": write.inserted,
            "rows_updated": write.updated,
            "rows_deleted": write.deleted,
            "rows_ended": write.closed,
            **{f"new_{kind}": write.new_by_kind.get(kind, 0) for kind in KINDS},
            "elapsed_ms": write.elapsed_ms,
            "cpu_ms": write.cpu_ms,
        },
    )


def describe(counts: dict[str, int], kinds: tuple[str, ...]) -> str:
    """'2 active emergencies, 1 active frozen connection', or 'none active'."""
    parts = []
    for kind in kinds:
        count = counts.get(kind, 0)
        if count:
            singular, plural = LABELS[kind]
            parts.append(f"{count} active {singular if count == 1 else plural}")
    return ", ".join(parts) or f"no active {' or '.join(LABELS[k][0] for k in kinds)}"


CHECKS = {
    "active_emergency_squawks": ("flights", SQUAWK_KINDS),
    "active_track_anomalies": (
        "flights",
        ("teleport", "frozen", "duplicate_callsign", "altitude_jump"),
    ),
    "feed_not_stale": ("landed_snapshot", ("stale_feed",)),
}


ANOMALY_CHECKS = [
    AssetCheckSpec(
        name,
        asset=asset_key,
        additional_deps=[ANOMALIES],
        description=f"Anomalies still seen in the newest snapshot: {', '.join(kinds)} "
        "(WARN while any is).",
    )
    for name, (asset_key, kinds) in CHECKS.items()
]


def active_anomalies(engine: Engine) -> Iterator[AssetCheckResult]:
    """One query: active anomalies by kind, then a WARN per check that finds any."""
    try:
        with engine.connect() as connection:
            counts = active_counts(connection)
    except SQLAlchemyError as error:
        for name, (asset_key, _) in CHECKS.items():
            yield AssetCheckResult(
                check_name=name,
                asset_key=asset_key,
                passed=False,
                severity=AssetCheckSeverity.WARN,
                description=f"could not query the database: {type(error).__name__}",
            )
        return
    for name, (asset_key, kinds) in CHECKS.items():
        found = {kind: counts.get(kind, 0) for kind in kinds}
        yield AssetCheckResult(
            check_name=name,
            asset_key=asset_key,
            passed=not any(found.values()),
            severity=AssetCheckSeverity.WARN,
            description=describe(found, kinds),
            # Only what is still seen: a zero for every kind would be stored with every
            # evaluation, twice (the event and its check execution row), every 15 s.
            metadata={f"active_{kind}": count for kind, count in found.items() if count},
        )


def _key(result: AssetCheckResult) -> AssetCheckKey:
    return AssetCheckKey(AssetKey.from_coercible(result.asset_key), result.check_name)


def report_anomaly_checks(instance: DagsterInstance, engine: Engine, targets: Targets) -> None:
    """Evaluate the anomaly checks and record each result for its asset's materialization
    in `targets` (the one the calling ingest run just made)."""
    for result in active_anomalies(engine):
        report_check(instance, _key(result), result, targets)


@multi_asset_check(
    specs=ANOMALY_CHECKS,
    can_subset=True,
    name="anomaly_checks",
    description="The active anomaly checks, reported by every ingest run.",
)
def anomaly_checks(
    context: AssetCheckExecutionContext, database: DatabaseResource
) -> Iterator[AssetCheckResult]:
    for result in active_anomalies(database.engine()):
        if _key(result) in context.selected_asset_check_keys:
            yield result
