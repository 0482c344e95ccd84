"""The single `Definitions` of the project, loaded by `dagster dev`, the daemon and runs."""

from dagster import Definitions, JobDefinition, in_process_executor

from vatsim_pipeline.alerts.settings import AlertSettings
from vatsim_pipeline.defs.airport_forecast_assets import airport_forecast
from vatsim_pipeline.defs.airport_pattern_assets import AIRPORT_PATTERN_ASSETS
from vatsim_pipeline.defs.anomaly_alerts import anomaly_alerts
from vatsim_pipeline.defs.anomaly_assets import anomaly_checks
from vatsim_pipeline.defs.archive_checks import ARCHIVE_CHECKS
from vatsim_pipeline.defs.feed_sensor import vatsim_feed_sensor
from vatsim_pipeline.defs.forecast_assets import (
    forecast_job,
    forecast_refresh_schedule,
    sector_forecast,
)
from vatsim_pipeline.defs.health_assets import (
    pipeline_health,
    pipeline_health_every_5_minutes,
    pipeline_health_job,
)
from vatsim_pipeline.defs.ingest_assets import radios_complete
from vatsim_pipeline.defs.ingest_job import ingest_job
from vatsim_pipeline.defs.ingest_step import RECORDED_SPECS, ingest_step
from vatsim_pipeline.defs.landing_check import landing_writable
from vatsim_pipeline.defs.maintenance_assets import maintenance, maintenance_hourly, maintenance_job
from vatsim_pipeline.defs.pattern_assets import sector_coverage, sector_load
from vatsim_pipeline.defs.pattern_jobs import traffic_patterns_hourly, traffic_patterns_job
from vatsim_pipeline.defs.resources import build_resources
from vatsim_pipeline.defs.run_logging import run_loggers
from vatsim_pipeline.defs.sector_assets import (
    sectors,
    sectors_daily,
    sectors_job,
    sectors_when_missing,
)
from vatsim_pipeline.defs.session_assets import (
    session_lifecycle,
    session_lifecycle_every_minute,
    session_lifecycle_job,
)
from vatsim_pipeline.defs.table_checks import TABLE_CHECKS
from vatsim_pipeline.defs.warm_up import warm_up_run_worker
from vatsim_pipeline.root_logger import keep_root_logger_quiet
from vatsim_pipeline.settings import Settings

# Code servers and run workers load this module; see `root_logger` for why.
keep_root_logger_quiet()


def build_definitions(settings: Settings | None = None) -> Definitions:
    """Wire the rooms together; `settings` defaults to the environment."""
    settings = settings or Settings.from_env()
    AlertSettings.from_env()  # a malformed webhook URL refuses to load, naming the variable
    return Definitions(
        assets=[
            ingest_step,
            *RECORDED_SPECS,
            pipeline_health,
            maintenance,
            sectors,
            session_lifecycle,
            sector_load,
            sector_coverage,
            sector_forecast,
            *AIRPORT_PATTERN_ASSETS,
            airport_forecast,
        ],
        asset_checks=[
            *TABLE_CHECKS,
            *ARCHIVE_CHECKS,
            landing_writable,
            radios_complete,
            anomaly_checks,
        ],
        jobs=[
            ingest_job,
            pipeline_health_job,
            maintenance_job,
            sectors_job,
            session_lifecycle_job,
            traffic_patterns_job,
            forecast_job,
        ],
        sensors=[vatsim_feed_sensor, sectors_when_missing, anomaly_alerts],
        schedules=[
            pipeline_health_every_5_minutes,
            maintenance_hourly,
            sectors_daily,
            session_lifecycle_every_minute,
            traffic_patterns_hourly,
            forecast_refresh_schedule,
        ],
        resources=build_resources(settings),
        executor=in_process_executor,
        loggers=run_loggers(),
    )


defs = build_definitions()

# Called by the warm run launcher's zygote before it forks run workers.
__all__ = ["build_definitions", "defs", "resolved_ingest_job", "warm_up_run_worker"]


def resolved_ingest_job() -> JobDefinition:
    """The ingest job, resolvable from a fresh process (for `execute_job` replays)."""
    return build_definitions().resolve_job_def(ingest_job.name)
