"""The airport forecast, refreshed every 5 minutes with the sector one (same group, same
job): departures and arrivals of every airport in the next two hours per 15 minutes
with a band (see `analytics.airport_forecast`), stored whole in `traffic_forecasts`."""

import time

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, asset

from vatsim_pipeline.analytics.airport_forecaster import forecast_airports_at
from vatsim_pipeline.defs.forecast_assets import FORECASTS_GROUP
from vatsim_pipeline.defs.resources import DatabaseResource
from vatsim_pipeline.resilience.retry import database_retry_policy
from vatsim_pipeline.storage.airport_storage import airports_frame
from vatsim_pipeline.storage.forecast_writes import replace_forecast
from vatsim_pipeline.storage.reads_airport_forecast import stored_airport_traffic
from vatsim_pipeline.storage.reads_base import newest_update


@asset(
    name="airport_forecast",
    group_name=FORECASTS_GROUP,
    deps=["flights", "prefiles", "airport_traffic"],
    retry_policy=database_retry_policy(),
    description="Departures and arrivals of every airport in the next two hours, per 15 "
    "minutes, with a low/high band: flights seen now, prefiles, and the history of "
    "`airport_traffic`. Table `traffic_forecasts` (target_kind 'airport').",
)
def airport_forecast(
    context: AssetExecutionContext, database: DatabaseResource
) -> MaterializeResult:
    started = time.process_time()
    engine = database.engine()
    with engine.connect() as connection:
        newest = newest_update(connection)
        if newest is None:
            context.log.warning("no feed update stored yet; nothing forecast")
            return MaterializeResult(metadata={"airports_forecast": 0})
        now = pd.Timestamp(newest)
        frame = forecast_airports_at(
            connection,
            now,
            read_history=lambda times: stored_airport_traffic(
                connection, [t.to_pydatetime() for t in times]
            ),
            airports=airports_frame(connection),
        )
    written = replace_forecast(engine, "airport", frame, newest)
    first_hour = frame[frame["bucket_start"] < now + pd.Timedelta(hours=1)]
    totals = first_hour.groupby("metric")["expected"].sum()
    cpu = time.process_time() - started
    context.log.info(f"airport forecast at {newest.isoformat()}: {written} rows, {cpu:.2f} s")
    return MaterializeResult(
        metadata={
            "issued_at": newest.isoformat(),
            "airports_forecast": int(frame["target_id"].nunique()),
            "rows_written": written,
            "departures_next_hour": round(float(totals.get("departures", 0.0)), 2),
            "arrivals_next_hour": round(float(totals.get("arrivals", 0.0)), 2),
            "cpu_s": round(cpu, 3),
        }
    )
