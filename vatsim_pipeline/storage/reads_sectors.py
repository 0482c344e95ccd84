"""Sector queries: the stored sectors, without their boundaries unless asked for, and
who staffs each of them now.

Staffing follows `vatsim_pipeline.sectors.staffing` (callsign prefixes, longest first),
which needs every sector to pick the most specific one, so it is computed over the whole
set before a page is cut. Boundaries are not needed for it and are never parsed here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import orjson
from shapely.geometry import GeometryCollection
from sqlalchemy import Connection, Row, select

from vatsim_pipeline.sectors.boundaries import Sector
from vatsim_pipeline.sectors.staffing import StaffingIndex, sectors_staffed_by
from vatsim_pipeline.storage.reads_base import InvalidQuery, Page, SectorSummary
from vatsim_pipeline.storage.schema import sectors

SUMMARY_COLUMNS = (
    sectors.c.id,
    sectors.c.name,
    sectors.c.callsign_prefix,
    sectors.c.kind,
    sectors.c.oceanic,
    sectors.c.region,
    sectors.c.division,
    sectors.c.min_lat,
    sectors.c.min_lon,
    sectors.c.max_lat,
    sectors.c.max_lon,
)
STAFFING_COLUMNS = (sectors.c.suffix, sectors.c.members)
NO_BOUNDARY = GeometryCollection()
KINDS = ("fir", "uir", "tracon", "custom")
"""The sector kinds the loaders store."""


def staffed_sectors(
    active_positions: Iterable[tuple[str, int | None]], stored: Iterable[Sector]
) -> dict[str, list[str]]:
    """Sector id -> callsigns staffing it, from (callsign, facility) of active controllers."""
    index = StaffingIndex(stored)
    staffed: dict[str, list[str]] = defaultdict(list)
    for callsign, facility in active_positions:
        for sector_id in sectors_staffed_by(callsign, facility, index):
            staffed[sector_id].append(callsign)
    return dict(staffed)


def _as_sector(row: Row) -> Sector:
    """A stored sector for staffing only: prefixes, suffix and members, no boundary."""
    return Sector(
        id=row.id,
        name=row.name,
        kind=row.kind,
        geometry=NO_BOUNDARY,
        prefixes=_split(row.callsign_prefix),
        suffix=row.suffix,
        members=_split(row.members),
        oceanic=bool(row.oceanic),
    )


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def _bbox(row: Row) -> list[float] | None:
    box = [row.min_lat, row.min_lon, row.max_lat, row.max_lon]
    return None if None in box else box


def sector_page(
    connection: Connection,
    active_positions: list[tuple[str, int | None]],
    *,
    kind: str | None,
    limit: int,
    offset: int,
    with_geometry: bool,
) -> Page[SectorSummary]:
    """Sectors ordered by id, optionally of one kind, with their staffing."""
    if kind is not None and kind not in KINDS:
        raise InvalidQuery("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    rows = connection.execute(
        select(*SUMMARY_COLUMNS, *STAFFING_COLUMNS).order_by(sectors.c.id)
    ).all()
    staffing = staffed_sectors(active_positions, (_as_sector(row) for row in rows))
    wanted = [row for row in rows if kind is None or row.kind == kind]
    page = wanted[offset : offset + limit]
    geometries: dict[str, dict] = {}
    if with_geometry and page:
        geometries = {
            row.id: orjson.loads(row.geometry)
            for row in connection.execute(
                select(sectors.c.id, sectors.c.geometry).where(
                    sectors.c.id.in_([row.id for row in page])
                )
            )
        }
    items = [
        SectorSummary(
            id=row.id,
            name=row.name,
            callsign_prefix=row.callsign_prefix,
            kind=row.kind,
            oceanic=bool(row.oceanic),
            region=row.region,
            division=row.division,
            bbox=_bbox(row),
            staffed=row.id in staffing,
            staffed_by=staffing.get(row.id, []),
            geometry=geometries.get(row.id),
        )
        for row in page
    ]
    return Page(items=items, total=len(wanted), limit=limit, offset=offset)
