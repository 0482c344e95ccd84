"""Fixtures of the sensor and fault tests: the local feed server the sensor polls, and a
second database for clean reference ingests."""

from __future__ import annotations

from pathlib import Path

import pytest

from vatsim_pipeline_tests.backends import drop_postgres_database, fresh_postgres_database
from vatsim_pipeline_tests.feed_server_fixture import running_feed_server


@pytest.fixture
def feed(vatsim_env, monkeypatch):
    """A simulated feed the sensor polls; breakers open after 2 failures, for 0.5 s."""
    with running_feed_server(pilots=30, controllers=6, seed=7) as server:
        monkeypatch.setenv("VATSIM_STATUS_URL", server.status_url)
        monkeypatch.setenv("VATSIM_BREAKER_THRESHOLD", "2")
        monkeypatch.setenv("VATSIM_BREAKER_COOLDOWN_S", "0.5")
        monkeypatch.setenv("VATSIM_FEED_READ_TIMEOUT_S", "1")
        yield server


@pytest.fixture
def clean_url(database_url: str, tmp_path: Path):
    """A second, empty database on the same backend, for the clean reference ingest."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'clean.db'}"
        return
    url = fresh_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)
