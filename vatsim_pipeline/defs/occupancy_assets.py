"""Sector occupancy of flights and sectors staffed by controllers, per snapshot, located
by the ingest run's one step (`ingest`) once its tables are written; that step
ends by reporting the table checks (`report_checks`).

It locates the snapshot the run landed or was given, so that every run, replay included,
updates exactly its own snapshot. Positions and connections are read from the database
(see `storage.occupancy_writes`), never from the payload.
"""

from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetMaterialization, AssetSpec, DagsterInstance
from sqlalchemy import Engine

from vatsim_pipeline.defs.landing_check import LANDING_CHECK, probed_landing
from vatsim_pipeline.defs.resources import DatabaseResource, LandingResource
from vatsim_pipeline.defs.table_checks import Targets, report_check, report_table_checks
from vatsim_pipeline.defs.table_docs import table_metadata
from vatsim_pipeline.feed.landing import LandedSnapshot
from vatsim_pipeline.resilience.retry import fail_fast_if_unretryable
from vatsim_pipeline.storage.occupancy_writes import OccupancyWrite, sector_set, update_occupancy

ANALYTICS_GROUP = "analytics"
OCCUPANCY = "flight_sector_occupancy"
STAFFING = "controller_sectors"


OCCUPANCY_SPECS = [
    AssetSpec(
        OCCUPANCY,
        group_name=ANALYTICS_GROUP,
        deps=["landed_snapshot", "flights", "sectors"],
        description="One row per stay of a flight in a sector (most specific sector of "
        "each position): entry and exit time and point; no exit while still inside. "
        "`sector_assignments` holds the sector of every position, one row per stretch "
        "of a flight's snapshots in one sector.",
        metadata=table_metadata(OCCUPANCY),
    ),
    AssetSpec(
        STAFFING,
        group_name=ANALYTICS_GROUP,
        deps=["landed_snapshot", "controllers", "sectors"],
        description="The sectors each controller connection staffs, read from its "
        "callsign and facility as VATSpy and SimAware do.",
        metadata=table_metadata(STAFFING),
    ),
]


def locate(
    context: AssetExecutionContext, engine: Engine, landed: LandedSnapshot
) -> Iterator[AssetMaterialization]:
    """Locate the snapshot's positions, update intervals and staffing in one transaction."""
    try:
        sectors = sector_set(engine)
        if sectors is None:
            context.log.warning(
                f"no sectors stored yet: the positions of {landed.update_timestamp.isoformat()} "
                "stay unassigned (sensor sectors_when_missing requests a refresh_sectors run)"
            )
            yield from _without_sectors()
            return
        write = update_occupancy(engine, landed.update_timestamp, sectors)
    except Exception as error:
        fail_fast_if_unretryable(error, "database")
    context.log.info(_summary(write))
    # One write located both: its time is said once, on occupancy; the snapshot's update
    # timestamp is on the run's `landed_snapshot`.
    yield AssetMaterialization(
        asset_key=OCCUPANCY,
        metadata={
            "positions": write.positions,
            "positions_located": write.assigned,
            "positions_outside_sectors": write.outside_sectors,
            "flights_rebuilt": write.intervals.flights,
            "rows_inserted": write.intervals.inserted,
            "rows_updated": write.intervals.updated,
            "rows_deleted": write.intervals.deleted,
            "elapsed_ms": write.elapsed_ms,
        },
    )
    yield AssetMaterialization(
        asset_key=STAFFING,
        metadata={
            "controllers_online": write.staffing.controllers,
            "controllers_staffing": write.staffing.staffing,
            "rows_inserted": write.staffing.inserted,
            "rows_deleted": write.staffing.deleted,
        },
    )


def report_checks(
    instance: DagsterInstance,
    database: DatabaseResource,
    landing: LandingResource,
    targets: Targets,
) -> None:
    """The table checks and the landing check, for the materializations this run made."""
    report_table_checks(instance, database, targets)
    report_check(instance, LANDING_CHECK, probed_landing(landing), targets)


def _without_sectors() -> Iterator[AssetMaterialization]:
    """Both assets, recorded as having located nothing, so that the run's table checks
    are reported for them (and say why positions are unassigned)."""
    yield AssetMaterialization(
        asset_key=OCCUPANCY, metadata={"positions_located": 0, "sectors_stored": 0}
    )
    yield AssetMaterialization(
        asset_key=STAFFING, metadata={"controllers_staffing": 0, "sectors_stored": 0}
    )


def _summary(write: OccupancyWrite) -> str:
    return (
        f"snapshot {write.observed_at.isoformat()}: {write.assigned} of {write.positions} "
        f"positions located ({write.outside_sectors} outside every sector), "
        f"{write.intervals.flights} flights rebuilt (+{write.intervals.inserted} "
        f"~{write.intervals.updated} -{write.intervals.deleted}), "
        f"{write.staffing.staffing} of {write.staffing.controllers} connections staffing; "
        f"{write.elapsed_ms:.0f} ms"
    )
