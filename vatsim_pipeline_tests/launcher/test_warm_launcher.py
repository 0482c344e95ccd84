"""The warm run launcher on a real instance: runs forked from the zygote finish, can be
cancelled, are seen dead when killed, and never run stale code."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    reconstructable,
)
from dagster._core.launcher import LaunchRunContext, WorkerStatus

from vatsim_pipeline.launcher.warm_launcher import (
    WORKER_PID_TAG,
    WarmRunLauncher,
    WorkerLaunchError,
    is_run_worker,
    source_signature,
)
from vatsim_pipeline.launcher.zygote import WORKER_CPU_LINE
from vatsim_pipeline_tests.launcher.waiting_job import waiting_job

WAIT_S = 60
MODULE = "vatsim_pipeline_tests.launcher.waiting_job"


@contextmanager
def _instance(
    home: Path, monkeypatch: pytest.MonkeyPatch, preload: str
) -> Iterator[DagsterInstance]:
    """A real local instance whose run launcher is the warm one, from `dagster.yaml`."""
    (home / "dagster.yaml").write_text(
        "run_launcher:\n"
        "  module: vatsim_pipeline.launcher.warm_launcher\n"
        "  class: WarmRunLauncher\n"
        f"  config:\n    preload_modules: [{preload}]\n"
        "telemetry:\n  enabled: false\n"
    )
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.get() as instance:
        try:
            yield instance
        finally:
            instance.run_launcher.dispose()


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DagsterInstance]:
    with _instance(tmp_path, monkeypatch, MODULE) as instance:
        yield instance


def _launch(instance: DagsterInstance, seconds: float) -> DagsterRun:
    run = instance.create_run_for_job(
        waiting_job,
        run_config={"ops": {"wait": {"config": {"seconds": seconds}}}},
        job_code_origin=reconstructable(waiting_job).get_python_origin(),
    )
    instance.run_launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    return instance.get_run_by_id(run.run_id)


def _wait_for(instance: DagsterInstance, run_id: str, statuses: set[DagsterRunStatus]):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run.status in statuses:
            return run
        time.sleep(0.1)
    pytest.fail(f"run {run_id} still {instance.get_run_by_id(run_id).status} after {WAIT_S} s")


def _zygote_pid(instance: DagsterInstance) -> int:
    launcher = instance.run_launcher
    assert isinstance(launcher, WarmRunLauncher)
    return launcher.zygote_pid


def test_the_instance_loads_the_warm_launcher(instance: DagsterInstance) -> None:
    assert isinstance(instance.run_launcher, WarmRunLauncher)
    assert instance.run_launcher.supports_check_run_worker_health


def test_runs_are_forked_from_one_warm_process_and_succeed(instance: DagsterInstance) -> None:
    first = _launch(instance, 0.0)
    zygote = _zygote_pid(instance)
    second = _launch(instance, 0.0)
    for run in (first, second):
        done = _wait_for(instance, run.run_id, {DagsterRunStatus.SUCCESS})
        assert done.tags[WORKER_PID_TAG].isdigit()
        logs = instance.all_logs(run.run_id)
        assert any(f"from warm process (pid: {zygote})" in (e.message or "") for e in logs)
        kinds = {e.dagster_event.event_type_value for e in logs if e.dagster_event}
        assert "STEP_SUCCESS" in kinds
    assert first.tags[WORKER_PID_TAG] != second.tags[WORKER_PID_TAG]
    assert _zygote_pid(instance) == zygote


def test_with_the_setting_the_zygote_reports_each_ended_workers_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """`bench/soak.py` sets VATSIM_REPORT_WORKER_CPU to break the workers' CPU down by job:
    one line per ended worker, with its CPU time (not its wall time: this one sleeps)."""
    monkeypatch.setenv("VATSIM_REPORT_WORKER_CPU", "1")
    with _instance(tmp_path, monkeypatch, MODULE) as instance:
        started = time.time()
        run = _launch(instance, 1.0)
        pid = int(_wait_for(instance, run.run_id, {DagsterRunStatus.SUCCESS}).tags[WORKER_PID_TAG])
        output = ""
        deadline = time.monotonic() + WAIT_S
        while f'"pid": {pid},' not in output and time.monotonic() < deadline:
            time.sleep(0.1)
            output += capfd.readouterr().err
    reports = [
        json.loads(line.removeprefix(WORKER_CPU_LINE))
        for line in output.splitlines()
        if line.startswith(WORKER_CPU_LINE)
    ]
    assert [report["pid"] for report in reports] == [pid]
    lifetime = reports[0]["at"] - started
    assert 1.0 < lifetime < WAIT_S
    assert 0.0 < reports[0]["cpu_s"] < lifetime - 0.9


def test_a_running_worker_is_healthy_and_a_killed_one_is_failed(instance: DagsterInstance) -> None:
    run = _launch(instance, 30.0)
    run = _wait_for(instance, run.run_id, {DagsterRunStatus.STARTED})
    pid = int(run.tags[WORKER_PID_TAG])
    assert is_run_worker(pid)
    assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + WAIT_S
    while is_run_worker(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    health = instance.run_launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.FAILED
    assert str(pid) in health.msg


def test_terminate_cancels_the_run(instance: DagsterInstance) -> None:
    run = _launch(instance, 30.0)
    _wait_for(instance, run.run_id, {DagsterRunStatus.STARTED})
    started = time.monotonic()
    assert instance.run_launcher.terminate(run.run_id) is True
    _wait_for(instance, run.run_id, {DagsterRunStatus.CANCELED})
    assert time.monotonic() - started < 30
    assert instance.run_launcher.terminate(run.run_id) is False


def test_changed_code_starts_a_fresh_warm_process(
    instance: DagsterInstance, tmp_path: Path
) -> None:
    _wait_for(instance, _launch(instance, 0.0).run_id, {DagsterRunStatus.SUCCESS})
    before = _zygote_pid(instance)
    source = Path(__file__).with_name("waiting_job.py")
    stat = source.stat()
    try:
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        _wait_for(instance, _launch(instance, 0.0).run_id, {DagsterRunStatus.SUCCESS})
    finally:
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert _zygote_pid(instance) != before


def test_source_signature_follows_the_package_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "signed_package"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "module.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = source_signature(["signed_package.module"])
    assert source_signature(["signed_package.module"]) == first
    stat = (package / "module.py").stat()
    os.utime(package / "module.py", ns=(stat.st_atime_ns, stat.st_mtime_ns - 5_000_000_000))
    second = source_signature(["signed_package.module"])
    assert second != first
    (package / "added.py").write_text("")
    assert source_signature(["signed_package.module"]) not in {first, second}


def test_a_zygote_that_cannot_import_its_modules_fails_the_launch_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = "vatsim_pipeline_tests.no_such_module"
    refused = pytest.raises(WorkerLaunchError, match="warm run worker process did not start")
    with _instance(tmp_path, monkeypatch, missing) as instance, refused:
        _launch(instance, 0.0)


def test_a_killed_worker_fails_its_run_at_once_with_the_reason(instance: DagsterInstance) -> None:
    """No run monitoring here: only the launcher hearing of the death can end the run."""
    assert not instance.run_monitoring_enabled
    run = _launch(instance, 60.0)
    run = _wait_for(instance, run.run_id, {DagsterRunStatus.STARTED})
    pid = int(run.tags[WORKER_PID_TAG])

    os.kill(pid, signal.SIGKILL)

    failed = _wait_for(instance, run.run_id, {DagsterRunStatus.FAILURE})
    reason = f"run worker (pid {pid}) killed by SIGKILL"
    assert failed.tags["vatsim/error_category"] == "resource"
    assert failed.tags["vatsim/error_severity"] == "critical"
    assert failed.tags["vatsim/error_service"] == "run_worker"
    assert failed.tags["vatsim/error"] == f"RunWorkerDied: {reason}"
    failures = [
        entry.dagster_event.message
        for entry in instance.all_logs(run.run_id)
        if entry.dagster_event and entry.dagster_event.event_type == DagsterEventType.RUN_FAILURE
    ]
    assert failures == [f"{reason}; the run did not finish"]
    # The next run still gets a worker from the same warm process.
    zygote = _zygote_pid(instance)
    done = _wait_for(instance, _launch(instance, 0.0).run_id, {DagsterRunStatus.SUCCESS})
    assert done.status == DagsterRunStatus.SUCCESS and _zygote_pid(instance) == zygote


def test_a_worker_that_finished_its_run_is_left_alone(instance: DagsterInstance) -> None:
    run = _launch(instance, 0.0)
    done = _wait_for(instance, run.run_id, {DagsterRunStatus.SUCCESS})
    pid = int(done.tags[WORKER_PID_TAG])
    deadline = time.monotonic() + WAIT_S
    while is_run_worker(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the exit notice has been read by now
    after = instance.get_run_by_id(run.run_id)
    assert after.status == DagsterRunStatus.SUCCESS
    assert "vatsim/error_category" not in after.tags
