"""Session lifecycle: every minute, ends the connections the feed stopped listing and
summarises the ended flights (see `storage.sessions` for the rules)."""

from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetSelection,
    AssetSpec,
    Config,
    DefaultScheduleStatus,
    MaterializeResult,
    ScheduleEvaluationContext,
    define_asset_job,
    in_process_executor,
    multi_asset,
    schedule,
)
from pydantic import Field

from vatsim_pipeline.defs.failure_hook import classify_failure
from vatsim_pipeline.defs.resources import DatabaseResource
from vatsim_pipeline.defs.run_logging import RUN_LOGGING
from vatsim_pipeline.defs.schedule_guard import request_unless_unfinished
from vatsim_pipeline.defs.table_docs import table_metadata
from vatsim_pipeline.resilience.retry import database_retry_policy, fail_fast_if_unretryable
from vatsim_pipeline.storage.sessions import TIMEOUT_VARIABLE, end_sessions, session_timeout_s

ANALYTICS_GROUP = "analytics"


class SessionLifecycleConfig(Config):
    """How long a connection may be missing from the feed before it counts as ended."""

    timeout_s: float | None = Field(
        default=None,
        description=f"Seconds; default {TIMEOUT_VARIABLE}, else 120. Measured against the "
        "newest stored snapshot, not the wall clock.",
    )


@multi_asset(
    specs=[
        AssetSpec(
            "session_lifecycle",
            group_name=ANALYTICS_GROUP,
            deps=["flights", "controllers", "flight_sector_occupancy"],
            description="Flights `completed` and controllers `offline` once missing from "
            "the feed for the timeout (feed time), `ended_at` = `last_seen`; reopened "
            "when seen again. The last run is in `maintenance_log`.",
            metadata=table_metadata("maintenance_log"),
        ),
        AssetSpec(
            "flight_summaries",
            group_name=ANALYTICS_GROUP,
            deps=["session_lifecycle", "flight_sector_occupancy", "transceivers"],
            description="One row per completed flight: plan, times, distance flown, top "
            "altitude, sectors crossed and controllers tuned to, with the time in each.",
            metadata=table_metadata("flight_summaries"),
        ),
    ],
    can_subset=False,
    retry_policy=database_retry_policy(),
)
def session_lifecycle(
    context: AssetExecutionContext, config: SessionLifecycleConfig, database: DatabaseResource
) -> Iterator[MaterializeResult]:
    """End and reopen sessions, then write the summaries of the flights ended."""
    timeout_s = config.timeout_s if config.timeout_s is not None else session_timeout_s()
    try:
        write = end_sessions(database.engine(), timeout_s)
    except Exception as error:
        fail_fast_if_unretryable(error, "database")
    newest = write.newest_snapshot.isoformat() if write.newest_snapshot else ""
    context.log.info(
        f"newest snapshot {newest or 'none'}: {write.flights_completed} flights completed, "
        f"{write.flights_reopened} reopened, {write.controllers_offline} controllers offline, "
        f"{write.controllers_reopened} reopened, {write.summaries_written} summaries written"
    )
    yield MaterializeResult(
        asset_key="session_lifecycle",
        metadata={
            "newest_snapshot": newest,
            "cutoff": write.cutoff.isoformat() if write.cutoff else "",
            "window_start": write.window_start.isoformat() if write.window_start else "all",
            "timeout_s": timeout_s,
            "flights_completed": write.flights_completed,
            "flights_reopened": write.flights_reopened,
            "controllers_offline": write.controllers_offline,
            "controllers_reopened": write.controllers_reopened,
            "intervals_closed_or_reopened": write.intervals.updated,
        },
    )
    yield MaterializeResult(
        asset_key="flight_summaries",
        metadata={
            "rows_written": write.summaries_written,
            "rows_deleted": write.summaries_deleted,
            "newest_snapshot": newest,
        },
    )


session_lifecycle_job = define_asset_job(
    "session_lifecycle_job",
    selection=AssetSelection.assets("session_lifecycle", "flight_summaries"),
    config=RUN_LOGGING,
    executor_def=in_process_executor,
    description="End the sessions the feed stopped listing and summarise ended flights.",
    hooks={classify_failure},
)


@schedule(
    name="session_lifecycle_every_minute",
    job=session_lifecycle_job,
    cron_schedule="* * * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Runs the session lifecycle every minute, unless the previous run is "
    "still queued or running.",
)
def session_lifecycle_every_minute(context: ScheduleEvaluationContext):
    return request_unless_unfinished(context, session_lifecycle_job.name)
