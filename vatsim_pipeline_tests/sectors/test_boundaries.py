"""Loading sectors: hand-made sources for each rule, the real VATSpy and simaware files
for the facts those rules were written for."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box

from vatsim_pipeline.sectors.boundaries import (
    Sector,
    SectorSourceError,
    load_sectors,
    sector_geometry,
)
from vatsim_pipeline_tests.shared_data import shared_data

DAT = """[Countries]
Germany|ED|Radar
[Airports]
EDDF|Frankfurt|50.03|8.57||EDGG|0
[FIRs]
;ICAO|NAME|CALLSIGN PREFIX|FIR BOUNDARY
AAAA|Alpha||AAAA
AAAA|Alpha Upper|AAAA_U|AAAA
BBBB|Bravo|BRV|BBBB
XTRA|Xtra on Bravo|XTR|BBBB
CCCC|Charlie|CHA|CCCC
[UIRs]
ABU|Alpha Bravo Upper|AAAA,BBBB
[IDL]
90.0|-180.0
"""


def feature(props: dict, coordinates: list, kind: str = "MultiPolygon") -> dict:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": kind, "coordinates": coordinates},
    }


def square(x: float, y: float, size: float = 1.0) -> list:
    return [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]


def write_collection(path: Path, features: list[dict], compress: bool = False) -> Path:
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def boundary(boundary_id: str, coordinates: list, oceanic: str = "0") -> dict:
    props = {"id": boundary_id, "oceanic": oceanic, "label_lat": "0", "label_lon": "0"}
    return feature({**props, "region": "EMEA", "division": "VATEUD"}, coordinates)


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Path, Path]:
    dat = tmp_path / "VATSpy.dat"
    dat.write_text(DAT, encoding="utf-8")
    geojson = write_collection(
        tmp_path / "Boundaries.geojson.gz",
        [
            boundary("AAAA", [square(0, 0)]),
            boundary("BBBB", [square(1, 0)]),
            boundary("CCCC", [square(5, 5)]),
            boundary("CCCC", [square(6, 5)]),
            boundary("CCCC", [square(5, 8)], oceanic="1"),
        ],
        compress=True,
    )
    return dat, geojson


def by_id(sectors: list[Sector]) -> dict[str, Sector]:
    return {s.id: s for s in sectors}


def test_firs_take_name_and_prefixes_from_vatspy(sources: tuple[Path, Path]) -> None:
    sectors = by_id(load_sectors(*sources))
    alpha, bravo = sectors["AAAA"], sectors["BBBB"]
    assert (alpha.kind, alpha.name, alpha.prefixes) == ("fir", "Alpha", ("AAAA", "AAAA_U"))
    # The boundary id is also a prefix when no [FIRs] line claims it.
    assert (bravo.name, bravo.prefixes, bravo.callsign_prefix) == (
        "Bravo",
        ("BRV", "XTR", "BBBB"),
        "BRV",
    )
    assert (alpha.region, alpha.division, alpha.oceanic) == ("EMEA", "VATEUD", False)
    assert alpha.bbox == (0.0, 0.0, 1.0, 1.0)
    assert alpha.source == "Boundaries.geojson.gz"


def test_parts_of_one_boundary_merge_and_an_oceanic_variant_stays_apart(
    sources: tuple[Path, Path],
) -> None:
    sectors = by_id(load_sectors(*sources))
    domestic, oceanic = sectors["CCCC"], sectors["CCCC:OCEANIC"]
    assert domestic.geometry.equals(box(5, 5, 7, 6))
    assert (domestic.oceanic, oceanic.oceanic) == (False, True)
    assert oceanic.geometry.equals(box(5, 8, 6, 9))
    assert oceanic.prefixes == domestic.prefixes == ("CHA", "CCCC")


def test_uir_is_the_union_of_its_firs(sources: tuple[Path, Path]) -> None:
    uir = by_id(load_sectors(*sources))["UIR:ABU"]
    assert (uir.kind, uir.name, uir.prefixes, uir.members) == (
        "uir",
        "Alpha Bravo Upper",
        ("ABU",),
        ("AAAA", "BBBB"),
    )
    assert uir.geometry.equals(box(0, 0, 2, 1))
    assert (uir.region, uir.division) == ("EMEA", "VATEUD")


def test_tracon_ids_are_prefixed_and_repeated_ids_told_apart(
    sources: tuple[Path, Path], tmp_path: Path
) -> None:
    tracon = write_collection(
        tmp_path / "TRACONBoundaries.geojson",
        [
            feature(
                {"id": "AAAA", "prefix": ["AAA"], "name": "Alpha Approach"},
                square(0, 0, 0.5),
                "Polygon",
            ),
            feature(
                {"id": "NCT", "prefix": ["SFO"], "suffix": "DEP", "name": "Dep"}, [square(3, 3)]
            ),
            feature({"id": "NCT", "prefix": ["SFO", "OAK"], "name": "App"}, [square(3, 4)]),
            feature({"id": "NCT", "prefix": ["SFO", "OAK"], "name": "App"}, [square(4, 4)]),
            feature(
                {"id": "CYOD", "prefix": ["CYOD"], "Name": "Cold Lake"},
                [[[[0, 3, 0], [1, 3, 0], [1, 4, 0]]]],
            ),
        ],
    )
    sectors = by_id(load_sectors(*sources, tracon=tracon))
    assert sectors["TRACON:AAAA"].name == "Alpha Approach"
    assert "AAAA" in sectors  # the FIR keeps its own id
    dep, app = sectors["TRACON:NCT:SFO_DEP"], sectors["TRACON:NCT:SFO+OAK"]
    assert (dep.prefixes, dep.suffix, app.prefixes, app.suffix) == (
        ("SFO",),
        "DEP",
        ("SFO", "OAK"),
        None,
    )
    assert app.geometry.equals(box(3, 4, 5, 5))  # same id, prefixes and suffix: merged
    cold_lake = sectors["TRACON:CYOD"]
    assert cold_lake.name == "Cold Lake"
    assert not cold_lake.geometry.has_z


def test_custom_sectors_take_given_or_generated_ids(
    sources: tuple[Path, Path], tmp_path: Path
) -> None:
    extra = write_collection(
        tmp_path / "events.geojson",
        [
            feature(
                {"id": "EDGG-E", "name": "Langen East", "prefix": "edgg_e"},
                square(0, 0, 0.5),
                "Polygon",
            ),
            feature({"oceanic": True}, [square(9, 9)]),
        ],
    )
    sectors = by_id(load_sectors(*sources, extra=[extra]))
    named, generated = sectors["CUSTOM:EDGG-E"], sectors["CUSTOM:events-2"]
    assert (named.kind, named.name, named.prefixes, named.oceanic) == (
        "custom",
        "Langen East",
        ("EDGG_E",),
        False,
    )
    assert (generated.name, generated.prefixes, generated.oceanic) == (None, (), True)


def test_rings_are_closed_and_self_intersections_repaired() -> None:
    unclosed = shapely.geometry.shape(
        {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2]]]}
    )
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])
    assert not bowtie.is_valid
    repaired = sector_geometry([unclosed, bowtie])
    assert isinstance(repaired, MultiPolygon) and repaired.is_valid
    assert repaired.area == pytest.approx(4.0)
    assert sector_geometry([bowtie]).area == pytest.approx(2.0)


@pytest.mark.parametrize(
    "ring",
    [
        [(170, -10), (190, -10), (190, 10), (170, 10)],  # written past +180
        [(-190, -10), (-170, -10), (-170, 10), (-190, 10)],  # written past -180
        [(170, -10), (-170, -10), (-170, 10), (170, 10)],  # jumping from 170 to -170
    ],
)
def test_polygons_across_the_antimeridian_are_cut_at_180(ring: list) -> None:
    geometry = sector_geometry([Polygon(ring)])
    assert geometry.is_valid and len(geometry.geoms) == 2
    assert geometry.bounds == (-180.0, -10.0, 180.0, 10.0)
    assert geometry.area == pytest.approx(400.0)
    for lon in (179.9, -179.9, 180.0, -180.0, 175.0, -175.0):
        assert geometry.covers(Point(lon, 0))
    assert not geometry.covers(Point(0, 0))


def test_a_ring_around_the_pole_becomes_a_cap() -> None:
    ring = [(-170, 80), (-60, 80), (60, 80), (170, 80), (-170, 80)]
    cap = sector_geometry([Polygon(ring)])
    assert cap.is_valid and cap.bounds == (-180.0, 80.0, 180.0, 90.0)
    assert (
        cap.covers(Point(0, 85)) and cap.covers(Point(179.9, 89)) and cap.covers(Point(-179.9, 85))
    )
    assert not cap.covers(Point(0, 70))


def test_a_hole_across_the_antimeridian_stays_a_hole() -> None:
    polygon = Polygon(
        [(160, -20), (200, -20), (200, 20), (160, 20)], [[(175, -5), (185, -5), (185, 5), (175, 5)]]
    )
    geometry = sector_geometry([polygon])
    assert geometry.area == pytest.approx(1600 - 100)
    assert not geometry.covers(Point(179, 0)) and not geometry.covers(Point(-179, 0))
    assert geometry.covers(Point(170, 0)) and geometry.covers(Point(-170, 0))


def one_line_error(excinfo: pytest.ExceptionInfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_missing_file_is_named(sources: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(SectorSourceError) as excinfo:
        load_sectors(tmp_path / "nope.dat", sources[1])
    assert one_line_error(excinfo).startswith(f"{tmp_path / 'nope.dat'}: cannot read")


def test_not_json_is_named(sources: tuple[Path, Path], tmp_path: Path) -> None:
    broken = tmp_path / "Boundaries.geojson"
    broken.write_text("{not json")
    with pytest.raises(SectorSourceError) as excinfo:
        load_sectors(sources[0], broken)
    assert one_line_error(excinfo).startswith(f"{broken}: not JSON")


def test_feature_without_geometry_is_named(sources: tuple[Path, Path], tmp_path: Path) -> None:
    broken = write_collection(
        tmp_path / "b.geojson",
        [
            boundary("AAAA", [square(0, 0)]),
            {"type": "Feature", "properties": {"id": "BBBB"}, "geometry": None},
        ],
    )
    with pytest.raises(SectorSourceError) as excinfo:
        load_sectors(sources[0], broken)
    assert one_line_error(excinfo) == f"{broken}: feature 2 (BBBB): feature has no geometry"


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ("BBBB|Bravo|BRV|BBBB", "BBBB|Bravo|BRV", "line 9: [FIRs] needs ICAO|name|prefix|boundary"),
        ("AAAA,BBBB", "AAAA,ZZZZ", "line 13: unknown FIRs ['ZZZZ']"),
    ],
)
def test_bad_dat_lines_are_named(
    sources: tuple[Path, Path], tmp_path: Path, replace: str, by: str, expected: str
) -> None:
    dat = tmp_path / "bad.dat"
    dat.write_text(DAT.replace(replace, by))
    with pytest.raises(SectorSourceError) as excinfo:
        load_sectors(dat, sources[1])
    assert one_line_error(excinfo) == f"{dat}: {expected}"


def test_boundary_named_by_vatspy_but_absent_is_an_error(
    sources: tuple[Path, Path], tmp_path: Path
) -> None:
    partial = write_collection(tmp_path / "b.geojson", [boundary("AAAA", [square(0, 0)])])
    with pytest.raises(SectorSourceError, match=r"missing: \['BBBB', 'CCCC'\]"):
        load_sectors(sources[0], partial)


def test_polygon_without_area_is_an_error(sources: tuple[Path, Path], tmp_path: Path) -> None:
    flat = write_collection(
        tmp_path / "extra.geojson",
        [feature({"id": "X"}, [[[0, 0], [1, 1], [2, 2], [0, 0]]], "Polygon")],
    )
    with pytest.raises(SectorSourceError) as excinfo:
        load_sectors(*sources, extra=[flat])
    assert one_line_error(excinfo) == f"{flat}: X: geometry encloses no area"


# --- the real files ----------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> dict[str, Sector]:
    sectors = load_sectors(
        shared_data("VATSpy.dat"),
        shared_data("Boundaries.geojson.gz"),
        tracon=shared_data("TRACONBoundaries.geojson"),
    )
    return by_id(sectors)


def test_real_release_loads_every_boundary(real: dict[str, Sector]) -> None:
    # 1102 features: CZQM, CZQX, NZOH and ZBAA come in two parts each (4 merged), KZNY
    # and SUEO have an oceanic variant; 743 TRACON features of which 2 repeat a
    # (id, prefix, suffix) key; 46 [UIRs] lines.
    assert Counter(s.kind for s in real.values()) == {"fir": 1098, "tracon": 741, "uir": 46}
    for sector in real.values():
        geometry = sector.geometry
        assert isinstance(geometry, MultiPolygon) and geometry.is_valid and not geometry.is_empty
        west, south, east, north = geometry.bounds
        assert -180 <= west <= east <= 180 and -90 <= south <= north <= 90


def test_real_duplicates_and_variants(real: dict[str, Sector]) -> None:
    assert (real["KZNY"].oceanic, real["KZNY:OCEANIC"].oceanic) == (False, True)
    assert real["KZNY"].prefixes == ("NY", "KZNY")
    assert (real["SUEO"].oceanic, real["SUEO:OCEANIC"].oceanic) == (False, True)
    assert len(real["CZQM"].geometry.geoms) == 1  # its two features share an edge


def test_real_pacific_boundaries_span_the_antimeridian(real: dict[str, Sector]) -> None:
    nzzo = real["NZZO"]
    assert (nzzo.name, nzzo.prefixes) == ("Auckland Radio", ("NZZO", "NZZO-E", "NSTU"))
    for sector_id in ("NZZO", "KZAK", "PAZA", "UHMM"):
        assert real[sector_id].geometry.bounds[0] == -180.0
        assert real[sector_id].geometry.bounds[2] == 180.0
    assert real["KZAK"].name == "Oakland Oceanic" and real["KZAK"].oceanic


def test_real_repairs(real: dict[str, Sector]) -> None:
    # RJDG-W and YTRT have unclosed rings, LDZO and VAAH self-intersect upstream.
    for sector_id in ("RJDG-W", "YTRT", "LDZO", "VAAH"):
        assert real[sector_id].geometry.is_valid and real[sector_id].geometry.area > 0


def test_real_uirs_and_tracons(real: dict[str, Sector]) -> None:
    prc = real["UIR:PRC"]
    assert prc.members == ("ZBPE", "ZGZU", "ZJSA", "ZLHW", "ZPKM", "ZSHA", "ZWUQ", "ZYSH")
    assert prc.geometry.covers(real["ZSHA"].geometry.representative_point())
    assert real["TRACON:N90"].prefixes == ("NY",)
    assert real["TRACON:NCT:SFO+OAK_DEP"].suffix == "DEP"
    assert real["TRACON:CYOD"].name == "Cold Lake Terminal"  # the feature spelt `Name`
