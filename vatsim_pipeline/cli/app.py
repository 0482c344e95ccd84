"""The root command group and the registration of every command module."""

from __future__ import annotations

import importlib

import click

COMMAND_MODULES = (
    "ingest",
    "feed_server",
    "query",
    "sectors_load",
    "serve",
    "report",
    "dead_letters",
    "prune",
    "anomalies",
    "simulate",
    "sector_patterns",
    "init",
    "airport_patterns",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Record the VATSIM network on Dagster and query its history."""
    from vatsim_pipeline.alerts.settings import AlertSettings, SettingError
    from vatsim_pipeline.cli.errors import UserError

    try:
        AlertSettings.from_env()
    except SettingError as error:
        raise UserError(str(error)) from None


for _name in COMMAND_MODULES:
    importlib.import_module(f"vatsim_pipeline.cli.{_name}")
