"""Point-in-sector lookup: hand-made shapes for each rule, then the real VATSpy and
simaware boundaries at places whose answer was checked against the data by hand."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box

from vatsim_pipeline.sectors.boundaries import Sector, load_sectors, sector_geometry
from vatsim_pipeline.sectors.locate import SectorIndex
from vatsim_pipeline_tests.shared_data import shared_data


def sector(sector_id: str, *shapes: Polygon, kind: str = "fir") -> Sector:
    return Sector(id=sector_id, name=sector_id, kind=kind, geometry=sector_geometry(shapes))


@pytest.fixture(scope="module")
def shapes() -> SectorIndex:
    return SectorIndex(
        [
            # A 10x10 square at the origin with a 2x2 hole in its middle.
            sector("HOLED", Polygon(box(0, 0, 10, 10).exterior, [box(4, 4, 6, 6).exterior.coords])),
            # A FIR and a smaller TRACON overlapping it.
            sector("BIG", box(20, 0, 30, 10)),
            sector("SMALL", box(22, 2, 25, 5), kind="tracon"),
            # Two neighbours sharing the edge x = 40.
            sector("WEST", box(35, 0, 40, 10)),
            sector("EAST", box(40, 0, 50, 10)),
            # Two islands in one sector.
            sector("ISLANDS", box(60, 0, 61, 1), box(70, 0, 71, 1)),
            # Written from 170 to 190: across the antimeridian.
            sector("PACIFIC", Polygon([(170, -10), (190, -10), (190, 10), (170, 10)])),
        ]
    )


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        (1, 1, "HOLED"),
        (5, 5, None),  # in the hole
        (4, 5, "HOLED"),  # on the hole's edge: covered
        (0, 0, "HOLED"),  # on the outer corner
        (3, 23, "SMALL"),  # the smaller of two overlapping sectors
        (8, 28, "BIG"),
        (5, 22, "SMALL"),  # on SMALL's edge, inside BIG
        (5, 40, "WEST"),  # on the shared edge: both cover it, WEST has the smaller area
        (0.5, 70.5, "ISLANDS"),
        (0.5, 65, None),  # between the islands
        (0, 179.9, "PACIFIC"),
        (0, -179.9, "PACIFIC"),
        (0, 180, "PACIFIC"),
        (0, -180, "PACIFIC"),
        (0, 190, "PACIFIC"),  # longitudes beyond 180 are wrapped
        (0, -169, None),
        (50, 0, None),
    ],
)
def test_locate_hand_made(
    shapes: SectorIndex, lat: float, lon: float, expected: str | None
) -> None:
    found = shapes.locate(lat, lon)
    assert (found.id if found else None) == expected


def test_locate_many_matches_locate_point_by_point(shapes: SectorIndex) -> None:
    lats = [1, 5, 3, 5, 0.5, 0, 0, float("nan")]
    lons = [1, 5, 23, 40, 70.5, 179.9, -179.9, 0]
    assert shapes.locate_many(lats, lons) == [
        "HOLED",
        None,
        "SMALL",
        "WEST",
        "ISLANDS",
        "PACIFIC",
        "PACIFIC",
        None,
    ]
    assert shapes.locate_many(np.array([]), np.array([])) == []


def test_kinds_filter_and_covering(shapes: SectorIndex) -> None:
    assert shapes.locate(3, 23, kinds=("fir",)).id == "BIG"
    assert shapes.locate(3, 23, kinds=("uir",)) is None
    assert shapes.locate_many([3, 8], [23, 28], kinds=["tracon"]) == ["SMALL", None]
    assert [s.id for s in shapes.covering(3, 23)] == ["SMALL", "BIG"]
    assert [s.id for s in shapes.covering(5, 40)] == ["WEST", "EAST"]


def test_shape_mismatch_is_refused(shapes: SectorIndex) -> None:
    with pytest.raises(ValueError, match="equal length"):
        shapes.locate_many([1, 2], [1])


def test_sectors_keep_their_geometry_type(shapes: SectorIndex) -> None:
    assert all(isinstance(s.geometry, MultiPolygon) for s in shapes.sectors)


# --- the real files ----------------------------------------------------------------


@pytest.fixture(scope="module")
def vatspy() -> list[Sector]:
    return load_sectors(shared_data("VATSpy.dat"), shared_data("Boundaries.geojson.gz"))


@pytest.fixture(scope="module")
def firs(vatspy: list[Sector]) -> SectorIndex:
    return SectorIndex(vatspy)


@pytest.fixture(scope="module")
def with_tracons() -> SectorIndex:
    return SectorIndex(
        load_sectors(
            shared_data("VATSpy.dat"),
            shared_data("Boundaries.geojson.gz"),
            tracon=shared_data("TRACONBoundaries.geojson"),
        )
    )


def ids(sectors: list[Sector]) -> list[str]:
    return [s.id for s in sectors]


def test_frankfurt_is_in_langen(firs: SectorIndex, with_tracons: SectorIndex) -> None:
    lat, lon = 50.0379, 8.5622  # EDDF
    assert ids(firs.covering(lat, lon)) == [
        "EDGG-BAD",
        "EDGG-S",
        "EDGG-CS",
        "EDGG",
        "UIR:EUC-ME",
        "EDXX",
    ]
    assert firs.locate(lat, lon).name == "Langen Radar (Baden) - Langen"
    assert with_tracons.locate(lat, lon).id == "TRACON:EDDF"
    assert with_tracons.locate(lat, lon, kinds=("fir",)).id == "EDGG-BAD"


def test_london_is_in_egtt(firs: SectorIndex, with_tracons: SectorIndex) -> None:
    lat, lon = 51.5074, -0.1278
    assert "EGTT" in ids(firs.covering(lat, lon))
    assert firs.locate(lat, lon).id == "EGTT-D"
    assert with_tracons.locate(lat, lon).id == "TRACON:EGLL"


def test_new_york_is_in_kzny_or_its_tracon(firs: SectorIndex, with_tracons: SectorIndex) -> None:
    lat, lon = 40.7128, -74.0060
    assert firs.locate(lat, lon).id == "KZNY"
    assert ids(with_tracons.covering(lat, lon)) == [
        "TRACON:N90 LGA",
        "TRACON:N90 JFK",
        "TRACON:N90",
        "KZNY",
    ]
    assert with_tracons.locate(40.6413, -73.7781).id == "TRACON:N90 JFK"  # JFK airport


def test_mid_atlantic_is_oceanic(firs: SectorIndex) -> None:
    new_york_oceanic = firs.locate(35, -50)
    assert (new_york_oceanic.id, new_york_oceanic.oceanic) == ("KZNY:OCEANIC", True)
    atlantico = firs.locate(-10, -25)
    assert (atlantico.id, atlantico.oceanic) == ("SBAO-NE", True)
    # Shanwick and Gander are oceanic by name but `"oceanic": "0"` in Boundaries.geojson.
    assert (firs.locate(45, -20).id, firs.locate(45, -20).oceanic) == ("EGGX", False)
    assert firs.locate(50, -40).id == "CZQO"


def test_border_between_shanwick_and_gander(firs: SectorIndex) -> None:
    # 30W is the shared edge: both cover it, the smaller (Shanwick) wins.
    assert ids(firs.covering(50, -30))[:2] == ["EGGX", "CZQO"]
    assert firs.locate(50, -30).id == "EGGX"


@pytest.mark.parametrize(
    ("lat", "expected"),
    [(-30, "NZZO"), (40, "KZAK"), (55, "PAZA-P"), (70, "UHMM-N2")],
)
def test_pacific_sectors_across_the_antimeridian(
    firs: SectorIndex, lat: float, expected: str
) -> None:
    assert firs.locate_many([lat, lat, lat, lat], [179.9, -179.9, 180.0, -180.0]) == [expected] * 4


def test_bulk_agrees_with_brute_force(with_tracons: SectorIndex) -> None:
    """Each point tested against every sector, without the tree: same answers."""
    sectors = with_tracons.sectors
    geometries = np.array([s.geometry for s in sectors], dtype=object)
    areas = shapely.area(geometries)
    rng = np.random.default_rng(20230312)
    lats, lons = rng.uniform(-90, 90, 1000), rng.uniform(-180, 180, 1000)
    expected = []
    for lat, lon in zip(lats, lons, strict=True):
        hits = np.flatnonzero(shapely.covers(geometries, Point(lon, lat)))
        best = min(hits, key=lambda i: (areas[i], i), default=None)
        expected.append(None if best is None else sectors[best].id)
    assert sum(e is not None for e in expected) > 500
    assert with_tracons.locate_many(lats, lons) == expected
