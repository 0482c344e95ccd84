"""The sector boundaries as an asset, refreshed daily from the current VATSpy release or
loaded from local files.

A refresh loads and checks every file before it touches the table, then replaces the
stored sectors in one transaction: a download error or a bad file fails the run with a
classified failure and the previous boundaries stay in place.

A database without sectors gets them at start: the `sectors_when_missing` sensor requests
a refresh as soon as it finds none stored (a fresh install, `make demo`), instead of every
ingest run warning until 04:00 UTC; after failed refreshes it waits 1, 2, 4... minutes
(at most an hour) before the next.
"""

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Literal, NoReturn

from dagster import (
    AssetExecutionContext,
    AssetSelection,
    Config,
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Failure,
    MaterializeResult,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    asset,
    define_asset_job,
    in_process_executor,
    sensor,
)
from pydantic import Field
from sqlalchemy.exc import SQLAlchemyError

from vatsim_pipeline.defs.failure_hook import classify_failure
from vatsim_pipeline.defs.resources import DatabaseResource
from vatsim_pipeline.defs.run_logging import RUN_LOGGING
from vatsim_pipeline.defs.table_docs import table_metadata
from vatsim_pipeline.resilience.retry import fail_fast_if_unretryable, network_retry_policy
from vatsim_pipeline.sectors.boundaries import SectorSourceError
from vatsim_pipeline.sectors.release import ReleaseError
from vatsim_pipeline.sectors.sources import (
    SectorFiles,
    default_files,
    given_files,
    live_files,
)
from vatsim_pipeline.storage.occupancy_writes import stored_sectors_key
from vatsim_pipeline.storage.reads_base import describe_error
from vatsim_pipeline.storage.sector_writes import replace_sectors

SECTORS_GROUP = "sectors"
KINDS = ("fir", "uir", "tracon", "custom")
SERVICE = "sectors"
MISSING_CHECK_INTERVAL_S = 30
FIRST_RETRY_AFTER = timedelta(minutes=1)
MAX_RETRY_AFTER = timedelta(hours=1)
# An unfinished refresh older than this is one a stopped daemon left behind (run
# monitoring fails it later): it does not hold the next request back.
UNFINISHED_FOR_AT_MOST = timedelta(minutes=3)
RECENT_RUNS = 8
UNFINISHED = {
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
}


class SectorsConfig(Config):
    """Where the boundaries come from. `auto`: the files given here, else the folder in
    `VATSIM_SECTORS_DIR`, else the live release."""

    source: Literal["auto", "live", "files"] = Field(
        default="auto", description="auto, live (current VATSpy release) or files."
    )
    vatspy_dat: str | None = Field(default=None, description="VATSpy.dat (FIRs and UIRs).")
    boundaries: str | None = Field(
        default=None, description="Boundaries.geojson (gzip accepted) of the same release."
    )
    tracon: str | None = Field(default=None, description="simaware TRACONBoundaries.geojson.")
    extra: list[str] = Field(
        default_factory=list, description="GeoJSON files of custom sectors to add."
    )


def _resolve(config: SectorsConfig) -> SectorFiles:
    if config.source == "live":
        return live_files(config.extra, config.tracon)
    if config.vatspy_dat and config.boundaries:
        return given_files(config.vatspy_dat, config.boundaries, config.tracon, config.extra)
    if config.source == "auto" and not (config.vatspy_dat or config.boundaries):
        return default_files(config.extra, config.tracon)
    raise Failure(
        description=f"{SERVICE}: configuration error (high), not retryable: "
        "local sectors need both vatspy_dat and boundaries",
        allow_retries=False,
    )


def _bad_source(error: Exception) -> NoReturn:
    """A failure that keeps the previous sectors: retried when a download may succeed
    later, at once and classified as validation when a file is bad (the message names
    the file, the place in it and the reason)."""
    if isinstance(error, ReleaseError) and error.__cause__ is not None:
        fail_fast_if_unretryable(error, SERVICE)
    raise Failure(
        description=f"{SERVICE}: validation error (high), not retryable: {error}",
        metadata={
            "category": "validation",
            "severity": "high",
            "service": SERVICE,
            "retryable": False,
            "exception_type": type(error).__name__,
        },
        allow_retries=False,
    ) from error


@asset(
    group_name=SECTORS_GROUP,
    retry_policy=network_retry_policy(),
    description="Sector boundaries (VATSpy FIRs and UIRs, simaware TRACONs, custom GeoJSON) "
    "with the callsign prefixes that staff them; replaced whole, or not at all.",
    metadata=table_metadata("sectors"),
)
def sectors(
    context: AssetExecutionContext, config: SectorsConfig, database: DatabaseResource
) -> MaterializeResult:
    started = time.perf_counter()
    try:
        files = _resolve(config)
        context.log.info(f"loading sectors ({files.origin}) from {files.boundaries}")
        loaded = files.load()
    except SectorSourceError as error:
        _bad_source(error)
    parsed = time.perf_counter()
    try:
        counts = replace_sectors(database.engine(), loaded, files.label)
    except ValueError as error:
        _bad_source(error)
    except Exception as error:
        fail_fast_if_unretryable(error, "database")
    stored = time.perf_counter()
    kinds = Counter(sector.kind for sector in loaded)
    context.log.info(
        f"stored {len(loaded)} sectors ({files.label}): "
        + ", ".join(f"{name} {number}" for name, number in counts.items())
    )
    return MaterializeResult(
        metadata={
            **{kind: kinds.get(kind, 0) for kind in KINDS},
            "total": len(loaded),
            **counts,
            "source": files.origin,
            "commit": files.commit or "",
            "label": files.label,
            "load_ms": round(1000 * (parsed - started), 1),
            "store_ms": round(1000 * (stored - parsed), 1),
        }
    )


sectors_job = define_asset_job(
    "refresh_sectors",
    # The whole group: the sector boundaries and the VATSpy airport list beside them.
    selection=AssetSelection.groups(SECTORS_GROUP),
    config=RUN_LOGGING,
    executor_def=in_process_executor,
    description="Reload the sector boundaries and the airports, replacing the stored ones.",
    hooks={classify_failure},
)

sectors_daily = ScheduleDefinition(
    name="sectors_daily",
    job=sectors_job,
    cron_schedule="0 4 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Refresh the sector boundaries from the current release at 04:00 UTC.",
)


@sensor(
    job=sectors_job,
    minimum_interval_seconds=MISSING_CHECK_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Requests a sectors refresh when none are stored (a fresh database), so "
    "occupancy is located from the first snapshots on; after a failed refresh it waits "
    "waits 1, 2, 4... minutes (at most an hour) before the next.",
)
def sectors_when_missing(
    context: SensorEvaluationContext, database: DatabaseResource
) -> RunRequest | SkipReason:
    try:
        with database.engine().connect() as connection:
            stored, _ = stored_sectors_key(connection)
    except SQLAlchemyError as error:
        return SkipReason(f"cannot count the stored sectors: {describe_error(error)}")
    if stored:
        return SkipReason(f"{stored} sectors stored; the daily schedule refreshes them")
    now = datetime.now(UTC)
    records = context.instance.get_run_records(
        RunsFilter(job_name=sectors_job.name), limit=RECENT_RUNS
    )
    for record in records:
        if (
            record.dagster_run.status in UNFINISHED
            and now - record.create_timestamp < UNFINISHED_FOR_AT_MOST
        ):
            run = record.dagster_run.run_id[:8]
            return SkipReason(f"no sectors stored; refresh run {run} is on its way")
    failed = 0
    for record in records:
        if record.dagster_run.status != DagsterRunStatus.FAILURE:
            break
        failed += 1
    if failed:
        last = records[0]
        ended = datetime.fromtimestamp(last.end_time or last.update_timestamp.timestamp(), UTC)
        retry_at = ended + min(FIRST_RETRY_AFTER * 2 ** (failed - 1), MAX_RETRY_AFTER)
        if now < retry_at:
            return SkipReason(
                f"no sectors stored; {failed} refresh run(s) failed, the last "
                f"{last.dagster_run.run_id[:8]}; next try after {retry_at:%H:%M:%S}Z"
            )
    return RunRequest(tags={"vatsim/requested_by": "no sectors stored"})
