"""Dead letters: a failed snapshot stays listed, once, until a replay stores it and
locates its positions in the sectors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, ExecuteInProcessResult
from sqlalchemy import Engine, and_, func, select, text

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.dead_letters import list_dead_letters, replay
from vatsim_pipeline.defs.ingest_job import ingest_run_config, ingest_tags
from vatsim_pipeline.feed.client import snapshot_timestamp
from vatsim_pipeline.storage.schema import feed_snapshots, flight_positions, sector_assignments
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
    """How many positions the snapshot has, and how many of them have a sector row."""
    joined = flight_positions.outerjoin(
        sector_assignments,
        and_(
            sector_assignments.c.flight_id == flight_positions.c.flight_id,
            sector_assignments.c.observed_at == flight_positions.c.observed_at,
        ),
    )
    with engine.connect() as connection:
        total, located = connection.execute(
            select(func.count(), func.count(sector_assignments.c.observed_at))
            .select_from(joined)
            .where(flight_positions.c.observed_at == stamp)
        ).one()
    return total, located


def failed_locating(engine: Engine, path: Path) -> tuple[ExecuteInProcessResult, datetime]:
    """An ingest run of `path` that stores its snapshot, then fails in `sector_occupancy`
    on a real database error; the sectors must be stored already."""
    with refused_sector_assignments(engine):
        failed = ingest(DagsterInstance.get(), path)
    assert not failed.success
    assert [e.step_key for e in failed.all_events if e.is_step_failure] == ["sector_occupancy"]
    return failed, snapshot_timestamp(path.read_bytes())


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
    # From the failed step on (it reports the table checks itself when it succeeds).
    assert _steps_started(instance, outcome.replay_run_id) == ["sector_occupancy"]
    assert positions_and_located(engine, stamp) == (positions, positions)
    assert list_dead_letters(instance, engine) == []
