"""Simulated history for the pattern and forecast tests: the project's traffic simulator
stepped through hours, each snapshot stored and located in the real sectors, as an
ingest run would (without Dagster, which the asset tests add on top)."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import Engine

from vatsim_pipeline.feed.simulator import Simulator
from vatsim_pipeline.sectors.airports import read_airports
from vatsim_pipeline.sectors.boundaries import Sector
from vatsim_pipeline.storage.airport_storage import replace_airports
from vatsim_pipeline.storage.occupancy_writes import SectorSet
from vatsim_pipeline.storage.sector_writes import replace_sectors
from vatsim_pipeline.storage.simulated_history import store_simulated
from vatsim_pipeline_tests.shared_data import shared_data
from vatsim_pipeline_tests.storage.reads_support import real_sectors


@cache
def sectors_and_index() -> tuple[tuple[Sector, ...], SectorSet]:
    stored = real_sectors()
    return stored, SectorSet.of(stored, (len(stored), None))


def simulate_into(
    engine: Engine,
    start: datetime,
    hours: float,
    *,
    pilots: int = 150,
    controllers: int = 30,
    step_s: float = 60.0,
    seed: int = 7,
) -> list[datetime]:
    """Store the real sectors and VATSpy airports, then `hours` of simulated traffic
    from `start`, one snapshot per `step_s`; returns the snapshot times."""
    stored, sector_set = sectors_and_index()
    replace_sectors(engine, stored, "test")
    replace_airports(engine, read_airports(shared_data("VATSpy.dat")), "test")
    simulator = Simulator(
        pilots=pilots, controllers=controllers, seed=seed, start=start, daily_rhythm=True
    )
    return store_simulated(engine, simulator, int(hours * 3600 / step_s), step_s, sector_set)
