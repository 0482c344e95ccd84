"""The Celery profile for real: a run launched through `dagster.celery.yaml` travels over
the local RabbitMQ to a real Celery worker (`dagster-celery worker start`) that this test
starts and stops itself, executes there, and stores its snapshot.

Needs PostgreSQL (the profile's Dagster storage) and RabbitMQ on 127.0.0.1:5672
(guest/guest; `VATSIM_TEST_AMQP_URL` overrides): an unreachable broker fails the test
with that reason, it is never skipped. The run has a queue of its own, so that another
worker on the same broker cannot take it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import kombu
import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster_celery.launcher import CeleryRunLauncher
from dagster_celery.tags import DAGSTER_CELERY_QUEUE_TAG, DAGSTER_CELERY_TASK_ID_TAG
from sqlalchemy import create_engine, func, select

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.ingest_job import ingest_run_config, ingest_tags
from vatsim_pipeline.feed.client import snapshot_timestamp
from vatsim_pipeline.storage.schema import feed_snapshots, flight_positions
from vatsim_pipeline_tests.shared_data import REPOSITORY, sequence_files

AMQP_URL = os.environ.get("VATSIM_TEST_AMQP_URL") or "pyamqp://guest:guest@127.0.0.1:5672//"
PROFILE = REPOSITORY / "vatsim_pipeline" / "deploy" / "dagster.celery.yaml"
RUN_TIMEOUT_S = 240
FINISHED = (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


def _require_broker() -> None:
    try:
        with kombu.Connection(AMQP_URL, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:  # kombu raises the transport's own errors
        pytest.fail(
            f"RabbitMQ at {AMQP_URL} is unreachable ({error}): the Celery profile test needs "
            "a broker (start rabbitmq-server, or set VATSIM_TEST_AMQP_URL)"
        )


def _start_worker(env: dict[str, str], queue: str, folder: Path) -> subprocess.Popen:
    """`dagster-celery worker start` in a session of its own (so that stopping it stops
    the Celery process it starts), one task at a time, logging to a file."""
    config = folder / "celery-worker.yaml"
    config.write_text(
        "execution:\n  config:\n"
        f"    broker: '{AMQP_URL}'\n    backend: 'rpc://'\n"
        "    config_source:\n      worker_concurrency: 1\n"
    )
    log = (folder / "worker.log").open("wb")
    scripts = Path(sys.executable).parent  # dagster-celery runs `celery` from PATH
    env = {**env, "PATH": f"{scripts}{os.pathsep}{env.get('PATH', '')}"}
    command = [
        str(scripts / "dagster-celery"),
        *("worker", "start", "-A", "dagster_celery.app", "-y", str(config), "-q", queue),
    ]
    return subprocess.Popen(
        command, env=env, cwd=REPOSITORY, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)


def test_ingest_runs_on_a_real_celery_worker(postgres_url, tmp_path, monkeypatch) -> None:
    _require_broker()
    home, shared, landing = tmp_path / "home", tmp_path / "shared", tmp_path / "landing"
    home.mkdir()
    shutil.copy(PROFILE, home / "dagster.yaml")
    env = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_URL": postgres_url,
        "VATSIM_DATABASE_URL": postgres_url,
        "VATSIM_CELERY_BROKER_URL": AMQP_URL,
        "VATSIM_CELERY_BACKEND_URL": "rpc://",
        "VATSIM_LANDING_DIR": str(landing),
        "VATSIM_DAGSTER_SHARED_DIR": str(shared),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    queue = f"vatsim-test-{uuid.uuid4().hex[:12]}"
    path = sequence_files()[0]
    job = build_definitions().resolve_job_def("ingest_snapshot")
    origin = (
        ReconstructableRepository.for_module(
            "vatsim_pipeline.definitions", "defs", working_directory=str(REPOSITORY)
        )
        .get_reconstructable_job("ingest_snapshot")
        .get_python_origin()
    )
    worker = _start_worker({**os.environ, **env}, queue, tmp_path)
    try:
        with DagsterInstance.from_config(str(home)) as instance:
            assert isinstance(instance.run_launcher, CeleryRunLauncher)
            run = instance.create_run_for_job(
                job,
                run_config=ingest_run_config(str(path), None),
                tags={
                    **ingest_tags(snapshot_timestamp(path.read_bytes())),
                    DAGSTER_CELERY_QUEUE_TAG: queue,
                },
                job_code_origin=origin,
            )
            instance.launch_run(run.run_id, workspace=None)
            deadline = time.monotonic() + RUN_TIMEOUT_S
            while instance.get_run_by_id(run.run_id).status not in FINISHED:
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
                time.sleep(1)
            finished = instance.get_run_by_id(run.run_id)
            events = [e.dagster_event for e in instance.all_logs(run.run_id) if e.dagster_event]
            steps = {event.step_key for event in events if event.is_step_success}
            failed = {event.step_key for event in events if event.is_step_failure}
    finally:
        _stop(worker)

    assert finished.status == DagsterRunStatus.SUCCESS, (tmp_path / "worker.log").read_text()
    assert finished.tags[DAGSTER_CELERY_QUEUE_TAG] == queue
    assert finished.tags[DAGSTER_CELERY_TASK_ID_TAG]
    assert steps == {"ingest"}
    assert failed == set()
    worker_log = (tmp_path / "worker.log").read_text()
    assert f"Task execute_job[{finished.tags[DAGSTER_CELERY_TASK_ID_TAG]}]" in worker_log
    data = create_engine(postgres_url)
    with data.connect() as connection:
        stored = connection.execute(select(feed_snapshots.c.pilots)).scalar_one()
        positions = connection.scalar(select(func.count()).select_from(flight_positions))
    data.dispose()
    assert positions == stored > 900
    assert worker.returncode is not None
