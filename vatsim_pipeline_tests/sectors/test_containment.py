"""Which sectors lie inside which, on the real VATSpy and simaware boundaries, and the
stored tree that follows the stored sectors."""

from __future__ import annotations

from datetime import datetime

from shapely.geometry import box
from sqlalchemy import Engine, delete, select

from vatsim_pipeline.sectors.boundaries import Sector
from vatsim_pipeline.sectors.containment import sector_parents
from vatsim_pipeline.storage.pattern_tables import sector_parents as parents_table
from vatsim_pipeline.storage.schema import maintenance_log
from vatsim_pipeline.storage.sector_patterns import PARENTS_TASK, stored_sector_parents
from vatsim_pipeline.storage.sector_writes import replace_sectors
from vatsim_pipeline_tests.storage.reads_support import real_sectors


def test_tracons_and_firs_lie_inside_the_sectors_around_them() -> None:
    sectors = real_sectors()
    parents = sector_parents(sectors)
    assert "KZTL" in parents["TRACON:A80:ATL"]
    assert {"EDXX", "UIR:EUC-ME"} <= set(parents["EDGG"])
    uir = next(s for s in sectors if s.id == "UIR:EUC-ME")
    assert all("UIR:EUC-ME" in parents[member] for member in uir.members)
    # Nothing is inside itself, and a sector is never above a larger one.
    assert all(sector not in above for sector, above in parents.items())
    assert "EDGG" not in parents.get("EDXX", ())


def test_the_stored_tree_is_recomputed_when_the_sectors_change(engine: Engine) -> None:
    sectors = real_sectors()
    replace_sectors(engine, sectors, "test")
    first = stored_sector_parents(engine)
    assert "KZTL" in first["TRACON:A80:ATL"]
    assert stored_sector_parents(engine) == first
    without_atlanta = [s for s in sectors if s.id != "KZTL"]
    replace_sectors(engine, without_atlanta, "test")
    second = stored_sector_parents(engine)
    assert "KZTL" not in second.get("TRACON:A80:ATL", ())
    # The tree is pairwise: removing a sector removes it and nothing else.
    expected = {k: tuple(p for p in v if p != "KZTL") for k, v in first.items() if k != "KZTL"}
    assert second == {k: v for k, v in expected.items() if v}


def computed_at(engine: Engine) -> datetime:
    with engine.connect() as connection:
        return connection.execute(
            select(maintenance_log.c.ran_at).where(maintenance_log.c.task == PARENTS_TASK)
        ).scalar_one()


def test_the_stored_tree_is_reused_until_the_sectors_change(engine: Engine) -> None:
    fir = Sector(id="F", name="Fir", kind="fir", geometry=box(0, 0, 10, 10))
    t1 = Sector(id="T1", name="One", kind="tracon", geometry=box(1, 1, 2, 2))
    t5 = Sector(id="T5", name="Five", kind="tracon", geometry=box(5, 5, 6, 6))
    replace_sectors(engine, [fir, t1, t5], "test")
    assert stored_sector_parents(engine) == {"T1": ("F",), "T5": ("F",)}
    first = computed_at(engine)

    # Sectors unchanged: every later call answers with the stored rows as they are (one
    # removed here by hand stays removed), without computing the tree again.
    with engine.begin() as connection:
        connection.execute(delete(parents_table).where(parents_table.c.sector_id == "T5"))
    assert stored_sector_parents(engine) == {"T1": ("F",)}
    assert stored_sector_parents(engine) == {"T1": ("F",)}
    assert computed_at(engine) == first

    # Any changed row of the sectors (a name here) makes the next call compute it again.
    replace_sectors(engine, [fir, t1, Sector(**{**vars(t5), "name": "Renamed"})], "test")
    assert stored_sector_parents(engine) == {"T1": ("F",), "T5": ("F",)}
    second = computed_at(engine)
    assert second > first
    # A moved boundary too, and so does a removed sector.
    moved = Sector(**{**vars(t5), "geometry": box(20, 20, 21, 21)})
    replace_sectors(engine, [fir, t1, moved], "test")
    assert stored_sector_parents(engine) == {"T1": ("F",)}
    replace_sectors(engine, [fir, moved], "test")
    assert stored_sector_parents(engine) == {}
    assert computed_at(engine) > second
