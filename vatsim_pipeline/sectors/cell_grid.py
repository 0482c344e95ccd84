"""Which sectors cover each half-degree cell of the globe, wholly or in part: the sectors
covering a point are then those covering its cell wholly, plus those covering it in
part that pass a point test.

The forecast locates about 60,000 sampled points a minute. Tested against every
sector whose bounding box holds them, that was 565,000 point-in-polygon tests; most
were inside large FIRs and UIRs that cover the point's whole cell, which the grid
answers without a test (125,000 tests left, 0.12 -> 0.04 CPU s). Building the grid
takes about 1.5 s, so it is built once per sector set in the warm process that forks
the runs (`SectorIndex.build_grid`), never by a run.

The answer is exactly the tree's: a cell is a closed box with corners on multiples of
half a degree (exact in binary), a point belongs to the cell `floor(2 * coordinate)`
(also exact), and GEOS's predicates are exact for the given coordinates; so a sector
covering a cell covers each point in it, and one not touching it covers none of them.
For a point, "covers" is "intersects", which GEOS tests from x and y without building
a point geometry.
"""

from __future__ import annotations

import numpy as np
import shapely

CELLS_PER_DEGREE = 2
COLUMNS = 360 * CELLS_PER_DEGREE
ROWS = 180 * CELLS_PER_DEGREE


def _compressed(
    cells: np.ndarray, sectors: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, sectors): cell c's sectors are sectors[offsets[c]:offsets[c + 1]]."""
    order = np.argsort(cells, kind="stable")
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(cells, minlength=count), out=offsets[1:])
    return offsets, sectors[order]


def _expand(
    offsets: np.ndarray, sectors: np.ndarray, cells: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(point, sector) index pairs: every sector of each point's cell."""
    starts = offsets[cells]
    counts = offsets[cells + 1] - starts
    point = np.repeat(np.arange(len(cells)), counts)
    within = np.arange(len(point)) - np.repeat(np.cumsum(counts) - counts, counts)
    return point, sectors[np.repeat(starts, counts) + within]


class CellGrid:
    """The sectors covering each cell wholly and in part, over prepared geometries."""

    def __init__(self, geometries: np.ndarray, tree: shapely.STRtree) -> None:
        self._geometries = geometries
        column, row = np.meshgrid(np.arange(COLUMNS), np.arange(ROWS), indexing="ij")
        west = column.ravel() / CELLS_PER_DEGREE - 180
        south = row.ravel() / CELLS_PER_DEGREE - 90
        boxes = shapely.box(west, south, west + 1 / CELLS_PER_DEGREE, south + 1 / CELLS_PER_DEGREE)
        cell, sector = tree.query(boxes)
        whole = shapely.covers(geometries[sector], boxes[cell])
        part = np.flatnonzero(~whole)
        part = part[shapely.intersects(geometries[sector[part]], boxes[cell[part]])]
        self._whole = _compressed(cell[whole], sector[whole], COLUMNS * ROWS)
        self._part = _compressed(cell[part], sector[part], COLUMNS * ROWS)

    @staticmethod
    def inside(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        """Which points the grid answers: finite, latitude and longitude in range."""
        return (np.abs(lats) <= 90) & (np.abs(lons) <= 180)

    def covering(self, lats: np.ndarray, lons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point, sector) index pairs where the sector covers the point, unordered; for
        points that are all `inside`."""
        column = np.floor(lons * CELLS_PER_DEGREE).astype(np.int64) + 180 * CELLS_PER_DEGREE
        row = np.floor(lats * CELLS_PER_DEGREE).astype(np.int64) + 90 * CELLS_PER_DEGREE
        cells = np.minimum(column, COLUMNS - 1) * ROWS + np.minimum(row, ROWS - 1)
        whole_point, whole_sector = _expand(*self._whole, cells)
        part_point, part_sector = _expand(*self._part, cells)
        hit = shapely.intersects_xy(
            self._geometries[part_sector], lons[part_point], lats[part_point]
        )
        return (
            np.concatenate([whole_point, part_point[hit]]),
            np.concatenate([whole_sector, part_sector[hit]]),
        )
