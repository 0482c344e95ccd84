"""Storing sectors (storage/sector_writes.py) on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from shapely.geometry import box
from sqlalchemy import Engine, exc, select

from vatsim_pipeline.sectors.boundaries import (
    Sector,
    SectorSourceError,
    load_sectors,
    sector_geometry,
)
from vatsim_pipeline.storage.schema import sectors as sectors_table
from vatsim_pipeline.storage.sector_writes import load_sector_rows, replace_sectors
from vatsim_pipeline_tests.shared_data import shared_data


@pytest.fixture(scope="module")
def real() -> list[Sector]:
    return load_sectors(
        shared_data("VATSpy.dat"),
        shared_data("Boundaries.geojson.gz"),
        tracon=shared_data("TRACONBoundaries.geojson"),
    )


def square(sector_id: str, x: float, **fields) -> Sector:
    return Sector(
        id=sector_id,
        name=f"{sector_id} name",
        kind="fir",
        geometry=sector_geometry([box(x, 0, x + 1, 1)]),
        prefixes=(sector_id[:3],),
        **fields,
    )


SMALL = [square("AAA", 0), square("BBB", 2, oceanic=True, region="EMEA"), square("CCC", 4)]


def stored(engine: Engine) -> dict[str, dict]:
    with engine.connect() as connection:
        return {row.id: dict(row._mapping) for row in connection.execute(select(sectors_table))}


def test_real_release_round_trips(engine: Engine, real: list[Sector]) -> None:
    counts = replace_sectors(engine, real, "vatspy 9f8d09c")
    assert counts == {"inserted": len(real), "updated": 0, "deleted": 0}
    back = {s.id: s for s in load_sector_rows(engine)}
    assert back.keys() == {s.id for s in real}
    for sector in real:
        loaded = back[sector.id]
        assert loaded.geometry.equals_exact(sector.geometry, 0)
        assert (loaded.name, loaded.kind, loaded.prefixes, loaded.oceanic) == (
            sector.name,
            sector.kind,
            sector.prefixes,
            sector.oceanic,
        )
        assert (loaded.region, loaded.division, loaded.bbox) == (
            sector.region,
            sector.division,
            sector.bbox,
        )
        assert loaded.source == "vatspy 9f8d09c"
    row = stored(engine)["KZAK"]
    assert (row["min_lat"], row["min_lon"], row["max_lat"], row["max_lon"]) == (
        -5.0,
        -180.0,
        56.75,
        180.0,
    )
    assert row["callsign_prefix"] == "ZAK,OO,OOR,OORO,SF,SFR,SFRO,KZAK"
    assert row["geometry"].startswith('{"type":"MultiPolygon"')
    assert replace_sectors(engine, real, "vatspy 9f8d09c") == {
        "inserted": 0,
        "updated": 0,
        "deleted": 0,
    }


def test_replacing_inserts_updates_and_deletes(engine: Engine) -> None:
    replace_sectors(engine, SMALL, "first")
    before = stored(engine)
    changed = [square("AAA", 0), square("BBB", 2, oceanic=False, region="EMEA"), square("DDD", 6)]
    assert replace_sectors(engine, changed, "first") == {"inserted": 1, "updated": 1, "deleted": 1}
    after = stored(engine)
    assert sorted(after) == ["AAA", "BBB", "DDD"]
    assert after["AAA"]["updated_at"] == before["AAA"]["updated_at"]  # unchanged row untouched
    assert after["BBB"]["oceanic"] is False
    assert after["BBB"]["updated_at"] > before["BBB"]["updated_at"]
    # A new label alone counts as a change of every row.
    assert replace_sectors(engine, changed, "second")["updated"] == 3


def test_a_load_failing_before_the_transaction_keeps_the_previous_sectors(engine: Engine) -> None:
    replace_sectors(engine, SMALL, "first")
    before = stored(engine)

    def failing_load() -> Iterator[Sector]:
        yield square("NEW", 8)
        raise SectorSourceError("Boundaries.geojson", "feature 2 (X)", "feature has no geometry")

    with pytest.raises(SectorSourceError):
        replace_sectors(engine, failing_load(), "second")
    with pytest.raises(ValueError, match="empty set"):
        replace_sectors(engine, [], "second")
    with pytest.raises(ValueError, match="unique"):
        replace_sectors(engine, [square("NEW", 8), square("NEW", 9)], "second")
    assert stored(engine) == before


def test_a_failure_inside_the_transaction_rolls_back(engine: Engine) -> None:
    replace_sectors(engine, SMALL, "first")
    before = stored(engine)
    broken = replace(square("ZZZ", 8), kind=None)  # violates NOT NULL in the upsert
    with pytest.raises(exc.IntegrityError):
        replace_sectors(engine, [square("AAA", 10), broken], "second")
    assert stored(engine) == before


def test_nothing_stored_reads_back_empty(engine: Engine) -> None:
    assert load_sector_rows(engine) == []
