"""Where a sector load takes its files from: given paths, a release folder named by
`VATSIM_SECTORS_DIR`, or the current release downloaded into `$VATSIM_HOME/sectors`.

Shared by the `sectors` asset and `vatsim-pipeline sectors load`, so both resolve and
label a load the same way (the label is stored in `sectors.source`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from vatsim_pipeline.sectors.boundaries import Sector, load_sectors
from vatsim_pipeline.sectors.release import ReleaseSource, fetch_release
from vatsim_pipeline.settings import Settings

SECTORS_DIR_VARIABLE = "VATSIM_SECTORS_DIR"


@dataclass(frozen=True)
class SectorFiles:
    """The files of one load, where they came from, and the release commit if known."""

    vatspy_dat: Path
    boundaries: Path
    tracon: Path | None
    extra: tuple[Path, ...] = ()
    origin: str = "files"
    commit: str | None = None

    @property
    def label(self) -> str:
        return f"vatspy {self.commit[:7]}" if self.commit else f"files {self.boundaries.name}"

    def load(self) -> list[Sector]:
        """Every sector of these files; `SectorSourceError` on the first bad one."""
        return load_sectors(self.vatspy_dat, self.boundaries, self.tracon, self.extra)


def given_files(
    vatspy_dat: str | Path,
    boundaries: str | Path,
    tracon: str | Path | None = None,
    extra: Iterable[str | Path] = (),
) -> SectorFiles:
    return SectorFiles(
        vatspy_dat=Path(vatspy_dat),
        boundaries=Path(boundaries),
        tracon=Path(tracon) if tracon else None,
        extra=tuple(Path(p) for p in extra),
    )


def folder_files(directory: Path, extra: Iterable[str | Path] = ()) -> SectorFiles:
    """A folder laid out as a downloaded release: VATSpy.dat, Boundaries.geojson (or .gz)
    and, when present, TRACONBoundaries.geojson."""
    boundaries = directory / "Boundaries.geojson"
    if not boundaries.exists() and (directory / "Boundaries.geojson.gz").exists():
        boundaries = directory / "Boundaries.geojson.gz"
    tracon = directory / "TRACONBoundaries.geojson"
    return SectorFiles(
        vatspy_dat=directory / "VATSpy.dat",
        boundaries=boundaries,
        tracon=tracon if tracon.exists() else None,
        extra=tuple(Path(p) for p in extra),
        origin=f"{SECTORS_DIR_VARIABLE}={directory}",
    )


def live_files(extra: Iterable[str | Path] = (), tracon: str | Path | None = None) -> SectorFiles:
    """The current release (`VATSIM_MAP_DATA_URL`, `VATSIM_TRACON_URL`), downloaded into
    `$VATSIM_HOME/sectors/<commit>` unless already there; `tracon` replaces its TRACONs.
    Raises `ReleaseError` when it cannot be had."""
    source = ReleaseSource.from_env()
    release = fetch_release(
        source.map_data_url,
        Settings.from_env().home / "sectors",
        tracon_url=None if tracon else source.tracon_url,
    )
    return SectorFiles(
        vatspy_dat=release.vatspy_dat,
        boundaries=release.boundaries,
        tracon=Path(tracon) if tracon else release.tracon,
        extra=tuple(Path(p) for p in extra),
        origin="live",
        commit=release.commit,
    )


def default_files(
    extra: Iterable[str | Path] = (), tracon: str | Path | None = None
) -> SectorFiles:
    """The folder in `VATSIM_SECTORS_DIR` when set, else the live release."""
    directory = os.environ.get(SECTORS_DIR_VARIABLE)
    if directory:
        found = folder_files(Path(directory), extra)
        return found if tracon is None else replace(found, tracon=Path(tracon))
    return live_files(extra, tracon)
