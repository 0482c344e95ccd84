"""Dagster resources: thin handles on the database, the feeds and the landing directory.

Values come from the environment (see `vatsim_pipeline.settings`) as `EnvVar`s, so the
UI shows a variable's name rather than a secret URL.
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


def _env(name: str, default: str) -> EnvVar:
    """An `EnvVar`, resolved when a run starts; the default is exported if it is unset.

    Resolving at run start (not when the definitions load) keeps every run on the
    environment of the process that executes it, including replays in a long-lived one.
    """
    os.environ.setdefault(name, default)
    return EnvVar(name)


def build_resources(settings: Settings | None = None) -> dict[str, ConfigurableResource]:
    """The resources of `Definitions`, resolved from the environment."""
    settings = settings or Settings.from_env()
    return {
        "database": DatabaseResource(url=_env("VATSIM_DATABASE_URL", settings.database_url)),
        "feed": FeedResource(
            status_url=_env("VATSIM_STATUS_URL", settings.status_url),
            read_timeout_s=float(os.environ.get("VATSIM_FEED_READ_TIMEOUT_S", "20")),
        ),
        "landing": LandingResource(directory=_env("VATSIM_LANDING_DIR", str(settings.landing_dir))),
    }
