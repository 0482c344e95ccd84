"""Faults that used to lose data without telling anyone, against the real sensor, the real
local feed server and real runs: a broken transceivers feed, a landing folder that
refuses writes or is full, and the fetch time that never reached the table."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from dagster import AssetCheckSeverity
from sqlalchemy import delete, func, select

from vatsim_pipeline.api.app import create_app
from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.ingest_job import ingest_run_config
from vatsim_pipeline.feed import client as feed_client
from vatsim_pipeline.feed import landing as feed_landing
from vatsim_pipeline.feed.landing import modified_at, read_payload
from vatsim_pipeline.reports.check_failures import LANDING_CHECK, RADIOS_CHECK
from vatsim_pipeline.reports.errors_report import errors_report
from vatsim_pipeline.reports.events_report import events_report
from vatsim_pipeline.resilience.breaker import CircuitState
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.schema import feed_snapshots, transceivers
from vatsim_pipeline_tests.api import ok, serving
from vatsim_pipeline_tests.defs.test_fault_recovery import _execute
from vatsim_pipeline_tests.defs.test_feed_sensor import SensorDriver


def _config(request) -> dict:
    return request.run_config["ops"]["ingest"]["config"]


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed_client, "TRANSCEIVERS_PAUSE_S", 0.01)


# The transceivers feed ------------------------------------------------------------------


def test_a_transceivers_feed_broken_for_a_moment_is_fetched_again_within_the_update(
    feed, quick_retries
) -> None:
    feed.set_faults(fail_mode="truncated", fail_target="transceivers", fail_times=2)
    driver = SensorDriver()

    (request,) = driver.tick().run_requests

    config = _config(request)
    assert "transceivers_missing" not in config
    landed = read_payload(config["transceivers_path"])
    assert landed == requests.get(feed.transceivers_url, timeout=10).content
    assert feed.faults()["fail_times"] == 0


def test_a_transceivers_feed_that_stays_broken_is_stored_as_missing_radios_and_counted(
    feed, vatsim_env, engine, quick_retries
) -> None:
    feed.set_faults(fail_mode="truncated", fail_target="transceivers")
    driver = SensorDriver()

    (request,) = driver.tick().run_requests

    config = _config(request)
    assert "transceivers_path" not in config
    reason = config["transceivers_missing"]
    assert reason.startswith("transceivers_feed unreachable")
    assert feed.transceivers_url in reason and "after 3 attempts" in reason
    assert "not valid JSON" in reason or "truncated" in reason or "JSON" in reason
    landing = Path(vatsim_env["VATSIM_LANDING_DIR"])
    assert list(landing.rglob("transceivers-data_*")) == []  # nothing broken is landed

    result = _execute(request, driver.instance)
    assert result.success
    # Reported for the run's `transceivers` materialization, as the UI shows it.
    storage = driver.instance.event_log_storage
    record = storage.get_latest_asset_check_execution_by_key([RADIOS_CHECK])[RADIOS_CHECK]
    check = record.event.dagster_event.event_specific_data
    assert check.target_materialization_data.run_id == result.run_id
    assert check.passed is False and check.severity == AssetCheckSeverity.WARN
    assert reason in check.description
    with engine.connect() as connection:
        row = connection.execute(select(feed_snapshots)).one()
        radios = connection.scalar(select(func.count()).select_from(transceivers))
    assert row.transceivers_missing == reason
    assert row.transceiver_stations == 0 and radios == 0
    assert row.pilots > 0

    assert errors_report(driver.instance)["snapshots_without_radios"] == 1
    assert events_report(driver.instance, engine)["snapshots_without_radios"] == 1

    feed.clear_faults()
    feed.advance()
    (healthy,) = driver.tick().run_requests
    assert _execute(healthy, driver.instance).success
    assert errors_report(driver.instance)["snapshots_without_radios"] == 1


# fetched_at -----------------------------------------------------------------------------


def test_fetched_at_goes_from_the_fetch_to_the_table_and_the_api(
    feed, vatsim_env, engine, clean_url, monkeypatch
) -> None:
    driver = SensorDriver()
    before = datetime.now(UTC)
    (request,) = driver.tick().run_requests
    after = datetime.now(UTC)

    config = _config(request)
    fetched = datetime.fromisoformat(config["fetched_at"])
    assert before <= fetched <= after
    # Landing stamps the file with it, so a payload found later still knows it.
    assert abs(modified_at(config["data_path"]) - fetched) < timedelta(milliseconds=1)
    assert _execute(request, driver.instance).success
    with engine.connect() as connection:
        assert connection.scalar(select(feed_snapshots.c.fetched_at)) == fetched
    with serving(create_app(engine)) as base:
        status = ok(base, "/api/status")
    assert datetime.fromisoformat(status["snapshot"]["fetched_at"]) == fetched

    # `ingest` of the landed file (no fetch time in its config) takes it from the file.
    monkeypatch.setenv("VATSIM_DATABASE_URL", clean_url)
    ingest = SimpleNamespace(run_config=ingest_run_config(config["data_path"], None), tags={})
    assert _execute(ingest, driver.instance).success
    clean = make_engine(clean_url)
    migrate(clean)
    with clean.connect() as connection:
        stored = connection.scalar(select(feed_snapshots.c.fetched_at))
    assert abs(stored - fetched) < timedelta(milliseconds=1)

    # A copy outside the landing folder (a recording) has no known fetch time: its save
    # time is not one.
    copy = Path(vatsim_env["VATSIM_HOME"]) / "recorded" / Path(config["data_path"]).name
    copy.parent.mkdir(parents=True)
    shutil.copy2(config["data_path"], copy)
    with clean.begin() as connection:
        connection.execute(delete(feed_snapshots))
    recorded = SimpleNamespace(run_config=ingest_run_config(str(copy), None), tags={})
    assert _execute(recorded, driver.instance).success
    with clean.connect() as connection:
        assert connection.execute(select(feed_snapshots.c.fetched_at)).all() == [(None,)]
    clean.dispose()


# The landing folder ---------------------------------------------------------------------


@contextmanager
def unwritable(folder: Path) -> Iterator[str]:
    """Make `folder` refuse new entries, for root too.

    `chmod` does not stop root (CAP_DAC_OVERRIDE), so as root the folder is made
    immutable (`chattr +i`): the kernel then refuses every change to it with EPERM,
    whoever asks, until the attribute is removed. Setting it needs CAP_LINUX_IMMUTABLE
    and a file system that keeps the attribute (ext4, xfs, btrfs). Other users get a
    read-only mode, which stops them (EACCES).
    """
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield "chmod 555"
        finally:
            folder.chmod(0o755)
        return
    made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"root cannot make a folder immutable here: {made.stderr.strip()}")
    try:
        yield "chattr +i"
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def _latest_landing_check(driver: SensorDriver):
    storage = driver.instance.event_log_storage
    record = storage.get_latest_asset_check_execution_by_key([LANDING_CHECK])[LANDING_CHECK]
    return record.event.dagster_event.event_specific_data


def test_a_landing_folder_that_refuses_writes_is_a_resource_failure_with_a_breaker(
    feed, vatsim_env, engine, monkeypatch
) -> None:
    # A cool-down longer than three ticks take on a busy machine: the third is refused.
    monkeypatch.setenv("VATSIM_BREAKER_COOLDOWN_S", "4")
    landing = Path(vatsim_env["VATSIM_LANDING_DIR"])
    landing.mkdir()
    driver = SensorDriver()
    stamp = feed.source.render()[0].isoformat()

    with unwritable(landing):
        one = driver.tick()
        two = driver.tick()
        held = driver.tick()

    assert one.run_requests == two.run_requests == held.run_requests == []
    assert one.skip_message.startswith(f"cannot land update {stamp} in {landing}: PermissionError")
    assert one.skip_message.endswith("(resource, critical)")
    assert two.skip_message.startswith("landing breaker OPEN after 2 consecutive failures")
    assert held.skip_message.startswith("landing breaker OPEN")
    assert driver.state.breakers.state("landing").state is CircuitState.OPEN
    assert driver.state.last_landed is None

    check = _latest_landing_check(driver)
    assert check.passed is False and check.severity == AssetCheckSeverity.ERROR
    assert check.metadata["category"].value == "resource"
    assert check.metadata["landing_dir"].value == str(landing)
    errors = errors_report(driver.instance)
    assert errors["errors_by_category"]["resource"] == 2
    assert errors["errors_by_service"] == {"landing": 2}
    assert "PermissionError" in errors["most_common_errors"][0]["message"]
    assert events_report(driver.instance, engine)["updates_not_landed"] == 2

    time.sleep(4.1)  # the breaker's cool-down
    probe = driver.tick()
    assert len(probe.run_requests) == 1
    assert driver.state.breakers.state("landing").state is CircuitState.CLOSED
    assert _latest_landing_check(driver).passed is True


def test_a_full_disk_is_a_resource_failure_named_in_the_skip_reason(
    feed, vatsim_env, monkeypatch
) -> None:
    """ENOSPC from the kernel: the payload is written into /dev/full."""
    landing = Path(vatsim_env["VATSIM_LANDING_DIR"])

    def full_disk(dir: Path, prefix: str, suffix: str) -> tuple[int, str]:
        return os.open("/dev/full", os.O_WRONLY), str(Path(dir) / f"{prefix}full{suffix}")

    driver = SensorDriver()
    with monkeypatch.context() as patched:
        patched.setattr(feed_landing.tempfile, "mkstemp", full_disk)
        result = driver.tick()

    assert result.run_requests == []
    assert f"in {landing}: OSError: [Errno {errno.ENOSPC}] No space left" in result.skip_message
    assert result.skip_message.endswith("(resource, critical)")
    assert driver.state.breakers.state("landing").consecutive_failures == 1
    assert errors_report(driver.instance)["errors_by_service"] == {"landing": 1}
    assert len(driver.tick().run_requests) == 1


def test_the_reports_count_checks_that_the_definitions_declare(vatsim_env) -> None:
    declared = build_definitions().resolve_asset_graph().asset_check_keys
    assert {LANDING_CHECK, RADIOS_CHECK} <= declared
