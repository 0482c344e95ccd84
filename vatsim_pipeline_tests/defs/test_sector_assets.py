"""The `sectors` asset and its daily schedule: local files, a release folder, the live
release from a local server, and failed refreshes that keep the stored boundaries."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DefaultScheduleStatus,
    Definitions,
    ExecuteInProcessResult,
)
from sqlalchemy import Engine, select

from vatsim_pipeline.defs.resources import build_resources
from vatsim_pipeline.defs.sector_assets import sectors, sectors_daily, sectors_job
from vatsim_pipeline.storage.schema import sectors as sectors_table
from vatsim_pipeline.storage.sector_writes import load_sector_rows, replace_sectors
from vatsim_pipeline_tests.sectors import test_release
from vatsim_pipeline_tests.shared_data import shared_data
from vatsim_pipeline_tests.storage.reads_support import real_sectors

COMMIT, announce = test_release.COMMIT, test_release.announce
server = test_release.server  # the release tests' local HTTP server, as a fixture here
KINDS = {"fir": 1098, "uir": 46, "tracon": 741, "custom": 0}
FILES = {
    "vatspy_dat": str(shared_data("VATSpy.dat")),
    "boundaries": str(shared_data("Boundaries.geojson.gz")),
    "tracon": str(shared_data("TRACONBoundaries.geojson")),
}


def refresh(config: dict | None = None) -> ExecuteInProcessResult:
    """One run of the `refresh_sectors` job, as the schedule starts it."""
    defs = Definitions(assets=[sectors], jobs=[sectors_job], resources=build_resources())
    return defs.resolve_job_def(sectors_job.name).execute_in_process(
        run_config={"ops": {"sectors": {"config": config or {}}}},
        instance=DagsterInstance.get(),
        raise_on_error=False,
    )


def metadata(result: ExecuteInProcessResult) -> dict:
    (event,) = result.get_asset_materialization_events()
    return {key: value.value for key, value in event.materialization.metadata.items()}


def failure(result: ExecuteInProcessResult):
    (event,) = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    return event.step_failure_data.user_failure_data


def stored(engine: Engine) -> dict[str, dict]:
    with engine.connect() as connection:
        return {row.id: dict(row._mapping) for row in connection.execute(select(sectors_table))}


def test_local_files_then_a_release_folder_store_every_sector(
    vatsim_env, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = refresh(FILES)
    assert result.success
    first = metadata(result)
    assert {kind: first[kind] for kind in KINDS} == KINDS
    assert (first["total"], first["inserted"], first["updated"], first["deleted"]) == (
        1885,
        1885,
        0,
        0,
    )
    assert (first["source"], first["label"], first["commit"]) == (
        "files",
        "files Boundaries.geojson.gz",
        "",
    )
    back = {sector.id: sector for sector in load_sector_rows(engine)}
    assert len(back) == 1885
    assert len(back["UIR:RU-CEN"].members) == 13 and back["UIR:RU-CEN"].members[0] in back
    assert {s.suffix for s in back.values() if s.kind == "tracon"} >= {None, "DEP"}

    release = tmp_path / "release"
    release.mkdir()
    for name in ("VATSpy.dat", "Boundaries.geojson.gz", "TRACONBoundaries.geojson"):
        (release / name).symlink_to(shared_data(name))
    monkeypatch.setenv("VATSIM_SECTORS_DIR", str(release))
    again = metadata(refresh())
    assert again["source"] == f"VATSIM_SECTORS_DIR={release}"
    assert (again["total"], again["inserted"], again["updated"], again["deleted"]) == (
        1885,
        0,
        0,
        0,
    )


def test_a_broken_file_fails_the_refresh_and_keeps_the_stored_sectors(
    vatsim_env, engine: Engine, tmp_path: Path
) -> None:
    replace_sectors(engine, real_sectors(), "files Boundaries.geojson.gz")
    before = stored(engine)
    broken = tmp_path / "Boundaries.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [')

    result = refresh({**FILES, "boundaries": str(broken)})

    assert not result.success
    data = failure(result)
    assert data.description.startswith("sectors: validation error (high), not retryable: ")
    assert f"{broken}: not JSON" in data.description
    assert data.metadata["category"].value == "validation"
    assert not [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    assert stored(engine) == before


def test_half_given_files_are_refused(vatsim_env, engine: Engine) -> None:
    result = refresh({"source": "files", "boundaries": FILES["boundaries"]})
    assert not result.success
    assert "need both vatspy_dat and boundaries" in failure(result).description
    assert stored(engine) == {}


def test_the_live_release_is_downloaded_and_labelled_with_its_commit(
    vatsim_env,
    engine: Engine,
    server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base, _, requests = server
    monkeypatch.setenv("VATSIM_MAP_DATA_URL", f"{base}/map_data.json")
    monkeypatch.setenv("VATSIM_TRACON_URL", f"{base}/TRACONBoundaries.geojson")

    result = refresh({"source": "live"})

    assert result.success
    found = metadata(result)
    assert (found["source"], found["commit"], found["label"]) == ("live", COMMIT, "vatspy 9f8d09c")
    assert {kind: found[kind] for kind in KINDS} == KINDS
    release = Path(vatsim_env["VATSIM_HOME"]) / "sectors" / COMMIT
    assert sorted(p.name for p in release.iterdir()) == [
        "Boundaries.geojson",
        "TRACONBoundaries.geojson",
        "VATSpy.dat",
    ]
    assert {row["source"] for row in stored(engine).values()} == {"vatspy 9f8d09c"}
    assert "/map_data.json" in requests


def test_a_failed_download_keeps_the_stored_sectors(
    vatsim_env,
    engine: Engine,
    server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replace_sectors(engine, real_sectors(), "files Boundaries.geojson.gz")
    before = stored(engine)
    base, served, _ = server
    announce(served, base, fir_boundaries_geojson_url=f"{base}/missing.geojson")
    monkeypatch.setenv("VATSIM_MAP_DATA_URL", f"{base}/map_data.json")

    result = refresh({"source": "live"})

    assert not result.success
    data = failure(result)
    assert "404" in data.description and "missing.geojson" in data.description
    assert data.metadata["category"].value == "api" and data.metadata["retryable"].value is False
    assert stored(engine) == before
    assert not (Path(vatsim_env["VATSIM_HOME"]) / "sectors" / COMMIT).exists()


def test_the_daily_schedule_refreshes_the_sectors_at_four_utc() -> None:
    assert sectors_daily.name == "sectors_daily"
    assert sectors_daily.cron_schedule == "0 4 * * *"
    assert sectors_daily.execution_timezone == "UTC"
    assert sectors_daily.default_status == DefaultScheduleStatus.RUNNING
    assert sectors_daily.job_name == sectors_job.name == "refresh_sectors"
