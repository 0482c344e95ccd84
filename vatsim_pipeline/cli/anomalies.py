"""`vatsim-pipeline anomalies list`: the anomalies of a window, as a table or JSON (the
same JSON as `GET /api/anomalies`)."""

from __future__ import annotations

import click

from vatsim_pipeline.cli.app import main
from vatsim_pipeline.cli.errors import UserError
from vatsim_pipeline.cli.query import (
    echo_json,
    json_option,
    limit_option,
    offset_option,
    shown_url,
    since_option,
    table,
    until_option,
)

HEADERS = ("id", "kind", "callsign", "cid", "started_at", "ended_at", "trigger")


def _trigger(values: dict) -> str:
    """The few values that say most, per kind, for a table cell."""
    keys = (
        "transponder",
        "distance_nm",
        "implied_speed_kt",
        "vertical_rate_fpm",
        "held_s",
        "groundspeed",
        "held_by_cid",
        "age_s",
    )
    return " ".join(f"{key}={values[key]}" for key in keys if key in values)


@main.group("anomalies")
def anomalies_group() -> None:
    """Emergencies, teleports, frozen connections, duplicate callsigns, altitude jumps, stale
    feed: intervals stored by the ingest runs."""


@anomalies_group.command("list")
@json_option
@click.option("--kind", "kinds", multiple=True, help="Only this kind (repeatable).")
@click.option("--active", is_flag=True, help="Only those still seen in the newest snapshot.")
@since_option
@until_option
@limit_option
@offset_option
def list_command(
    as_json: bool,
    kinds: tuple[str, ...],
    active: bool,
    since: str | None,
    until: str | None,
    limit: int,
    offset: int,
) -> None:
    """Anomalies overlapping the window, newest first."""
    from sqlalchemy.exc import SQLAlchemyError

    from vatsim_pipeline.settings import Settings
    from vatsim_pipeline.storage.anomaly_reads import anomaly_page
    from vatsim_pipeline.storage.engine import engine_for
    from vatsim_pipeline.storage.reads import InvalidQuery, describe_error

    url = Settings.from_env().database_url
    try:
        with engine_for(url).connect() as connection:
            page = anomaly_page(
                connection,
                since=since,
                until=until,
                kinds=kinds,
                active=True if active else None,
                limit=limit,
                offset=offset,
            )
    except InvalidQuery as error:
        raise UserError(f"--{error.param}: {error.reason}") from None
    except SQLAlchemyError as error:
        raise UserError(f"database {shown_url(url)}: {describe_error(error)}") from None
    if as_json:
        echo_json(page)
        return
    rows = [
        (
            item["id"],
            item["kind"],
            item["callsign"],
            item["cid"],
            item["started_at"],
            item["ended_at"] or "active",
            _trigger(item["trigger"]),
        )
        for item in page["items"]
    ]
    click.echo(table(HEADERS, rows))
    shown = f"{offset + 1}-{offset + len(rows)}" if rows else "none"
    click.echo(
        f"showing {shown} of {page['total']} anomalies from {page['since']} to {page['until']}"
    )
