"""`vatsim-pipeline sectors load`: load sector boundaries and replace the stored ones now.

It takes its files as the `sectors` asset does (given files, `VATSIM_SECTORS_DIR`, or
the live release) and stores them directly, without a Dagster run, so that a first
install has sectors within seconds. Every file is checked before the table is touched.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import click
from sqlalchemy import make_url

from vatsim_pipeline.cli.errors import UserError
from vatsim_pipeline.cli.sectors_group import sectors_group
from vatsim_pipeline.sectors.airports import read_airports
from vatsim_pipeline.sectors.boundaries import SectorSourceError
from vatsim_pipeline.sectors.sources import (
    SECTORS_DIR_VARIABLE,
    SectorFiles,
    default_files,
    given_files,
)
from vatsim_pipeline.settings import Settings
from vatsim_pipeline.storage.airport_storage import replace_airports
from vatsim_pipeline.storage.engine import engine_for
from vatsim_pipeline.storage.sector_writes import replace_sectors

KINDS = ("fir", "uir", "tracon", "custom")


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _resolve(
    vatspy_dat: str | None, boundaries: str | None, tracon: str | None, extra: tuple[str, ...]
) -> SectorFiles:
    if bool(vatspy_dat) != bool(boundaries):
        raise UserError("--vatspy-dat and --boundaries go together (give neither for the release)")
    for path in (vatspy_dat, boundaries, tracon, *extra):
        if path and not Path(path).is_file():
            raise UserError(f"{path}: no such file")
    if vatspy_dat and boundaries:
        return given_files(vatspy_dat, boundaries, tracon, extra)
    folder = os.environ.get(SECTORS_DIR_VARIABLE)
    _progress(
        f"using the release in {SECTORS_DIR_VARIABLE}={folder}"
        if folder
        else "fetching the current VATSpy release (VATSIM_MAP_DATA_URL)"
    )
    return default_files(extra, tracon)


@sectors_group.command("load")
@click.option("--vatspy-dat", metavar="FILE", help="VATSpy.dat (FIRs and UIRs).")
@click.option("--boundaries", metavar="FILE", help="Boundaries.geojson of the same release.")
@click.option("--tracon", metavar="FILE", help="simaware TRACONBoundaries.geojson.")
@click.option("--extra", metavar="FILE", multiple=True, help="Custom sectors (GeoJSON); repeat.")
def load(
    vatspy_dat: str | None, boundaries: str | None, tracon: str | None, extra: tuple[str, ...]
) -> None:
    """Load sector boundaries (and the airports of VATSpy.dat) into $VATSIM_DATABASE_URL,
    replacing the stored ones in one transaction each; a bad file changes nothing.

    Without --vatspy-dat and --boundaries: the release folder in $VATSIM_SECTORS_DIR,
    else the current VATSpy release (with simaware TRACONs), downloaded into
    $VATSIM_HOME/sectors/.
    """
    try:
        files = _resolve(vatspy_dat, boundaries, tracon, extra)
        _progress(f"loading {files.boundaries} ({files.label})")
        loaded = files.load()
        places = read_airports(files.vatspy_dat)
    except SectorSourceError as error:
        raise UserError(str(error)) from error
    url = Settings.from_env().database_url
    _progress(f"storing {len(loaded)} sectors into {make_url(url).render_as_string()}")
    try:
        counts = replace_sectors(engine_for(url), loaded, files.label)
    except ValueError as error:
        raise UserError(f"{files.boundaries}: {error}") from error
    _progress(f"stored {replace_airports(engine_for(url), places, files.label)} airports")
    kinds = Counter(sector.kind for sector in loaded)
    click.echo(
        f"stored {len(loaded)} sectors ({files.label}): "
        + ", ".join(f"{kind} {kinds.get(kind, 0)}" for kind in KINDS)
        + "; "
        + ", ".join(f"{name} {number}" for name, number in counts.items())
    )
