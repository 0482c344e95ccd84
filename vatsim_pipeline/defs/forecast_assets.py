"""The sector forecast, refreshed every 5 minutes: flights entering each sector in the
next two hours per 15 minutes with a band (see `analytics.sector_forecast`), stored whole
in `traffic_forecasts` for the API and the command line.

Every 5 minutes, not every minute: the forecast counts flights per quarter hour, which
moves little in a few minutes, while a refresh costs a run of about 0.7 CPU s, the
largest share of the pipeline's CPU after ingest (docs/performance.md, issue 14). The
schedule's cron is `VATSIM_FORECAST_CRON` (default `*/5 * * * *`, UTC), read when the
definitions load: `* * * * *` refreshes every minute where CPU is plentiful.
"""

import time
from collections.abc import Sequence

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetSelection,
    DefaultScheduleStatus,
    MaterializeResult,
    ScheduleEvaluationContext,
    asset,
    define_asset_job,
    in_process_executor,
    schedule,
)
from sqlalchemy import Connection

from vatsim_pipeline.analytics.sector_forecaster import HistoryReader, forecast_at, history_in_use
from vatsim_pipeline.defs.failure_hook import classify_failure
from vatsim_pipeline.defs.resources import DatabaseResource
from vatsim_pipeline.defs.run_logging import RUN_LOGGING
from vatsim_pipeline.defs.schedule_crons import FORECAST_CRON
from vatsim_pipeline.defs.schedule_guard import request_unless_unfinished
from vatsim_pipeline.resilience.retry import database_retry_policy
from vatsim_pipeline.storage.airport_storage import airports_frame
from vatsim_pipeline.storage.forecast_writes import replace_forecast
from vatsim_pipeline.storage.occupancy_writes import sector_set
from vatsim_pipeline.storage.reads_base import newest_update
from vatsim_pipeline.storage.reads_forecast import stored_load, stored_load_starts
from vatsim_pipeline.storage.sector_patterns import stored_sector_parents

FORECASTS_GROUP = "forecasts"


def _history_reader(connection: Connection, now: pd.Timestamp) -> HistoryReader:
    """`sector_load` rows of only the bucket starts the forecast reads (`history_in_use`),
    found by one query for the starts that hold rows: with four weeks of history 40% of
    the 100,000 rows of every candidate start."""

    def read(times: Sequence[pd.Timestamp]) -> pd.DataFrame:
        held = stored_load_starts(connection, [t.to_pydatetime() for t in times])
        return stored_load(connection, [t.to_pydatetime() for t in history_in_use(now, held)])

    return read


@asset(
    name="sector_forecast",
    group_name=FORECASTS_GROUP,
    deps=["flight_sector_occupancy", "sector_load"],
    retry_policy=database_retry_policy(),
    description="Flights entering each sector in the next two hours, per 15 minutes, "
    "with a low/high band: airborne flights flown ahead, waiting ones, and history. "
    "Table `traffic_forecasts` (target_kind 'sector').",
)
def sector_forecast(
    context: AssetExecutionContext, database: DatabaseResource
) -> MaterializeResult:
    started = time.process_time()
    engine = database.engine()
    sectors = sector_set(engine)
    if sectors is None:
        context.log.warning("no sectors stored: materialize `sectors` first; nothing forecast")
        return MaterializeResult(metadata={"sectors_forecast": 0})
    parents = stored_sector_parents(engine)
    with engine.connect() as connection:
        newest = newest_update(connection)
        if newest is None:
            context.log.warning("no feed update stored yet; nothing forecast")
            return MaterializeResult(metadata={"sectors_forecast": 0})
        now = pd.Timestamp(newest)
        frame = forecast_at(
            connection,
            now,
            read_history=_history_reader(connection, now),
            airports=airports_frame(connection),
            locate=sectors.index.locate_many,
            parents=parents,
        )
    written = replace_forecast(engine, "sector", frame, newest)
    first_hour = frame[frame["bucket_start"] < now + pd.Timedelta(hours=1)]
    outermost = first_hour[~first_hour["target_id"].isin(list(parents))]
    cpu = time.process_time() - started
    context.log.info(f"forecast at {newest.isoformat()}: {written} rows, {cpu:.2f} s of CPU")
    return MaterializeResult(
        metadata={
            "issued_at": newest.isoformat(),
            "sectors_forecast": int(frame["target_id"].nunique()),
            "rows_written": written,
            "entries_next_hour_outermost_sectors": round(float(outermost["expected"].sum()), 2),
            "cpu_s": round(cpu, 3),
        }
    )


forecast_job = define_asset_job(
    "forecast_refresh",
    selection=AssetSelection.groups(FORECASTS_GROUP),
    config=RUN_LOGGING,
    executor_def=in_process_executor,
    description="Refresh the forecasts of the next two hours from the newest snapshot.",
    hooks={classify_failure},
)


CRON = FORECAST_CRON.read()


@schedule(
    name="forecast_refresh_schedule",
    job=forecast_job,
    cron_schedule=CRON,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description=f"Refreshes the forecasts on '{CRON}' (UTC; {FORECAST_CRON.variable}, default "
    f"'{FORECAST_CRON.default}': every 5 minutes), unless the previous run is still queued "
    "or running.",
)
def forecast_refresh_schedule(context: ScheduleEvaluationContext):
    return request_unless_unfinished(context, forecast_job.name)
