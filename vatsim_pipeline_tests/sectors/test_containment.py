"""Which sectors lie inside which, on the real VATSpy and simaware boundaries, and the
stored tree that follows the stored sectors."""

from __future__ import annotations

from sqlalchemy import Engine

from vatsim_pipeline.sectors.containment import sector_parents
from vatsim_pipeline.storage.sector_patterns import stored_sector_parents
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
