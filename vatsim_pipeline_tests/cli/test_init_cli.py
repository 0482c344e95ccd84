"""`vatsim-pipeline init` prepares a fresh `DAGSTER_HOME` and the data tables before any
process starts, refuses a taken port in one line, and a daemon started on the fresh home
right after it runs the pipeline: sectors loaded at start from the local feed server's
release, then ingest runs, with no alembic trouble."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from sqlalchemy import inspect

from vatsim_pipeline.cli.app import main
from vatsim_pipeline.storage.engine import make_engine
from vatsim_pipeline_tests.feed_server_fixture import running_feed_server
from vatsim_pipeline_tests.shared_data import REPOSITORY

STORES = ("history/runs.db", "history/runs/index.db", "schedules/schedules.db")
WAIT_S = 180


def init(*args: str):
    return CliRunner().invoke(main, ["init", *args])


def test_init_prepares_a_fresh_home_once_and_again(vatsim_env, database_url: str) -> None:
    home = Path(vatsim_env["DAGSTER_HOME"])
    first = init("--config", str(REPOSITORY / "dagster.yaml"))
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[0] == f"Dagster instance ready in {home} (SqliteRunStorage)"
    assert (home / "dagster.yaml").read_bytes() == (REPOSITORY / "dagster.yaml").read_bytes()
    for store in STORES:
        with sqlite3.connect(home / store) as connection:
            heads = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        assert len(heads) == 1, (store, heads)
    engine = make_engine(database_url)
    try:
        assert {"feed_snapshots", "flights", "sectors"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    again = init()  # keeps the profile and the storage
    assert again.exit_code == 0, again.output
    assert (home / "dagster.yaml").read_bytes() == (REPOSITORY / "dagster.yaml").read_bytes()


def test_a_taken_port_is_refused_in_one_line_before_anything_starts(vatsim_env) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = init("--config", str(REPOSITORY / "dagster.yaml"), "--port", str(port))
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: port {port} on 127.0.0.1: in use by another program; "
        "choose another (make run PORT=...)\n"
    )
    assert not (Path(vatsim_env["DAGSTER_HOME"]) / "dagster.yaml").exists()


@pytest.mark.parametrize(
    ("variable", "value", "example"),
    [
        ("VATSIM_FORECAST_CRON", "every 5 minutes", "*/5 * * * *"),
        ("VATSIM_MAINTENANCE_CRON", "17 * * *", "17 * * * *"),
        ("VATSIM_FORECAST_CRON", "*/5 * * * * *", "*/5 * * * *"),  # seconds: Dagster has none
    ],
)
def test_a_malformed_schedule_cron_is_refused_in_one_line_naming_its_variable(
    vatsim_env, monkeypatch, variable: str, value: str, example: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = init("--config", str(REPOSITORY / "dagster.yaml"))
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {variable}: {value!r} is not a cron expression of 5 fields "
        f"(minute hour day month weekday, UTC), e.g. {example!r}\n"
    )
    assert not (Path(vatsim_env["DAGSTER_HOME"]) / "dagster.yaml").exists()


def test_the_definitions_refuse_a_malformed_cron_naming_its_variable() -> None:
    """What a code server started without `init` says: the variable, not only the
    schedule Dagster would name."""
    env = {**os.environ, "VATSIM_MAINTENANCE_CRON": "hourly"}
    loaded = subprocess.run(
        [sys.executable, "-c", "import vatsim_pipeline.definitions"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert loaded.returncode != 0
    assert loaded.stderr.strip().splitlines()[-1] == (
        "vatsim_pipeline.defs.schedule_crons.CronSettingError: VATSIM_MAINTENANCE_CRON: "
        "'hourly' is not a cron expression of 5 fields (minute hour day month weekday, UTC), "
        "e.g. '17 * * * *'"
    )


def test_a_home_without_a_profile_is_refused(vatsim_env) -> None:
    result = init()
    assert result.exit_code == 2
    home = vatsim_env["DAGSTER_HOME"]
    assert (
        result.stderr == f"error: DAGSTER_HOME {home}: no dagster.yaml (give one with --config)\n"
    )


def _runs(instance: DagsterInstance, job: str, status: DagsterRunStatus) -> list:
    return instance.get_run_records(filters=RunsFilter(job_name=job, statuses=[status]))


@pytest.mark.daemon
def test_a_daemon_on_a_fresh_home_loads_sectors_and_ingests(
    vatsim_env, engine, tmp_path: Path
) -> None:
    home = Path(vatsim_env["DAGSTER_HOME"])
    assert init("--config", str(REPOSITORY / "dagster.yaml")).exit_code == 0
    with running_feed_server(pilots=20, controllers=4, seed=5, auto=True, interval=5) as feed:
        env = {
            **os.environ,
            "VATSIM_STATUS_URL": feed.status_url,
            "VATSIM_MAP_DATA_URL": f"{feed.base_url}/api/map_data/",
            "VATSIM_TRACON_URL": f"{feed.base_url}/map_data/TRACONBoundaries.geojson",
        }
        log = tmp_path / "daemon.log"
        with log.open("wb") as output:
            daemon = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "dagster-daemon"),
                    "run",
                    "-w",
                    str(REPOSITORY / "workspace.yaml"),
                ],
                cwd=home,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            instance = DagsterInstance.get()
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:
                assert daemon.poll() is None, log.read_text()
                sectors = _runs(instance, "refresh_sectors", DagsterRunStatus.SUCCESS)
                ingested = _runs(instance, "ingest_snapshot", DagsterRunStatus.SUCCESS)
                if sectors and ingested:
                    break
                time.sleep(1)
            else:
                pytest.fail(f"no sectors load and ingest run within {WAIT_S} s:\n{log.read_text()}")
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
    assert sectors[0].dagster_run.tags["vatsim/requested_by"] == "no sectors stored"
    assert sectors[0].dagster_run.tags["dagster/sensor_name"] == "sectors_when_missing"
    text = log.read_text()
    assert "alembic" not in text.lower() and "more than one head" not in text
    assert "No cursor for event type" not in text  # init stored the consumer's cursors
