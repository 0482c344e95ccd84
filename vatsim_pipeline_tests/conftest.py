"""Fixtures shared by the suite: the data databases (SQLite always, PostgreSQL when
`VATSIM_TEST_POSTGRES_URL` is set) and an isolated Dagster home per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Real retries, but quick: the policies read these when the assets are defined.
os.environ.setdefault("VATSIM_RETRY_DELAY_S", "0.05")
os.environ.setdefault("VATSIM_RETRY_MAX", "2")
# Tests tick the sensor back to back; the 15 s feed period is tested on its own.
os.environ.setdefault("VATSIM_FEED_PERIOD_S", "0")
# No test reaches VATSIM's servers, not even a daemon's sensor asking for sectors: unless a
# test points them at its local feed server, the feeds are a closed local port.
os.environ.setdefault("VATSIM_STATUS_URL", "http://127.0.0.1:9/status.json")
os.environ.setdefault("VATSIM_MAP_DATA_URL", "http://127.0.0.1:9/api/map_data/")
os.environ.setdefault("VATSIM_TRACON_URL", "http://127.0.0.1:9/map_data/TRACON.geojson")

from sqlalchemy import Engine

from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline_tests.backends import (
    BACKENDS,
    POSTGRES_URL,
    drop_postgres_database,
    fresh_postgres_database,
)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty data database, once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'vatsim.db'}"
        return
    url = fresh_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a new empty PostgreSQL database (for tests of PostgreSQL-only features)."""
    if not POSTGRES_URL:
        pytest.skip("needs VATSIM_TEST_POSTGRES_URL; .ci/run always sets it")
    url = fresh_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine on the empty database."""
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def vatsim_env(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Point every setting of the pipeline at this test's own folders and database."""
    env = {
        "VATSIM_HOME": str(tmp_path / "home"),
        "VATSIM_DATABASE_URL": database_url,
        "VATSIM_LANDING_DIR": str(tmp_path / "landing"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    Path(env["DAGSTER_HOME"]).mkdir()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
