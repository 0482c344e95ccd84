"""The Dagster instance the command line records its runs in."""

import os
from pathlib import Path

from dagster import DagsterInstance

from vatsim_pipeline.settings import Settings

DEFAULT_INSTANCE_YAML = "telemetry:\n  enabled: false\n"


def dagster_instance(settings: Settings | None = None) -> DagsterInstance:
    """`$DAGSTER_HOME`'s instance; without it, one under `$VATSIM_HOME/dagster_home`.

    The fallback is the folder `make run` uses, so that runs started from the command
    line show up in the UI of the embedded default.
    """
    if not os.environ.get("DAGSTER_HOME"):
        settings = settings or Settings.from_env()
        home = settings.home / "dagster_home"
        home.mkdir(parents=True, exist_ok=True)
        os.environ["DAGSTER_HOME"] = str(home)
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DEFAULT_INSTANCE_YAML)
    return DagsterInstance.get()
