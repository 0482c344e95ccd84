"""Where users find the dashboard: `VATSIM_DASHBOARD_URL`, by default the address
`vatsim-pipeline serve` listens on unless told otherwise. The Dagster UI links it from
the ingest tables' materializations."""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_DASHBOARD_URL = "http://127.0.0.1:8000/"


def dashboard_url(env: Mapping[str, str] | None = None) -> str:
    """The dashboard's address as users reach it."""
    return (os.environ if env is None else env).get("VATSIM_DASHBOARD_URL") or DEFAULT_DASHBOARD_URL
