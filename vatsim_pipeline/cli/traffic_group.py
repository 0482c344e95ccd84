"""The `vatsim-pipeline traffic` command group, in a module of its own so that every
command module adding to it (sectors, airports) imports the same group."""

from __future__ import annotations

from vatsim_pipeline.cli.app import main


@main.group("traffic")
def traffic_group() -> None:
    """Traffic patterns: sector and airport load per 15 minutes or per hour."""
