"""Dead letters: a failed snapshot stays listed, once, until a replay stores it."""

from __future__ import annotations

from dagster import DagsterInstance

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.dead_letters import list_dead_letters, replay
from vatsim_pipeline.defs.ingest_job import ingest_run_config, ingest_tags
from vatsim_pipeline.feed.client import snapshot_timestamp
from vatsim_pipeline_tests.defs.test_fault_recovery import _broken_url
from vatsim_pipeline_tests.shared_data import sequence_files


def test_a_replay_that_fails_again_takes_the_place_of_its_run(
    vatsim_env, engine, tmp_path, monkeypatch
) -> None:
    path = sequence_files()[1]
    stamp = snapshot_timestamp(path.read_bytes())
    monkeypatch.setenv(
        "VATSIM_DATABASE_URL", _broken_url(vatsim_env["VATSIM_DATABASE_URL"], tmp_path)
    )
    instance = DagsterInstance.get()
    failed = (
        build_definitions()
        .resolve_job_def("ingest_snapshot")
        .execute_in_process(
            run_config=ingest_run_config(str(path), None),
            instance=instance,
            tags=ingest_tags(stamp),
            raise_on_error=False,
        )
    )
    assert not failed.success
    (letter,) = list_dead_letters(instance, engine)
    assert (letter.run_id, letter.update_timestamp, letter.category) == (
        failed.run_id,
        stamp,
        "database",
    )
    assert letter.data_path == str(path)

    again = replay(instance, failed.run_id)
    assert not again.success
    (replaced,) = list_dead_letters(instance, engine)
    assert replaced.run_id == again.replay_run_id
    assert replaced.update_timestamp == stamp

    monkeypatch.setenv("VATSIM_DATABASE_URL", vatsim_env["VATSIM_DATABASE_URL"])
    stored = replay(instance, replaced.run_id)
    assert stored.success, stored.detail
    assert list_dead_letters(instance, engine) == []
    assert replay(instance, "no-such-run").detail == "no such run"
    assert replay(instance, stored.replay_run_id).detail == "not a failed ingest_snapshot run"
