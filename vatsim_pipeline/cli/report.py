"""`vatsim-pipeline report`: the reports of `vatsim_pipeline.reports`, as JSON on stdout.

They read the Dagster instance (`$DAGSTER_HOME`) and the data database
(`$VATSIM_DATABASE_URL`), the same the pipeline writes, so they work while it runs.
"""

from __future__ import annotations

import json
from datetime import datetime

import click

from vatsim_pipeline.cli.app import main
from vatsim_pipeline.cli.errors import UserError

since_option = click.option(
    "--since",
    default="24h",
    show_default=True,
    help="Start of the window: a duration back from now (30s, 90m, 24h, 7d, 2w) or an ISO time.",
)


def parse_since_option(text: str) -> datetime:
    """`--since` as a time, or the one-line error the user can act on."""
    from vatsim_pipeline.reports.window import parse_since

    try:
        return parse_since(text)
    except ValueError as error:
        raise UserError(f"--since: {error}") from None


def echo_json(document: dict) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=True))


@main.group("report")
def report() -> None:
    """Errors, events and circuit breakers of the pipeline, as JSON."""


@report.command("errors")
@since_option
def errors(since: str) -> None:
    """Errors by category, severity and service, recovery rate, most common errors."""
    start = parse_since_option(since)
    from vatsim_pipeline.defs.instance import dagster_instance
    from vatsim_pipeline.reports.errors_report import errors_report

    echo_json(errors_report(dagster_instance(), start))


@report.command("events")
@since_option
def events(since: str) -> None:
    """Event counts by type and job, runs by status, processing time, dead letters, timeouts."""
    start = parse_since_option(since)
    from vatsim_pipeline.defs.instance import dagster_instance
    from vatsim_pipeline.reports.events_report import events_report
    from vatsim_pipeline.settings import Settings
    from vatsim_pipeline.storage.engine import engine_for

    engine = engine_for(Settings.from_env().database_url)
    echo_json(events_report(dagster_instance(), engine, start))


@report.command("circuit-breakers")
def circuit_breakers() -> None:
    """The feed and database circuit breakers, as the feed sensor last stored them."""
    from vatsim_pipeline.defs.instance import dagster_instance
    from vatsim_pipeline.reports.breakers_report import circuit_breakers_report

    echo_json(circuit_breakers_report(dagster_instance()))
