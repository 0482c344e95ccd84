"""The cell grid answers exactly as testing each point against every sector whose
bounding box holds it: on the real VATSpy and simaware boundaries, at their vertices and
edge midpoints (on a border), on the grid's own cell lines, at the poles and the
antimeridian, at random, and for points the grid leaves to the tree (NaN, latitudes out
of range)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from vatsim_pipeline.sectors.boundaries import load_sectors
from vatsim_pipeline.sectors.locate import SectorIndex
from vatsim_pipeline_tests.shared_data import shared_data

Points = tuple[np.ndarray, np.ndarray]


def _points(index: SectorIndex) -> dict[str, Points]:
    rng = np.random.default_rng(20261207)
    coords = shapely.get_coordinates(np.array([s.geometry for s in index.sectors]))
    middles = (coords[1:] + coords[:-1]) / 2
    lines_lat, lines_lon = np.meshgrid(np.arange(-90, 90.5, 0.5), np.arange(-180, 180.5, 2.5))
    return {
        "vertices": (coords[:, 1], coords[:, 0]),
        "edge middles": (middles[:, 1], middles[:, 0]),
        "cell lines": (lines_lat.ravel(), lines_lon.ravel()),
        "random": (rng.uniform(-90, 90, 200_000), rng.uniform(-180, 180, 200_000)),
        "edges of the world": (
            np.array([90, -90, 0, 0, 89.99, -89.99, 50, 10, 0, 95, -100, np.nan, 5]),
            np.array([0, 0, 180, -180, 179.99, -179.99, 190, -540, 360, 0, 0, 0, np.nan]),
        ),
    }  # fmt: skip


@pytest.fixture(scope="module")
def index() -> SectorIndex:
    return SectorIndex(
        load_sectors(
            shared_data("VATSpy.dat"),
            shared_data("Boundaries.geojson.gz"),
            tracon=shared_data("TRACONBoundaries.geojson"),
        )
    )


def test_the_grid_answers_as_the_point_tests(index: SectorIndex) -> None:
    points = _points(index)
    tested = {name: index._covering(lats, lons, None) for name, (lats, lons) in points.items()}
    located = {name: index.locate_many(lats, lons) for name, (lats, lons) in points.items()}
    firs = index.locate_many(*points["random"], kinds=("fir",))
    index.build_grid()
    assert index._grid is not None
    for name, (lats, lons) in points.items():
        point_at, sector_at = index._covering(lats, lons, None)
        assert np.array_equal(point_at, tested[name][0]), name
        assert np.array_equal(sector_at, tested[name][1]), name
        assert index.locate_many(lats, lons) == located[name], name
    assert index.locate_many(*points["random"], kinds=("fir",)) == firs
    # What the points test: borders crossed, overlaps, gaps, the edges of the world.
    assert len(tested["vertices"][0]) > 2 * len(points["vertices"][0])
    assert None in located["random"] and len(set(located["random"])) > 1000
    assert located["edges of the world"][-4:] == [None, None, None, None]
    assert located["edges of the world"][2] is not None


def test_building_the_grid_twice_keeps_the_first(index: SectorIndex) -> None:
    index.build_grid()
    grid = index._grid
    index.build_grid()
    assert index._grid is grid
