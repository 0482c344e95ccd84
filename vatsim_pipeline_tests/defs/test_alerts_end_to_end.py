"""End to end: the real Dagster daemon ingests a replayed feed from the local feed server,
and the `anomaly_alerts` sensor POSTs each new emergency to a local webhook exactly once;
ingesting the same snapshots again posts nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from dagster import DagsterInstance

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.ingest_job import ingest_run_config
from vatsim_pipeline_tests.alerts.webhook_receiver import running_webhook
from vatsim_pipeline_tests.defs.test_daemon_end_to_end import _wait_for_success, daemon_home
from vatsim_pipeline_tests.feed_server_fixture import running_feed_server
from vatsim_pipeline_tests.storage.anomaly_support import copies, pilot, sequence_files

__all__ = ["daemon_home"]  # the fixture, shared with the daemon's own end-to-end test
WAIT_S = 120
SQUAWKS = "emergency_squawk,radio_failure_squawk,hijack_squawk"


def _emergency(index: int, document: dict) -> None:
    if index >= 2:
        pilot(document, "AAL1233")["transponder"] = "7700"


def _wait(condition: Callable[[], bool], what: str, daemon: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        assert daemon.poll() is None, "the daemon exited"
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"{what} within {WAIT_S} s")


def _last_alert_tick(instance: DagsterInstance) -> float:
    for state in instance.all_instigator_state():
        if state.instigator_name == "anomaly_alerts":
            return getattr(state.instigator_data, "last_tick_timestamp", None) or 0.0
    return 0.0


@pytest.mark.daemon
def test_one_post_per_new_emergency_and_none_on_replay(daemon_home: Path, engine, tmp_path) -> None:
    paths = copies(tmp_path, sequence_files(), _emergency)
    with running_webhook() as hook, running_feed_server(replay=paths[0].parent) as feed:
        env = {
            **os.environ,
            "VATSIM_STATUS_URL": feed.status_url,
            "VATSIM_ALERT_WEBHOOK_URL": hook.url,
            # The replayed feed is two years old, so it is stale too: this test is about
            # the squawks (stale_feed alerts are tested in vatsim_pipeline_tests/alerts).
            "VATSIM_ALERT_KINDS": SQUAWKS,
        }
        daemon_bin = str(Path(sys.executable).parent / "dagster-daemon")
        daemon = subprocess.Popen(
            [daemon_bin, "run", "-w", str(daemon_home / "workspace.yaml")],
            cwd=daemon_home,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            instance = DagsterInstance.get()
            for index in range(len(paths)):
                if index:
                    feed.advance()
                stamp = feed.source.render()[0].isoformat()
                _wait_for_success(instance, stamp, daemon)
            _wait(lambda: len(hook.bodies) >= 2, "two emergency alerts", daemon)
            # Ingest the same snapshots again, then let the sensor tick twice more.
            job = build_definitions().resolve_job_def("ingest_snapshot")
            for path in paths:
                assert job.execute_in_process(
                    run_config=ingest_run_config(str(path), None), instance=instance
                ).success
            replayed_at = time.time()
            _wait(
                lambda: _last_alert_tick(instance) > replayed_at + 5,
                "two sensor ticks after the replay",
                daemon,
            )
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
    alerted = sorted((b["anomaly"]["callsign"], b["anomaly"]["kind"]) for b in hook.bodies)
    assert alerted == [("AAL1233", "emergency_squawk"), ("RDF7", "emergency_squawk")]
    assert hook.attempts == 2
    assert all(b["content"].startswith("emergency_squawk: ") for b in hook.bodies)
