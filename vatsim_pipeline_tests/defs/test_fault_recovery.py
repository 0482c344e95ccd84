"""Fault injection end to end: feed and database failures, breakers, dead letters, replay.

The feed server replays the recorded five-snapshot sequence; the real sensor lands each
update and the requested runs execute in process. Whatever fails on the way, after
recovery and replay every landed snapshot is stored exactly once: the tables equal those
of a clean ingest of the same landed files.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from sqlalchemy import Engine, select, text

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.dead_letters import list_dead_letters, replay
from vatsim_pipeline.defs.tags import ERROR_CATEGORY_TAG, ERROR_SERVICE_TAG, ERROR_SEVERITY_TAG
from vatsim_pipeline.feed.landing import landed_after, read_payload
from vatsim_pipeline.feed.parse import parse_data_feed, parse_transceivers
from vatsim_pipeline.resilience.breaker import CircuitState
from vatsim_pipeline.resilience.errors import classify_error_info
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.position_runs import position_snapshots
from vatsim_pipeline.storage.schema import (
    controllers,
    feed_snapshots,
    flights,
    prefiles,
    transceivers,
)
from vatsim_pipeline.storage.writes import write_snapshot
from vatsim_pipeline_tests.defs.test_feed_sensor import SensorDriver
from vatsim_pipeline_tests.feed_server_fixture import running_feed_server
from vatsim_pipeline_tests.shared_data import shared_data

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
SNAPSHOT_COLUMNS = ["update_timestamp", "pilots", "controllers", "atis", "prefiles", "rejected"]


def _execute(request, instance: DagsterInstance):
    job = build_definitions().resolve_job_def("ingest_snapshot")
    return job.execute_in_process(
        run_config=request.run_config,
        tags=dict(request.tags),
        instance=instance,
        raise_on_error=False,
    )


def _sorted_rows(connection, statement) -> list[tuple[str, ...]]:
    return sorted(tuple(str(value) for value in row) for row in connection.execute(statement))


def _columns(table, *excluded: str) -> list:
    return [column for column in table.c if column.name not in excluded]


def dump(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    """Every stored table by natural keys, so that insertion order (ids) does not matter.
    Positions are compared one row per snapshot: a snapshot replayed after later ones may
    leave two runs where in-order ingest left one, holding the same positions."""
    connection_key = [flights.c.cid, flights.c.callsign, flights.c.logon_time]
    positions = select(*connection_key, *_columns(position_snapshots, "flight_id")).join_from(
        position_snapshots, flights, position_snapshots.c.flight_id == flights.c.id
    )
    with engine.connect() as connection:
        return {
            "feed_snapshots": _sorted_rows(
                connection, select(*[feed_snapshots.c[name] for name in SNAPSHOT_COLUMNS])
            ),
            "flights": _sorted_rows(connection, select(*_columns(flights, "id"))),
            "flight_positions": _sorted_rows(connection, positions),
            "controllers": _sorted_rows(connection, select(*_columns(controllers, "id"))),
            "transceivers": _sorted_rows(
                connection, select(*_columns(transceivers, "flight_id", "controller_id"))
            ),
            "prefiles": _sorted_rows(connection, select(*_columns(prefiles, "id"))),
        }


def _clean_ingest(url: str, landing_dir: Path) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    for landed in landed_after(landing_dir, EPOCH):
        snapshot = parse_data_feed(read_payload(landed.data_path))
        if landed.transceivers_path:
            parse_transceivers(read_payload(landed.transceivers_path), snapshot)
        write_snapshot(engine, snapshot)
    return engine


def _broken_url(database_url: str, tmp_path: Path) -> str:
    if database_url.startswith("sqlite"):
        directory = tmp_path / "not-a-database"
        directory.mkdir()
        return f"sqlite:///{directory}"
    return "postgresql+psycopg2://postgres@127.0.0.1:1/unreachable"


def test_every_landed_snapshot_is_stored_exactly_once_after_faults_and_replay(
    vatsim_env, engine, clean_url, tmp_path, monkeypatch
) -> None:
    good_url = vatsim_env["VATSIM_DATABASE_URL"]
    with running_feed_server(replay=shared_data("sequence-20241122")) as feed:
        monkeypatch.setenv("VATSIM_STATUS_URL", feed.status_url)
        monkeypatch.setenv("VATSIM_BREAKER_THRESHOLD", "2")
        monkeypatch.setenv("VATSIM_BREAKER_COOLDOWN_S", "3")
        driver = SensorDriver()
        instance = driver.instance

        (request,) = driver.tick().run_requests
        assert _execute(request, instance).success

        feed.set_faults(fail_mode="http500")
        assert driver.tick().skip_message.startswith("feed unreachable:")
        feed.clear_faults()

        monkeypatch.setenv("VATSIM_DATABASE_URL", _broken_url(good_url, tmp_path))
        failed = []
        for _ in range(2):
            feed.advance()
            (request,) = driver.tick().run_requests
            result = _execute(request, instance)
            assert not result.success
            retries = [
                e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY
            ]
            assert len(retries) == 2
            tags = instance.get_run_by_id(result.run_id).tags
            assert tags[ERROR_CATEGORY_TAG] == "database"
            assert tags[ERROR_SEVERITY_TAG] == "critical"
            assert tags[ERROR_SERVICE_TAG] == "database"
            failed.append(result.run_id)

        feed.advance()
        held = driver.tick()
        assert held.run_requests == []
        assert held.skip_message.startswith("database breaker OPEN after 2 consecutive")
        assert "1 landed payload(s) wait" in held.skip_message
        assert driver.state.breakers.state("database").state is CircuitState.OPEN

        monkeypatch.setenv("VATSIM_DATABASE_URL", good_url)
        time.sleep(3.1)
        feed.advance()
        probe = driver.tick()
        assert len(probe.run_requests) == 1
        assert driver.state.breakers.state("database").state is CircuitState.HALF_OPEN
        assert _execute(probe.run_requests[0], instance).success
        rest = driver.tick()
        assert driver.state.breakers.state("database").state is CircuitState.CLOSED
        assert len(rest.run_requests) == 1
        assert _execute(rest.run_requests[0], instance).success

    letters = list_dead_letters(instance, engine)
    assert sorted(letter.run_id for letter in letters) == sorted(failed)
    assert {letter.category for letter in letters} == {"database"}
    outcomes = [replay(instance, letter.run_id) for letter in letters]
    assert [o.success for o in outcomes] == [True, True], outcomes
    assert list_dead_letters(instance, engine) == []
    replayed = instance.get_run_by_id(outcomes[0].replay_run_id)
    assert replayed.status == DagsterRunStatus.SUCCESS
    assert replayed.parent_run_id == outcomes[0].run_id

    landing = Path(vatsim_env["VATSIM_LANDING_DIR"])
    assert len(landed_after(landing, EPOCH)) == 5
    clean = _clean_ingest(clean_url, landing)
    stored, reference = dump(engine), dump(clean)
    assert len(stored["feed_snapshots"]) == 5
    assert stored == reference
    clean.dispose()


def test_a_connection_dropped_mid_write_is_retried_and_stored_once(
    postgres_url, vatsim_env, tmp_path, monkeypatch
) -> None:
    """PostgreSQL terminates the writer's backend in the middle of its transaction."""
    monkeypatch.setenv("VATSIM_DATABASE_URL", postgres_url)
    engine = make_engine(postgres_url)
    migrate(engine)
    job = build_definitions().resolve_job_def("ingest_snapshot")
    path = shared_data("sequence-20241122", "vatsim-data_20241122124840.json")
    blocker = engine.connect()
    blocker.execute(text("LOCK TABLE feed_snapshots IN ACCESS EXCLUSIVE MODE"))
    terminated = []

    def terminate_the_waiting_writer() -> None:
        with engine.connect() as admin:
            for _ in range(200):
                pids = admin.scalars(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE application_name = "
                        "'vatsim-pipeline' AND wait_event_type = 'Lock' AND pid <> "
                        "pg_backend_pid()"
                    )
                ).all()
                if pids:
                    admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pids[0]})
                    terminated.append(pids[0])
                    break
                admin.rollback()  # statistics views are a snapshot per transaction
                time.sleep(0.05)
        blocker.rollback()

    killer = threading.Thread(target=terminate_the_waiting_writer)
    killer.start()
    result = job.execute_in_process(
        run_config={"ops": {"ingest": {"config": {"data_path": str(path)}}}},
        instance=DagsterInstance.get(),
        raise_on_error=False,
    )
    killer.join()
    blocker.close()

    assert terminated, "the writer never waited on the lock"
    assert result.success
    retries = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    assert len(retries) == 1
    dropped = classify_error_info(retries[0].event_specific_data.error)
    assert (dropped.category, dropped.severity, dropped.retryable) == ("database", "critical", True)
    assert "server closed the connection" in dropped.message or "terminating" in dropped.message
    reference = make_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    migrate(reference)
    write_snapshot(reference, parse_data_feed(path.read_bytes()))
    assert dump(engine) == dump(reference)
    engine.dispose()
    reference.dispose()
