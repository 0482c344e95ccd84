"""The maintenance job: keeps the deployment bounded, hourly, visibly.

`maintenance` runs each step of `MAINTENANCE_STEPS` in order (landed payload retention,
Dagster run pruning, then retention of the per-snapshot tables) and records what each
removed as plottable metadata, so the asset's page in the UI shows runs deleted by
status, payloads deleted or archived, table rows and partitions removed and bytes freed
over time. A step that fails does not stop the others; the run then fails, naming every
failed step.

To add a step, write a function taking a `MaintenanceContext` and returning a
`StepReport`, and append `("name", function)` to `MAINTENANCE_STEPS`.

The schedule's cron is `VATSIM_MAINTENANCE_CRON` (default `17 * * * *`, UTC), read when
the definitions load.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetSelection,
    Config,
    DagsterInstance,
    DagsterLogManager,
    DefaultScheduleStatus,
    Failure,
    MaterializeResult,
    MetadataValue,
    ScheduleEvaluationContext,
    asset,
    define_asset_job,
    in_process_executor,
    schedule,
)
from pydantic import Field
from sqlalchemy import Engine

from vatsim_pipeline.defs.resources import DatabaseResource, LandingResource
from vatsim_pipeline.defs.run_logging import RUN_LOGGING
from vatsim_pipeline.defs.schedule_crons import MAINTENANCE_CRON
from vatsim_pipeline.defs.schedule_guard import request_unless_unfinished
from vatsim_pipeline.maintenance.landing_retention import LandingRetention, sweep_landing
from vatsim_pipeline.maintenance.prune_runs import RunRetention, prune_runs
from vatsim_pipeline.maintenance.table_retention import TableRetention, sweep_tables

MAINTENANCE_GROUP = "maintenance"
MAX_RUNTIME_S = 3000
RUN_STATUSES = ("SUCCESS", "FAILURE", "CANCELED")


@dataclass(frozen=True)
class MaintenanceContext:
    """What every step may use; `dry_run` steps report and change nothing."""

    instance: DagsterInstance
    engine: Engine
    landing_dir: Path
    now: datetime
    dry_run: bool


@dataclass(frozen=True)
class StepReport:
    """A step's one-line summary (logged) and its figures (asset metadata)."""

    summary: str
    metadata: dict[str, MetadataValue]


def landed_payloads_step(context: MaintenanceContext) -> StepReport:
    """Delete (or archive, then delete) stored payloads older than the retention."""
    sweep = sweep_landing(
        context.landing_dir,
        context.engine,
        LandingRetention.from_env(),
        now=context.now,
        dry_run=context.dry_run,
    )
    archived = sweep.files if sweep.archiving else 0
    freed = sweep.bytes - sweep.archive_bytes if not sweep.dry_run else sweep.bytes
    return StepReport(
        summary=sweep.describe(),
        metadata={
            "payloads_deleted": MetadataValue.int(sweep.files),
            "payloads_archived": MetadataValue.int(archived),
            "payload_bytes_removed": MetadataValue.int(sweep.bytes),
            "archive_bytes_written": MetadataValue.int(sweep.archive_bytes),
            "bytes_freed": MetadataValue.int(freed),
            "payloads_held_unstored": MetadataValue.int(sweep.held_unstored),
            "payloads_held_recent": MetadataValue.int(sweep.held_recent),
            "landing_other_files": MetadataValue.int(sweep.other_files),
            "day_folders_removed": MetadataValue.int(sweep.days_removed),
            "archives": MetadataValue.text(", ".join(sweep.archives)),
        },
    )


def dagster_runs_step(context: MaintenanceContext) -> StepReport:
    """Delete old successful runs, and failed ones whose snapshot is stored or that are
    older than the longer limit."""
    pruned = prune_runs(
        context.instance,
        context.engine,
        RunRetention.from_env(),
        now=context.now,
        dry_run=context.dry_run,
    )
    metadata = {"runs_deleted": MetadataValue.int(pruned.total)}
    for status in RUN_STATUSES:
        metadata[f"runs_deleted_{status.lower()}"] = MetadataValue.int(pruned.deleted[status])
    metadata |= {
        "runs_kept_snapshot_not_stored": MetadataValue.int(pruned.kept_unstored),
        "runs_kept_failed_no_snapshot": MetadataValue.int(pruned.kept_unnamed),
        "runs_kept_latest_materialization": MetadataValue.int(pruned.kept_latest),
        "run_descriptors_removed": MetadataValue.int(pruned.descriptors),
        "runs_stopped_at_limit": MetadataValue.bool(pruned.stopped_at_limit),
    }
    return StepReport(summary=pruned.describe(), metadata=metadata)


def table_rows_step(context: MaintenanceContext) -> StepReport:
    """Remove the days of positions, radios and sector assignments older than their
    retention (PostgreSQL: drop day partitions; SQLite: delete in batches), and create
    the partitions of the days ahead."""
    sweep = sweep_tables(
        context.engine, TableRetention.from_env(), now=context.now, dry_run=context.dry_run
    )
    metadata = {
        "table_rows_deleted": MetadataValue.int(sweep.rows),
        "table_partitions_dropped": MetadataValue.int(len(sweep.partitions)),
        "table_bytes_freed": MetadataValue.int(sweep.bytes),
        "table_partitions_created": MetadataValue.int(len(sweep.created)),
        "table_drops_deferred": MetadataValue.int(len(sweep.deferred)),
        "table_days_archived": MetadataValue.int(len(sweep.archived)),
        "table_rows_archived": MetadataValue.int(
            sum(table.archived_rows for table in sweep.tables.values())
        ),
        "table_archive_bytes_written": MetadataValue.int(
            sum(table.archive_bytes for table in sweep.tables.values())
        ),
    }
    for name, table in sweep.tables.items():
        metadata[f"rows_deleted_{name}"] = MetadataValue.int(table.rows)
        metadata[f"partitions_dropped_{name}"] = MetadataValue.int(len(table.partitions))
    metadata["table_drops_deferred_names"] = MetadataValue.text(", ".join(sweep.deferred))
    return StepReport(summary=sweep.describe(), metadata=metadata)


MaintenanceStep = Callable[[MaintenanceContext], StepReport]

MAINTENANCE_STEPS: list[tuple[str, MaintenanceStep]] = [
    ("landed_payloads", landed_payloads_step),
    ("dagster_runs", dagster_runs_step),
    ("table_rows", table_rows_step),
]


class MaintenanceConfig(Config):
    """A dry run reports what would be removed and removes nothing."""

    dry_run: bool = Field(default=False, description="Report only; remove nothing.")


def run_steps(
    context: MaintenanceContext, steps: list[tuple[str, MaintenanceStep]], log: DagsterLogManager
) -> tuple[dict[str, MetadataValue], list[str]]:
    """Every step in order, each timed; returns their metadata and the failures."""
    metadata: dict[str, MetadataValue] = {}
    failures = []
    for name, step in steps:
        started = time.perf_counter()
        try:
            report = step(context)
        except Exception as error:
            log.exception(f"maintenance step {name} failed")
            failures.append(f"{name}: {type(error).__name__}: {error}")
            continue
        metadata |= report.metadata
        metadata[f"{name}_duration_s"] = MetadataValue.float(
            round(time.perf_counter() - started, 3)
        )
        log.info(f"{name}: {report.summary}")
    return metadata, failures


@asset(
    group_name=MAINTENANCE_GROUP,
    description="Hourly upkeep: removes (or archives) landed payloads stored more than "
    "VATSIM_LANDING_RETENTION_DAYS ago, prunes Dagster runs older than "
    "VATSIM_RUN_RETENTION_DAYS (failed ones once their snapshot is stored), and removes "
    "the days of flight_positions, transceivers and sector_assignments older than "
    "VATSIM_TABLE_RETENTION_DAYS, written first to Parquet under VATSIM_ARCHIVE_DIR when it "
    "is set (PostgreSQL: drops day partitions and creates "
    "VATSIM_PARTITIONS_AHEAD_DAYS ahead); metadata says what each step removed.",
)
def maintenance(
    context: AssetExecutionContext,
    config: MaintenanceConfig,
    database: DatabaseResource,
    landing: LandingResource,
) -> MaterializeResult:
    started = time.perf_counter()
    work = MaintenanceContext(
        instance=context.instance,
        engine=database.engine(),
        landing_dir=landing.path(),
        now=datetime.now(UTC),
        dry_run=config.dry_run,
    )
    metadata, failures = run_steps(work, MAINTENANCE_STEPS, context.log)
    metadata["dry_run"] = MetadataValue.bool(config.dry_run)
    metadata["duration_s"] = MetadataValue.float(round(time.perf_counter() - started, 3))
    if failures:
        raise Failure(
            description=f"{len(failures)} maintenance step(s) failed: " + "; ".join(failures),
            metadata=metadata,
            allow_retries=False,
        )
    return MaterializeResult(metadata=metadata)


maintenance_job = define_asset_job(
    "maintenance_job",
    selection=AssetSelection.groups(MAINTENANCE_GROUP),
    config=RUN_LOGGING,
    executor_def=in_process_executor,
    description="Landed payload retention, Dagster run pruning and table retention.",
    tags={"dagster/max_runtime": MAX_RUNTIME_S},
)


CRON = MAINTENANCE_CRON.read()


@schedule(
    name="maintenance_hourly",
    job=maintenance_job,
    cron_schedule=CRON,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description=f"Runs the maintenance job on '{CRON}' (UTC; {MAINTENANCE_CRON.variable}, "
    f"default '{MAINTENANCE_CRON.default}': 17 past every hour), unless the previous one has "
    "not finished.",
)
def maintenance_hourly(context: ScheduleEvaluationContext):
    return request_unless_unfinished(context, maintenance_job.name)
