"""The hourly sector patterns: load per 15 minutes and ATC coverage, one partition per
UTC hour (see `pattern_partitions`). Each hour's rows are replaced in one transaction,
so re-materializing or back-filling an hour never counts anything twice.

A back-fill runs as one run over its range (`BackfillPolicy.single_run`): the run walks
the range hour by hour, exactly as separate runs would, without starting a process and
reading the sector tree once per hour.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta

import pandas as pd
from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from vatsim_pipeline.analytics.coverage import network_coverage, staffing_frame
from vatsim_pipeline.analytics.coverage import sector_coverage as compute_coverage
from vatsim_pipeline.analytics.sector_load import sector_load as compute_load
from vatsim_pipeline.analytics.stays import stays_frame
from vatsim_pipeline.defs.pattern_partitions import TRAFFIC_PATTERNS_GROUP, hourly_partitions
from vatsim_pipeline.defs.resources import DatabaseResource
from vatsim_pipeline.resilience.retry import database_retry_policy
from vatsim_pipeline.storage.sector_patterns import (
    max_stay,
    staffing_overlapping,
    stays_overlapping,
    stored_sector_parents,
    write_coverage,
    write_load,
)

HOUR = timedelta(hours=1)
TOP = 10


def hours_of(context: AssetExecutionContext) -> Iterator[tuple[datetime, datetime]]:
    """The UTC hours of the run's partition or partition range, oldest first."""
    window = context.partition_time_window
    start = window.start
    while start < window.end:
        yield start, start + HOUR
        start += HOUR


def _top(frame: pd.DataFrame, by: str, columns: list[str]) -> MetadataValue:
    """The busiest sectors as a Markdown table, for the asset's page in the UI."""
    rows = frame.sort_values([by, "sector_id"], ascending=[False, True]).head(TOP)
    if rows.empty:
        return MetadataValue.md("no traffic")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for values in rows[columns].itertuples(index=False):
        cells = (f"{v:g}" if isinstance(v, float) else str(v) for v in values)
        lines.append("| " + " | ".join(cells) + " |")
    return MetadataValue.md("\n".join(lines))


@asset(
    name="sector_load",
    group_name=TRAFFIC_PATTERNS_GROUP,
    partitions_def=hourly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    deps=["flight_sector_occupancy", "sectors"],
    retry_policy=database_retry_policy(),
    description="Per sector and 15 minutes: flights entering, peak and mean flights "
    "inside; a FIR counts its TRACONs and sub-sectors. Table `sector_load`.",
)
def sector_load(context: AssetExecutionContext, database: DatabaseResource) -> MaterializeResult:
    engine = database.engine()
    parents = stored_sector_parents(engine)
    flights = inserted = deleted = 0
    loads = []
    for start, end in hours_of(context):
        with engine.connect() as connection:
            stays = stays_frame(stays_overlapping(connection, start, end, max_stay()))
        load = compute_load(stays, parents, start, end)
        removed, added = write_load(engine, start, end, load)
        deleted, inserted = deleted + removed, inserted + added
        flights = max(flights, int(stays["flight_id"].nunique()))
        loads.append(load)
        context.log.info(f"{start.isoformat()}: {added} rows, {removed} replaced")
    load = pd.concat(loads, ignore_index=True)
    busiest = load.groupby("sector_id", as_index=False).agg(
        entries=("entries", "sum"), peak=("peak", "max"), mean=("mean", "mean")
    )
    entries = load.loc[~load["sector_id"].isin(list(parents)), "entries"]
    return MaterializeResult(
        metadata={
            "hours": len(loads),
            "flights_in_sectors": flights,
            "entries_outermost_sectors": int(entries.sum()),
            "sectors_with_traffic": int(busiest.shape[0]),
            "max_peak": int(busiest["peak"].max()) if len(busiest) else 0,
            "rows_inserted": inserted,
            "rows_deleted": deleted,
            "busiest_sectors": _top(busiest, "mean", ["sector_id", "entries", "peak", "mean"]),
        }
    )


@asset(
    name="sector_coverage",
    group_name=TRAFFIC_PATTERNS_GROUP,
    partitions_def=hourly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    deps=["flight_sector_occupancy", "controller_sectors", "sectors"],
    retry_policy=database_retry_policy(),
    description="Per sector and hour: minutes staffed (by it or a sector above it), "
    "flight minutes inside it, and of those the minutes under ATC. Table `sector_coverage`.",
)
def sector_coverage(
    context: AssetExecutionContext, database: DatabaseResource
) -> MaterializeResult:
    engine = database.engine()
    parents = stored_sector_parents(engine)
    flown = covered = 0.0
    inserted = deleted = 0
    frames = []
    for start, end in hours_of(context):
        with engine.connect() as connection:
            stays = stays_frame(stays_overlapping(connection, start, end, max_stay()))
            staffing = staffing_frame(staffing_overlapping(connection, start, end))
        coverage = compute_coverage(stays, staffing, parents, start, end)
        removed, added = write_coverage(engine, start, end, coverage)
        deleted, inserted = deleted + removed, inserted + added
        hour_flown, hour_covered = network_coverage(stays, staffing, parents, start, end)
        flown, covered = flown + hour_flown, covered + hour_covered
        frames.append(coverage)
        context.log.info(f"{start.isoformat()}: {added} rows, {removed} replaced")
    coverage = pd.concat(frames, ignore_index=True)
    summed = coverage.groupby("sector_id", as_index=False)[
        ["staffed_minutes", "flight_minutes", "covered_flight_minutes"]
    ].sum()
    return MaterializeResult(
        metadata={
            "hours": len(frames),
            "network_flight_minutes": round(flown, 3),
            "network_covered_flight_minutes": round(covered, 3),
            "network_coverage_share": round(covered / flown, 4) if flown else 0.0,
            "sectors_staffed": int((summed["staffed_minutes"] > 0).sum()),
            "rows_inserted": inserted,
            "rows_deleted": deleted,
            "busiest_sectors": _top(
                summed,
                "flight_minutes",
                ["sector_id", "staffed_minutes", "flight_minutes", "covered_flight_minutes"],
            ),
        }
    )
