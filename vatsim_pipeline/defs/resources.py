"""Dagster resources: thin handles on the database, the feeds and the landing directory.

Values come from the environment (see `vatsim_pipeline.settings`); when a variable is
set it is passed as an `EnvVar`, so the UI shows its name rather than a secret URL.
"""

import os
from functools import cache
from pathlib import Path

from dagster import ConfigurableResource, EnvVar
from sqlalchemy import Engine

from vatsim_pipeline.feed.client import FeedClient
from vatsim_pipeline.settings import Settings
from vatsim_pipeline.storage.engine import engine_for


class DatabaseResource(ConfigurableResource):
    """The data database (SQLite or PostgreSQL), migrated on first use."""

    url: str

    def engine(self) -> Engine:
        return engine_for(self.url)


@cache
def _client(status_url: str, connect_timeout_s: float, read_timeout_s: float) -> FeedClient:
    return FeedClient(
        status_url, connect_timeout_s=connect_timeout_s, read_timeout_s=read_timeout_s
    )


class FeedResource(ConfigurableResource):
    """The VATSIM feeds, found through `status.json` (or the local feed server's)."""

    status_url: str
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 20.0

    def client(self) -> FeedClient:
        """One client per process, so discovery and connections are reused across ticks."""
        return _client(self.status_url, self.connect_timeout_s, self.read_timeout_s)


class LandingResource(ConfigurableResource):
    """The directory where payloads are safe on disk before any run starts."""

    directory: str

    def path(self) -> Path:
        return Path(self.directory)


def _from_env(name: str, default: str) -> str | EnvVar:
    return EnvVar(name) if os.environ.get(name) else default


def build_resources(settings: Settings | None = None) -> dict[str, ConfigurableResource]:
    """The resources of `Definitions`, resolved from the environment."""
    settings = settings or Settings.from_env()
    return {
        "database": DatabaseResource(url=_from_env("VATSIM_DATABASE_URL", settings.database_url)),
        "feed": FeedResource(
            status_url=_from_env("VATSIM_STATUS_URL", settings.status_url),
            read_timeout_s=float(os.environ.get("VATSIM_FEED_READ_TIMEOUT_S", "20")),
        ),
        "landing": LandingResource(
            directory=_from_env("VATSIM_LANDING_DIR", str(settings.landing_dir))
        ),
    }
