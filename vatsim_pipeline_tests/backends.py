"""Which data databases the suite runs on: SQLite always, PostgreSQL when
`VATSIM_TEST_POSTGRES_URL` is set (`.ci/run` always sets it)."""

from __future__ import annotations

import os

import pytest

POSTGRES_URL = os.environ.get("VATSIM_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]

# For a test of one backend's own mechanism (SQLite's batched deletes, PostgreSQL's
# partitions): the `database_url` and `engine` fixtures on that backend only.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
POSTGRESQL_ONLY = pytest.mark.parametrize(
    "database_url", [b for b in BACKENDS if b == "postgresql"], indirect=True
)
