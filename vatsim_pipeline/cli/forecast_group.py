"""The `vatsim-pipeline forecast` command group, in a module of its own so that every
command module adding to it (sectors, airports, backtest) imports the same group."""

from __future__ import annotations

from vatsim_pipeline.cli.app import main


@main.group("forecast")
def forecast_group() -> None:
    """Forecasts of the next two hours, and their backtest on stored history."""
