"""The ingest job, executed in process against real payloads, on both databases."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, Failure
from dagster_shared.serdes import serialize_value
from sqlalchemy import func, select

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs import ingest_step as ingest_step_module
from vatsim_pipeline.defs.ingest_assets import RADIOS_CHECK
from vatsim_pipeline.defs.ingest_job import ingest_run_config, ingest_tags
from vatsim_pipeline.defs.tags import (
    ERROR_CATEGORY_TAG,
    ERROR_MESSAGE_TAG,
    ERROR_SERVICE_TAG,
    ERROR_SEVERITY_TAG,
    UPDATE_TIMESTAMP_TAG,
)
from vatsim_pipeline.feed.client import snapshot_timestamp
from vatsim_pipeline.feed.landing import land, read_payload, sha256_of
from vatsim_pipeline.storage.schema import feed_snapshots, flight_positions, flights
from vatsim_pipeline_tests.shared_data import TRANSCEIVERS_FEED, sequence_files, shared_data


def _run(job, path, transceivers=None, *, tagged=True):
    tags = ingest_tags(snapshot_timestamp(read_payload(path))) if tagged else {}
    return job.execute_in_process(
        run_config=ingest_run_config(str(path), transceivers),
        instance=DagsterInstance.get(),
        tags=tags,
        raise_on_error=False,
    )


def _materializations(result) -> dict[str, dict]:
    return {
        event.asset_key.to_user_string(): {
            key: value.value for key, value in event.materialization.metadata.items()
        }
        for event in result.all_events
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION
    }


def test_ingest_job_stores_a_snapshot_and_reports_rows_per_table(vatsim_env, engine) -> None:
    job = build_definitions().resolve_job_def("ingest_snapshot")
    path = sequence_files()[0]
    raw = json.loads(path.read_text())

    result = _run(job, path, str(shared_data(TRANSCEIVERS_FEED)))

    assert result.success
    metadata = _materializations(result)
    assert set(metadata) == {
        "landed_snapshot",
        "flights",
        "controllers",
        "transceivers",
        "prefiles",
        "anomalies",
        # Without sectors stored, occupancy materializes with nothing located.
        "flight_sector_occupancy",
        "controller_sectors",
    }
    assert metadata["flights"]["rows_inserted"] == len(raw["pilots"])
    assert metadata["flights"]["positions_inserted"] == len(raw["pilots"])
    assert metadata["controllers"]["rows_inserted"] == len(raw["controllers"]) + len(raw["atis"])
    assert metadata["prefiles"]["rows_inserted"] == len(raw["prefiles"])
    assert metadata["transceivers"]["rows_inserted"] == sum(
        len(s["transceivers"]) for s in json.loads(shared_data(TRANSCEIVERS_FEED).read_text())
    )
    # Each fact once: the update timestamp on the landed snapshot (and the run's tag), its
    # checksum in `feed_snapshots`, where it came from in the run's log.
    landed = metadata.pop("landed_snapshot")
    assert landed["update_timestamp"].startswith("2024-11-22T12:48:40.116824")
    assert set(landed) == {"update_timestamp", "data_path", "transceivers_path", "fetched_at"}
    assert [name for name, asset in metadata.items() if "update_timestamp" in asset] == []
    assert metadata["flights"]["store_ms"] > 0
    assert result.dagster_run.tags[UPDATE_TIMESTAMP_TAG].startswith("2024-11-22T12:48:40")

    again = _run(job, path, str(shared_data(TRANSCEIVERS_FEED)))
    repeated = _materializations(again)
    assert again.success
    assert repeated["flights"]["rows_inserted"] == 0
    assert repeated["flights"]["rows_updated"] == 0
    assert repeated["flights"]["rows_unchanged"] == len(raw["pilots"])
    assert repeated["flights"]["new_snapshot"] is False
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(feed_snapshots)) == 1
        assert connection.scalar(select(func.count()).select_from(flights)) == len(raw["pilots"])
        assert connection.scalar(select(func.count()).select_from(flight_positions)) == len(
            raw["pilots"]
        )


def test_a_payload_that_is_not_a_feed_fails_at_once_and_stores_nothing(
    vatsim_env, engine, tmp_path
) -> None:
    job = build_definitions().resolve_job_def("ingest_snapshot")
    html = tmp_path / "vatsim-data.json"
    html.write_text("<!DOCTYPE html><html><body>502 Bad Gateway</body></html>")

    result = _run(job, html, tagged=False)

    assert not result.success
    failures = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    assert len(failures) == 1
    assert "not JSON" in failures[0].step_failure_data.user_failure_data.description
    assert not [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    tags = DagsterInstance.get().get_run_by_id(result.run_id).tags
    assert tags[ERROR_CATEGORY_TAG] == "validation"
    assert tags[ERROR_SEVERITY_TAG] == "high"
    assert tags[ERROR_SERVICE_TAG] == "feed"
    assert "not JSON" in tags[ERROR_MESSAGE_TAG]
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(feed_snapshots)) == 0


def test_a_missing_landed_file_fails_with_its_path(vatsim_env, tmp_path) -> None:
    job = build_definitions().resolve_job_def("ingest_snapshot")
    result = _run(job, tmp_path / "gone.json", tagged=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE)
    assert "gone.json: cannot read the landed data feed" in (
        failure.step_failure_data.user_failure_data.description
    )


def test_a_compressed_landed_payload_is_stored_with_the_sha256_of_its_json(
    vatsim_env, engine, tmp_path
) -> None:
    job = build_definitions().resolve_job_def("ingest_snapshot")
    data = sequence_files()[0].read_bytes()
    radios = shared_data(TRANSCEIVERS_FEED).read_bytes()
    landed = land(tmp_path / "landing", snapshot_timestamp(data), data, radios)

    result = _run(job, Path(landed.data_path), landed.transceivers_path)

    assert result.success
    with engine.connect() as connection:
        stored = connection.execute(select(feed_snapshots)).one()
        positions = connection.scalar(select(func.count()).select_from(flight_positions))
    assert (stored.data_path, stored.transceivers_path) == (
        landed.data_path,
        landed.transceivers_path,
    )
    assert (stored.data_sha256, stored.transceivers_sha256) == (sha256_of(data), sha256_of(radios))
    assert positions == stored.pilots == len(json.loads(data)["pilots"])
    assert stored.transceivers > 0


def test_a_damaged_compressed_payload_fails_at_once_with_its_path(vatsim_env, tmp_path) -> None:
    job = build_definitions().resolve_job_def("ingest_snapshot")
    data = sequence_files()[0].read_bytes()
    landed = Path(land(tmp_path / "landing", snapshot_timestamp(data), data, None).data_path)
    landed.write_bytes(landed.read_bytes()[:1000])

    result = _run(job, landed, tagged=False)

    assert not result.success
    failures = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE]
    assert len(failures) == 1  # no retries: a damaged file stays damaged
    description = failures[0].step_failure_data.user_failure_data.description
    assert f"{landed}: cannot read the landed data feed" in description
    assert "damaged compressed payload" in description


def test_an_ingest_run_records_its_assets_and_reports_its_checks(vatsim_env, engine) -> None:
    """What every run adds to Dagster's tables (issue 13): the step's one output
    (`landed_snapshot`) a planned, an output and a materialization event, each of the
    seven assets it stores into a materialization alone; the checks are no checks of the
    step (no planned, output or in-run evaluation event), each is reported for the
    materialization it checks."""
    job = build_definitions().resolve_job_def("ingest_snapshot")
    result = _run(job, sequence_files()[0])
    assert result.success
    entries = DagsterInstance.get().all_logs(result.run_id)
    types = Counter(e.dagster_event.event_type_value for e in entries if e.dagster_event)
    assert types == {
        "PIPELINE_START": 1,
        "ENGINE_EVENT": 2,
        "RESOURCE_INIT_STARTED": 1,
        "RESOURCE_INIT_SUCCESS": 1,
        "LOGS_CAPTURED": 1,
        "STEP_START": 1,
        "ASSET_MATERIALIZATION_PLANNED": 1,
        "ASSET_MATERIALIZATION": 8,
        "STEP_OUTPUT": 1,
        "STEP_SUCCESS": 1,
        "HOOK_SKIPPED": 1,
        "PIPELINE_SUCCESS": 1,
    }
    # 32 KB of event JSON; 60 KB when the step output all eight assets, 76 KB with four
    # checks of the step besides.
    assert sum(len(serialize_value(entry)) for entry in entries) < 36_000
    storage = DagsterInstance.get().event_log_storage
    keys = list(build_definitions().resolve_asset_graph().asset_check_keys)
    reported = {
        key.name
        for key, record in storage.get_latest_asset_check_execution_by_key(keys).items()
        if record.event.dagster_event.event_specific_data.target_materialization_data.run_id
        == result.run_id
    }
    assert reported == {
        "radios_complete",
        "active_emergency_squawks",
        "active_track_anomalies",
        "feed_not_stale",
        "newest_snapshot_positions_complete",
        "tracks_match_sessions",
        "newest_snapshot_positions_located",
        "newest_snapshot_fresh",
        "landing_writable",
    }


def test_a_run_that_fails_after_storing_still_reports_the_missing_radios(
    vatsim_env, engine, monkeypatch
) -> None:
    def broken(*_args):
        raise Failure(description="locating broke", allow_retries=False)

    monkeypatch.setattr(ingest_step_module, "locate", broken)
    path = sequence_files()[0]
    job = build_definitions().resolve_job_def("ingest_snapshot")
    result = job.execute_in_process(
        run_config=ingest_run_config(str(path), None, transceivers_missing="feed broke"),
        instance=DagsterInstance.get(),
        raise_on_error=False,
    )
    assert not result.success
    storage = DagsterInstance.get().event_log_storage
    record = storage.get_latest_asset_check_execution_by_key([RADIOS_CHECK])[RADIOS_CHECK]
    check = record.event.dagster_event.event_specific_data
    assert check.target_materialization_data.run_id == result.run_id
    assert not check.passed
    assert check.description.endswith("stored without radios: feed broke")
