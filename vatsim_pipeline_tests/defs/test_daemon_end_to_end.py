"""End to end: the real Dagster daemon runs the sensor against the local feed server.

Three successive simulated feed updates must each become exactly one successful run,
keyed by its update timestamp, and each snapshot must be stored: with the code server the
daemon spawns (`workspace.yaml`) and with the code server as its own service
(`deploy/workspace.grpc.yaml`, as docs/deployment.md runs it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import psutil
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from sqlalchemy import select

from vatsim_pipeline.defs.tags import UPDATE_TIMESTAMP_TAG
from vatsim_pipeline.launcher.warm_launcher import WORKER_PID_TAG
from vatsim_pipeline.storage.schema import feed_snapshots
from vatsim_pipeline_tests.feed_server_fixture import running_feed_server
from vatsim_pipeline_tests.shared_data import REPOSITORY

UPDATES = 3
WAIT_PER_UPDATE_S = 120
GRPC_WORKSPACE = REPOSITORY / "vatsim_pipeline/deploy/workspace.grpc.yaml"
CODE_SERVER_START_S = 120


def _runs_for(instance: DagsterInstance, stamp: str):
    return instance.get_run_records(
        filters=RunsFilter(job_name="ingest_snapshot", tags={UPDATE_TIMESTAMP_TAG: stamp})
    )


def _wait_for_success(instance: DagsterInstance, stamp: str, daemon: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT_PER_UPDATE_S
    while time.monotonic() < deadline:
        assert daemon.poll() is None, "the daemon exited"
        statuses = [r.dagster_run.status for r in _runs_for(instance, stamp)]
        assert DagsterRunStatus.FAILURE not in statuses
        if DagsterRunStatus.SUCCESS in statuses:
            return
        time.sleep(0.5)
    pytest.fail(f"no successful run for update {stamp} within {WAIT_PER_UPDATE_S} s")


@pytest.fixture
def daemon_home(vatsim_env) -> Path:
    """A Dagster home with the embedded profile and `workspace.yaml`'s python module (the
    daemon spawns its own code server); the service variant rewrites the workspace."""
    home = Path(vatsim_env["DAGSTER_HOME"])
    shutil.copy(REPOSITORY / "dagster.yaml", home / "dagster.yaml")
    (home / "workspace.yaml").write_text(
        "load_from:\n  - python_module:\n      module_name: vatsim_pipeline.definitions\n"
        f"      working_directory: {REPOSITORY}\n"
    )
    return home


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_code_server(home: Path, env: dict[str, str]) -> subprocess.Popen:
    """`dagster api grpc` as the service unit runs it, on a free port written into
    the deploy workspace; returns once it answers a health check."""
    port = str(_free_port())
    workspace = GRPC_WORKSPACE.read_text().replace("port: 4266", f"port: {port}")
    assert f"port: {port}" in workspace
    (home / "workspace.yaml").write_text(workspace)
    dagster = str(Path(sys.executable).parent / "dagster")
    server = subprocess.Popen(
        [dagster, "api", "grpc", "-m", "vatsim_pipeline.definitions",
         "-h", "127.0.0.1", "-p", port],
        cwd=REPOSITORY, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    check = [dagster, "api", "grpc-health-check", "-h", "127.0.0.1", "-p", port]
    deadline = time.monotonic() + CODE_SERVER_START_S
    while subprocess.run(check, env=env, capture_output=True).returncode != 0:
        assert server.poll() is None, "the code server exited"
        assert time.monotonic() < deadline, "the code server did not answer"
        time.sleep(1)
    return server


def _stop(process: subprocess.Popen | None) -> None:
    if process is None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def _spawned_code_servers(daemon: subprocess.Popen) -> list[int]:
    """Live code servers below the daemon (a replaced one may linger as a zombie)."""
    found = []
    for child in psutil.Process(daemon.pid).children(recursive=True):
        try:
            if "api grpc" in " ".join(child.cmdline()):
                found.append(child.pid)
        except psutil.Error:  # ended, or a zombie, while we looked
            continue
    return found


@pytest.mark.daemon
@pytest.mark.parametrize("code_server", ["spawned", "service"])
def test_the_daemon_turns_each_feed_update_into_one_stored_run(
    code_server: str, daemon_home: Path, engine, monkeypatch
) -> None:
    with running_feed_server(pilots=40, controllers=8, seed=3) as feed:
        env = {**os.environ, "VATSIM_STATUS_URL": feed.status_url}
        server = _start_code_server(daemon_home, env) if code_server == "service" else None
        daemon_bin = Path(sys.executable).parent / "dagster-daemon"
        daemon = subprocess.Popen(
            [str(daemon_bin), "run", "-w", str(daemon_home / "workspace.yaml")],
            cwd=daemon_home,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            instance = DagsterInstance.get()
            stamps = []
            for update in range(UPDATES):
                if update:
                    feed.advance()
                stamp = datetime.fromisoformat(feed.source.render()[0].isoformat()).isoformat()
                stamps.append(stamp)
                _wait_for_success(instance, stamp, daemon)
            # The sensor ran in the daemon's own code server, or only in the service's.
            assert bool(_spawned_code_servers(daemon)) == (code_server == "spawned")
        finally:
            _stop(daemon)
            _stop(server)

    workers = set()
    for stamp in stamps:
        runs = _runs_for(instance, stamp)
        assert len(runs) == 1
        # Launched by the warm launcher of `dagster.yaml`: forked, one worker per run.
        workers.add(runs[0].dagster_run.tags[WORKER_PID_TAG])
        assert runs[0].dagster_run.tags["dagster/run_key"] == stamp
        assert runs[0].dagster_run.tags["dagster/sensor_name"] == "vatsim_feed_sensor"
    with engine.connect() as connection:
        stored = [
            t.isoformat() for t in connection.scalars(select(feed_snapshots.c.update_timestamp))
        ]
    assert sorted(stored) == sorted(stamps)
    assert len(workers) == UPDATES
