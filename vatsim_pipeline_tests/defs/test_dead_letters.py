"""Dead letters: a failed snapshot stays listed, once, until a replay stores it and
locates its positions in the sectors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, ExecuteInProcessResult
from dagster._core.test_utils import create_run_for_test
from sqlalchemy import Engine, func, select, text

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.dead_letters import list_dead_letters, replay
from vatsim_pipeline.defs.ingest_job import ingest_run_config, ingest_tags
from vatsim_pipeline.feed.client import snapshot_timestamp
from vatsim_pipeline.storage.assignment_runs import covering
from vatsim_pipeline.storage.position_runs import position_snapshots
from vatsim_pipeline.storage.schema import feed_snapshots, sector_assignments
from vatsim_pipeline.storage.sector_writes import replace_sectors
from vatsim_pipeline.storage.snapshot_completion import NOT_LOCATED, NOT_STORED
from vatsim_pipeline_tests.defs.test_fault_recovery import _broken_url
from vatsim_pipeline_tests.reports import ingest
from vatsim_pipeline_tests.shared_data import sequence_files
from vatsim_pipeline_tests.storage.reads_support import real_sectors

REFUSE_ASSIGNMENTS = {
    "sqlite": [
        "CREATE TRIGGER refuse_assignments BEFORE INSERT ON sector_assignments "
        "BEGIN SELECT RAISE(ABORT, 'sector assignments refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_assignment() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'sector assignments refused' USING ERRCODE = 'check_violation'; "
        "END $$",
        "CREATE TRIGGER refuse_assignments BEFORE INSERT ON sector_assignments "
        "FOR EACH ROW EXECUTE FUNCTION refuse_assignment()",
    ],
}
ALLOW_ASSIGNMENTS = {
    "sqlite": ["DROP TRIGGER refuse_assignments"],
    "postgresql": [
        "DROP TRIGGER refuse_assignments ON sector_assignments",
        "DROP FUNCTION refuse_assignment()",
    ],
}


def _execute(engine: Engine, statements: dict[str, list[str]]) -> None:
    with engine.begin() as connection:
        for statement in statements[engine.dialect.name]:
            connection.execute(text(statement))


@contextmanager
def refused_sector_assignments(engine: Engine) -> Iterator[None]:
    """The database refuses every sector assignment, as a violated constraint does (not
    retried), while the tables step, which writes none, is untouched."""
    _execute(engine, REFUSE_ASSIGNMENTS)
    try:
        yield
    finally:
        _execute(engine, ALLOW_ASSIGNMENTS)


def positions_and_located(engine: Engine, stamp: datetime) -> tuple[int, int]:
    """How many positions the snapshot has, and how many of them have a sector (both
    tables hold runs, read here one row per snapshot)."""
    position = position_snapshots
    joined = position.outerjoin(
        sector_assignments, covering(sector_assignments, position.c.flight_id, stamp)
    )
    with engine.connect() as connection:
        total, located = connection.execute(
            select(func.count(), func.count(sector_assignments.c.observed_at))
            .select_from(joined)
            .where(position.c.observed_at == stamp)
        ).one()
    return total, located


def failed_locating(engine: Engine, path: Path) -> tuple[ExecuteInProcessResult, datetime]:
    """An ingest run of `path` that stores its snapshot, then fails locating its positions
    on a real database error; the sectors must be stored already."""
    with refused_sector_assignments(engine):
        failed = ingest(DagsterInstance.get(), path)
    assert not failed.success
    assert [e.step_key for e in failed.all_events if e.is_step_failure] == ["ingest"]
    # Its tables were stored (and materialized) before locating failed.
    assert set(materialized(failed)) == {
        "landed_snapshot",
        "flights",
        "controllers",
        "transceivers",
        "prefiles",
    }
    return failed, snapshot_timestamp(path.read_bytes())


def materialized(result: ExecuteInProcessResult) -> dict[str, dict]:
    return {
        event.asset_key.to_user_string(): {
            key: value.value for key, value in event.materialization.metadata.items()
        }
        for event in result.all_events
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION
    }


def _steps_started(instance: DagsterInstance, run_id: str) -> list[str]:
    events = instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
    return [event.step_key for event in events]


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
    assert (letter.run_id, letter.update_timestamp, letter.category, letter.missing) == (
        failed.run_id,
        stamp,
        "database",
        NOT_STORED,
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
    positions, located = positions_and_located(engine, stamp)
    assert positions > 0 and located == 0  # no sectors stored: nothing to locate them in
    assert list_dead_letters(instance, engine) == []
    assert replay(instance, "no-such-run").detail == "no such run"
    assert replay(instance, stored.replay_run_id).detail == "not a failed ingest_snapshot run"


def test_a_run_that_failed_locating_its_positions_stays_until_a_replay_locates_them(
    vatsim_env, engine
) -> None:
    replace_sectors(engine, real_sectors(), "test")
    before, path, after = sequence_files()[:3]
    instance = DagsterInstance.get()
    assert ingest(instance, before).success
    failed, stamp = failed_locating(engine, path)
    assert ingest(instance, after).success

    with engine.connect() as connection:
        assert stamp in connection.scalars(select(feed_snapshots.c.update_timestamp)).all()
    positions, located = positions_and_located(engine, stamp)
    assert positions > 0 and located == 0
    (letter,) = list_dead_letters(instance, engine)
    assert (letter.run_id, letter.update_timestamp, letter.category, letter.missing) == (
        failed.run_id,
        stamp,
        "database",
        NOT_LOCATED,
    )
    assert "sector assignments refused" in letter.error
    now = datetime.now(UTC)
    assert letter.as_dict(now)["missing"] == "positions not located in sectors"

    outcome = replay(instance, failed.run_id)
    assert outcome.success, outcome.detail
    # The failed step is the run's one step: the replay stores again (changing nothing)
    # and locates what the failed run could not.
    assert _steps_started(instance, outcome.replay_run_id) == ["ingest"]
    replayed = instance.get_run_by_id(outcome.replay_run_id)
    assert replayed.parent_run_id == failed.run_id
    flights = _materialized_in(instance, outcome.replay_run_id)["flights"]
    assert (flights["rows_inserted"], flights["new_snapshot"]) == (0, False)
    assert positions_and_located(engine, stamp) == (positions, positions)
    assert list_dead_letters(instance, engine) == []


def _materialized_in(instance: DagsterInstance, run_id: str) -> dict[str, dict]:
    return {
        entry.dagster_event.asset_key.to_user_string(): {
            key: value.value for key, value in entry.dagster_event.materialization.metadata.items()
        }
        for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
    }


def test_a_run_of_the_four_step_job_is_still_listed_and_replayed(vatsim_env, engine) -> None:
    """A run that failed before the ingest run was one step keeps its config under the
    `landed_snapshot` op: it is listed with its payload and replayed as a new run."""
    path = sequence_files()[0]
    stamp = snapshot_timestamp(path.read_bytes())
    instance = DagsterInstance.get()
    old = create_run_for_test(
        instance,
        job_name="ingest_snapshot",
        run_config={"ops": {"landed_snapshot": {"config": {"data_path": str(path)}}}},
        tags=ingest_tags(stamp),
        status=DagsterRunStatus.FAILURE,
    )
    (letter,) = list_dead_letters(instance, engine)
    assert (letter.run_id, letter.data_path, letter.missing) == (old.run_id, str(path), NOT_STORED)

    outcome = replay(instance, old.run_id)

    assert outcome.success, outcome.detail
    assert _steps_started(instance, outcome.replay_run_id) == ["ingest"]
    assert positions_and_located(engine, stamp)[0] > 0
    assert list_dead_letters(instance, engine) == []


def test_a_fetch_now_run_replayed_stores_the_update_it_landed(
    feed, engine, tmp_path, monkeypatch
) -> None:
    """A run given no payload fetches and lands the current update; its retries and its
    replay store that update, even after the feed has moved on."""
    good_url = str(engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("VATSIM_DATABASE_URL", _broken_url(good_url, tmp_path))
    instance = DagsterInstance.get()
    job = build_definitions().resolve_job_def("ingest_snapshot")
    failed = job.execute_in_process(run_config={}, instance=instance, raise_on_error=False)
    assert not failed.success
    retried = [e for e in failed.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    assert retried
    landed = materialized(failed)["landed_snapshot"]
    landing = Path(os.environ["VATSIM_LANDING_DIR"])
    assert len(list(landing.rglob("vatsim-data_*"))) == 1  # the retries fetched nothing

    newer = feed.advance()
    monkeypatch.setenv("VATSIM_DATABASE_URL", good_url)
    outcome = replay(instance, failed.run_id)

    assert outcome.success, outcome.detail
    with engine.connect() as connection:
        stored = connection.scalars(select(feed_snapshots.c.update_timestamp)).all()
    assert [stamp.isoformat() for stamp in stored] == [landed["update_timestamp"]]
    assert landed["update_timestamp"] != datetime.fromisoformat(newer).isoformat()
    assert len(list(landing.rglob("vatsim-data_*"))) == 1
