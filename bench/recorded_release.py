"""The recorded VATSpy release (sectors and airports) stored into a bench's database, as
`vatsim-pipeline sectors load` stores it: the world every simulated day is located in."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from vatsim_pipeline.sectors.airports import read_airports
from vatsim_pipeline.sectors.boundaries import load_sectors
from vatsim_pipeline.storage.airport_storage import replace_airports
from vatsim_pipeline.storage.sector_writes import replace_sectors


def store_recorded_release(engine: Engine, folder: Path) -> None:
    """Store the sectors and airports of the VATSpy files in `folder`."""
    sectors = load_sectors(
        folder / "VATSpy.dat",
        folder / "Boundaries.geojson.gz",
        tracon=folder / "TRACONBoundaries.geojson",
    )
    replace_sectors(engine, sectors, "bench")
    replace_airports(engine, read_airports(folder / "VATSpy.dat"), "bench")
