"""Sectors without the internet: the local feed server serves a map-data release of its
simulated world, the `sectors` asset loads it through the live download path, the
`sectors_when_missing` sensor requests that load when none are stored, and a failed
download is one line in the terminal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import (
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    RunRequest,
    SkipReason,
    build_sensor_context,
)
from sqlalchemy import Engine

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.resources import build_resources
from vatsim_pipeline.defs.sector_assets import sectors_when_missing
from vatsim_pipeline.feed.airports import AIRPORTS, FIRS
from vatsim_pipeline.feed.map_release import simulated_release
from vatsim_pipeline.sectors.locate import SectorIndex
from vatsim_pipeline.sectors.staffing import StaffingIndex, sectors_staffed_by
from vatsim_pipeline.storage.sector_writes import load_sector_rows
from vatsim_pipeline_tests.feed_server_fixture import RunningFeedServer, running_feed_server


@pytest.fixture
def feed() -> Iterator[RunningFeedServer]:
    with running_feed_server(pilots=20, controllers=5) as server:
        yield server


def point_release_at(monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
    monkeypatch.setenv("VATSIM_MAP_DATA_URL", f"{base_url}/api/map_data/")
    monkeypatch.setenv("VATSIM_TRACON_URL", f"{base_url}/map_data/TRACONBoundaries.geojson")
    monkeypatch.delenv("VATSIM_SECTORS_DIR", raising=False)


def refresh():
    job = build_definitions().resolve_job_def("refresh_sectors")
    return job.execute_in_process(instance=DagsterInstance.get(), raise_on_error=False)


def test_the_served_release_loads_through_the_download_path(
    vatsim_env, engine: Engine, feed: RunningFeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_release_at(monkeypatch, feed.base_url)
    result = refresh()
    assert result.success
    found, airports = (
        {key: value.value for key, value in event.materialization.metadata.items()}
        for event in sorted(
            result.get_asset_materialization_events(),
            key=lambda event: event.asset_key.to_user_string() != "sectors",
        )
    )
    assert airports["airports"] == len(AIRPORTS)  # the release's [Airports], for movements
    release = simulated_release()
    assert (found["source"], found["commit"]) == ("live", release.commit)
    assert (found["fir"], found["uir"], found["tracon"]) == (len(FIRS), 0, len(AIRPORTS))
    downloaded = Path(vatsim_env["VATSIM_HOME"]) / "sectors" / release.commit
    assert {p.name: p.read_bytes() for p in downloaded.iterdir()} == release.files

    stored = load_sector_rows(engine)
    index = SectorIndex(stored)
    for airport in AIRPORTS:  # in its own TRACON (and maybe a neighbour's), inside a FIR
        covering = index.covering(airport.latitude, airport.longitude)
        assert f"TRACON:{airport.prefix}" in {sector.id for sector in covering}
        assert index.locate(airport.latitude, airport.longitude).kind == "tracon"
    staffing = StaffingIndex(stored)
    assert sectors_staffed_by("JFK_APP", 5, staffing) == ["TRACON:JFK"]
    assert sectors_staffed_by("LON_S_CTR", 6, staffing) == ["EGTT-S"]
    assert sectors_staffed_by("EDGG_1_CTR", 6, staffing) == ["EDGG"]


def sensor_says(engine: Engine) -> RunRequest | SkipReason:
    context = build_sensor_context(
        instance=DagsterInstance.get(), resources={"database": build_resources()["database"]}
    )
    return sectors_when_missing(context)


def test_the_sensor_requests_a_load_until_sectors_are_stored(
    vatsim_env, engine: Engine, feed: RunningFeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(sensor_says(engine), RunRequest)

    instance = DagsterInstance.get()
    on_its_way = DagsterRun(job_name="refresh_sectors", status=DagsterRunStatus.STARTED)
    instance.add_run(on_its_way)
    waiting = sensor_says(engine)
    assert isinstance(waiting, SkipReason)
    assert waiting.skip_message == (
        f"no sectors stored; refresh run {on_its_way.run_id[:8]} is on its way"
    )
    instance.delete_run(on_its_way.run_id)

    monkeypatch.setenv("VATSIM_MAP_DATA_URL", "http://127.0.0.1:1/api/map_data/")
    assert not refresh().success
    assert not refresh().success
    waiting = sensor_says(engine)
    assert isinstance(waiting, SkipReason)
    assert "no sectors stored; 2 refresh run(s) failed, the last " in waiting.skip_message
    assert "next try after" in waiting.skip_message  # two minutes after the second

    point_release_at(monkeypatch, feed.base_url)
    assert refresh().success
    stored = sensor_says(engine)
    assert isinstance(stored, SkipReason)
    assert stored.skip_message.startswith(f"{len(FIRS) + len(AIRPORTS)} sectors stored")


def test_a_failed_download_is_one_line_in_the_terminal(
    vatsim_env, engine: Engine, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("VATSIM_MAP_DATA_URL", "http://127.0.0.1:1/api/map_data/")
    monkeypatch.delenv("VATSIM_SECTORS_DIR", raising=False)
    home = Path(vatsim_env["DAGSTER_HOME"])
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # no banner
    capfd.readouterr()
    assert not refresh().success
    lines = capfd.readouterr().err.splitlines()
    reason = "http://127.0.0.1:1/api/map_data/: download failed: cannot connect: "
    failures = [line for line in lines if " ERROR " in line and reason in line]
    assert failures, lines
    assert not any("Traceback" in line or line.startswith(" ") for line in lines)
    assert all(" refresh_sectors " in line for line in lines)
    assert lines[-1].endswith(" ERROR run FAILED")
    assert not any(" DEBUG " in line for line in lines)
