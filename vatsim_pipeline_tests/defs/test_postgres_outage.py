"""End to end: PostgreSQL (data tables and Dagster's own storage) stops for 20 s under the
running daemon of the PostgreSQL profile, then comes back.

The server is the test's own (initdb and pg_ctl), never the machine's shared one. The
feed server publishes an update every few seconds throughout. After the outage nothing
that was landed is lost: every landed payload is stored exactly once, runs that failed
are classified (never `unknown`), and the daemon prints each line once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from sqlalchemy import select

from vatsim_pipeline.defs.tags import ERROR_CATEGORY_TAG, ERROR_SERVICE_TAG
from vatsim_pipeline.feed.landing import landed_after
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.schema import feed_snapshots
from vatsim_pipeline_tests.feed_server_fixture import running_feed_server
from vatsim_pipeline_tests.own_postgres import own_postgres
from vatsim_pipeline_tests.shared_data import REPOSITORY

OUTAGE_S = 20
WAIT_S = 240
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
UNFINISHED = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]
# `logging.basicConfig`'s format: the root logger was given a handler by a library's
# warning, and every Dagster line is printed a second time through it.
ROOT_ECHO = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL):\w", re.MULTILINE)


def _stored(engine) -> list[datetime]:
    with engine.connect() as connection:
        return list(connection.scalars(select(feed_snapshots.c.update_timestamp)))


def _wait(what: str, condition, daemon: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        assert daemon.poll() is None, "the daemon exited"
        try:
            if condition():
                return
        except Exception:  # the database may still be coming back
            pass
        time.sleep(1)
    pytest.fail(f"{what}: not within {WAIT_S} s")


@pytest.mark.daemon
def test_a_postgres_outage_loses_nothing_and_every_landed_payload_is_stored_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, landing = tmp_path / "dagster_home", tmp_path / "landing"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        (REPOSITORY / "vatsim_pipeline/deploy/dagster.postgres.yaml").read_text()
    )
    (home / "workspace.yaml").write_text(
        "load_from:\n  - python_module:\n      module_name: vatsim_pipeline.definitions\n"
        f"      working_directory: {REPOSITORY}\n"
    )
    with own_postgres() as server, running_feed_server(auto=True, interval=6.0) as feed:
        server.create_database("vatsim")
        env = {
            "DAGSTER_HOME": str(home),
            "DAGSTER_POSTGRES_URL": server.url("vatsim", driver=""),
            "VATSIM_DATABASE_URL": server.url("vatsim"),
            "VATSIM_LANDING_DIR": str(landing),
            "VATSIM_HOME": str(tmp_path / "home"),
            "VATSIM_STATUS_URL": feed.status_url,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        engine = make_engine(env["VATSIM_DATABASE_URL"])
        migrate(engine)
        instance = DagsterInstance.get()  # storage created before any process starts
        log = (tmp_path / "daemon.log").open("w")
        daemon = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w",
             str(home / "workspace.yaml")],
            cwd=home, env={**os.environ}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            _wait("two snapshots stored", lambda: len(_stored(engine)) >= 2, daemon)
            before = len(_stored(engine))
            engine.dispose()
            server.stop()
            stopped_at = time.monotonic()
            time.sleep(OUTAGE_S)
            server.start()
            outage_s = time.monotonic() - stopped_at
            _wait("two more stored", lambda: len(_stored(engine)) >= before + 2, daemon)
            feed.state.stop_clock()  # the backlog can now drain on a busy machine

            def recovered() -> bool:
                landed = {f.update_timestamp for f in landed_after(landing, EPOCH)}
                stored = _stored(engine)
                busy = instance.get_runs_count(RunsFilter(statuses=UNFINISHED))
                return landed == set(stored) and busy == 0

            _wait("every landed payload stored after the outage", recovered, daemon)
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
            log.close()

        stored = _stored(engine)
        landed = landed_after(landing, EPOCH)
        assert len(stored) == len(set(stored))
        assert sorted(stored) == [f.update_timestamp for f in landed]
        failed = instance.get_runs(
            RunsFilter(job_name="ingest_snapshot", statuses=[DagsterRunStatus.FAILURE])
        )
        for run in failed:
            assert run.tags.get(ERROR_CATEGORY_TAG) not in (None, "unknown"), run.tags
            assert run.tags[ERROR_SERVICE_TAG] in ("database", "dagster_storage", "run_worker")
        engine.dispose()
        instance.dispose()
    output = (tmp_path / "daemon.log").read_text()
    assert outage_s >= OUTAGE_S
    assert not ROOT_ECHO.search(output), ROOT_ECHO.findall(output)[:5]
