"""The airport side of the traffic patterns, as Dagster assets: the VATSpy airport list,
the movements detected from tracks, and hourly airport traffic and city pairs.

The pattern assets are hourly partitioned (`pattern_partitions`): a partition replaces
its hour's rows whole, so re-materializing an hour gives the same rows and a back-fill
(one run per range, `BackfillPolicy.single_run`) computes each hour exactly as a run of
that hour alone would. The analytics are plain functions in `vatsim_pipeline.analytics`.
"""

import warnings
from datetime import datetime, timedelta
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    BetaWarning,
    Config,
    Failure,
    MaterializeResult,
    asset,
)
from pydantic import Field

from vatsim_pipeline.analytics.airport_patterns import airport_traffic as traffic_of
from vatsim_pipeline.analytics.movements import MovementSettings, movements_between, track_window
from vatsim_pipeline.analytics.routes import route_flights as routes_of
from vatsim_pipeline.defs.pattern_partitions import TRAFFIC_PATTERNS_GROUP, hourly_partitions
from vatsim_pipeline.defs.resources import DatabaseResource
from vatsim_pipeline.defs.table_docs import table_metadata
from vatsim_pipeline.resilience.retry import (
    database_retry_policy,
    fail_fast_if_unretryable,
    network_retry_policy,
)
from vatsim_pipeline.sectors.airports import read_airports
from vatsim_pipeline.sectors.boundaries import SectorSourceError
from vatsim_pipeline.sectors.release import ReleaseError
from vatsim_pipeline.sectors.sources import default_files
from vatsim_pipeline.storage.airport_storage import airports_frame, replace_airports
from vatsim_pipeline.storage.pattern_writes import (
    last_movement_kinds,
    movements_frame,
    replace_window,
)
from vatsim_pipeline.storage.reads_tracks import filed_frame, track_frame
from vatsim_pipeline.storage.traffic_schema import airport_movements as movements_table
from vatsim_pipeline.storage.traffic_schema import airport_traffic as traffic_table
from vatsim_pipeline.storage.traffic_schema import route_flights as routes_table

HOUR = timedelta(hours=1)
# How far back a flight's last movement is looked up to keep its movements alternating:
# longer than any connection.
MEMORY = timedelta(days=2)

# Single-run back-fills are what `dagster asset materialize --partition-range` needs;
# Dagster 1.13 still calls the parameter beta and would say so on every load.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)


class AirportsConfig(Config):
    """Where the airport list comes from: this VATSpy.dat, else the sector release
    (`VATSIM_SECTORS_DIR` or the live one)."""

    vatspy_dat: str | None = Field(default=None, description="VATSpy.dat to read.")


@asset(
    group_name="sectors",
    retry_policy=network_retry_policy(),
    description="The real airports of VATSpy.dat (pseudo airports left out), the places "
    "movements are matched to; replaced whole, or not at all.",
    metadata=table_metadata("airports"),
)
def airports(
    context: AssetExecutionContext, config: AirportsConfig, database: DatabaseResource
) -> MaterializeResult:
    try:
        if config.vatspy_dat:
            path, label = config.vatspy_dat, f"files {config.vatspy_dat}"
        else:
            files = default_files()
            path, label = str(files.vatspy_dat), files.label
        rows = read_airports(Path(path))
    except ReleaseError as error:
        fail_fast_if_unretryable(error, "sectors")
    except SectorSourceError as error:
        raise Failure(
            description=f"sectors: validation error (high), not retryable: {error}",
            allow_retries=False,
        ) from error
    try:
        stored = replace_airports(database.engine(), rows, label)
    except Exception as error:
        fail_fast_if_unretryable(error, "database")
    context.log.info(f"stored {stored} airports ({label})")
    return MaterializeResult(metadata={"airports": stored, "source": label})


def _hours(context: AssetExecutionContext) -> list[datetime]:
    """The hours of the run's partition or partition range, oldest first."""
    window = context.partition_time_window
    hours, moment = [], window.start
    while moment < window.end:
        hours.append(moment)
        moment += HOUR
    return hours


@asset(
    group_name=TRAFFIC_PATTERNS_GROUP,
    partitions_def=hourly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    deps=["flights", airports],
    retry_policy=database_retry_policy(),
    description="Takeoffs (departure) and landings (arrival) detected from each flight's "
    "track near a VATSpy airport, one row per movement, by the hour it happened in. "
    "Thresholds: VATSIM_MOVEMENT_* (README).",
    metadata=table_metadata("airport_movements"),
)
def airport_movements(
    context: AssetExecutionContext, database: DatabaseResource
) -> MaterializeResult:
    settings = MovementSettings.from_env()
    engine = database.engine()
    hours = _hours(context)
    departures = arrivals = 0
    try:
        with engine.connect() as connection:
            places = airports_frame(connection)
        if places.empty:
            context.log.warning("no airports stored: materialize `airports` first")
        for start in hours:
            end = start + HOUR
            with engine.begin() as connection:
                positions = track_frame(connection, *track_window(start, end))
                ids = sorted(positions["flight_id"].unique().tolist())
                filed = filed_frame(connection, ids)
                before = last_movement_kinds(connection, ids, start, start - MEMORY)
                found = movements_between(positions, places, settings, filed, start, end, before)
                replace_window(connection, movements_table, "moved_at", start, end, found)
            departures += int((found["kind"] == "departure").sum())
            arrivals += int((found["kind"] == "arrival").sum())
    except Exception as error:
        fail_fast_if_unretryable(error, "database")
    return MaterializeResult(
        metadata={
            "departures": departures,
            "arrivals": arrivals,
            "hours": len(hours),
            "first_hour": hours[0].isoformat(),
        }
    )


@asset(
    group_name=TRAFFIC_PATTERNS_GROUP,
    partitions_def=hourly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    deps=[airport_movements],
    retry_policy=database_retry_policy(),
    description="Departures and arrivals per airport and 15 minutes (buckets without a "
    "movement are not stored), counted from `airport_movements`.",
    metadata=table_metadata("airport_traffic"),
)
def airport_traffic(
    context: AssetExecutionContext, database: DatabaseResource
) -> MaterializeResult:
    hours = _hours(context)
    busiest, top = "", 0
    total = 0
    try:
        for start in hours:
            with database.engine().begin() as connection:
                counts = traffic_of(movements_frame(connection, start, start + HOUR))
                total += replace_window(
                    connection, traffic_table, "bucket_start", start, start + HOUR, counts
                )
            if not counts.empty:
                per_airport = counts.groupby("airport")[["departures", "arrivals"]].sum().sum(1)
                if per_airport.max() > top:
                    busiest, top = str(per_airport.idxmax()), int(per_airport.max())
    except Exception as error:
        fail_fast_if_unretryable(error, "database")
    return MaterializeResult(
        metadata={"buckets": total, "busiest_airport": busiest, "busiest_movements": top}
    )


@asset(
    group_name=TRAFFIC_PATTERNS_GROUP,
    partitions_def=hourly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    deps=[airport_movements],
    retry_policy=database_retry_policy(),
    description="City pairs: flights per filed departure and arrival airport, counted in "
    "the hour of their detected takeoff (a reconnection never counts twice).",
    metadata=table_metadata("route_flights"),
)
def route_flights(context: AssetExecutionContext, database: DatabaseResource) -> MaterializeResult:
    hours = _hours(context)
    pairs = flights = 0
    try:
        for start in hours:
            with database.engine().begin() as connection:
                counts = routes_of(movements_frame(connection, start, start + HOUR))
                pairs += replace_window(
                    connection, routes_table, "hour_start", start, start + HOUR, counts
                )
            flights += int(counts["flights"].sum()) if not counts.empty else 0
    except Exception as error:
        fail_fast_if_unretryable(error, "database")
    return MaterializeResult(metadata={"city_pairs": pairs, "flights": flights})


AIRPORT_PATTERN_ASSETS = (airports, airport_movements, airport_traffic, route_flights)
