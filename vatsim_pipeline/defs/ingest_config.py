"""Where the ingest step's config sits in a run's config, of this version and the one
before (the ingest run had four steps, and its config was the `landed_snapshot` op's),
so that dead letters of either version read and replay alike. Light on imports: the
reports and the CLI read dead letters without loading the assets."""

from collections.abc import Mapping
from typing import Any

INGEST_OP = "ingest"
LEGACY_OP = "landed_snapshot"


def ingest_config_of(run_config: Mapping[str, Any]) -> dict[str, Any]:
    """The ingest step's config in a run's config."""
    ops = run_config.get("ops", {})
    return dict((ops.get(INGEST_OP) or ops.get(LEGACY_OP) or {}).get("config", {}))


def is_legacy(run_config: Mapping[str, Any]) -> bool:
    """Whether the run was made for the ingest job of four steps."""
    return LEGACY_OP in run_config.get("ops", {})


def current_run_config(run_config: Mapping[str, Any]) -> dict[str, Any]:
    """A run's config with the ingest step's config under this version's op name."""
    ops = {name: op for name, op in run_config.get("ops", {}).items() if name != LEGACY_OP}
    ops[INGEST_OP] = {"config": ingest_config_of(run_config)}
    return {**run_config, "ops": ops}
