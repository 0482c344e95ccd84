"""`vatsim-pipeline traffic airport`, `movements`, `routes top` and `forecast airport`:
the airport patterns on the command line, from the materialized `airport_traffic`,
`airport_movements` and `route_flights` hours and the stored `airport_forecast`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from vatsim_pipeline.cli.app import main
from vatsim_pipeline.cli.feed_server import OneLineErrors
from vatsim_pipeline.cli.forecast_group import forecast_group
from vatsim_pipeline.cli.query import (
    answer,
    cell,
    echo_json,
    json_option,
    limit_option,
    offset_option,
    page_footer,
    since_option,
    table,
    until_option,
)
from vatsim_pipeline.cli.traffic_group import traffic_group

T = TypeVar("T")


def _airport_answer(query: Callable[..., T]) -> T:
    """Run one airport query; mistakes become one-line errors (see `answer`)."""
    from vatsim_pipeline.storage.reads_airports import AirportQueries, retention_limit

    return answer(lambda service: query(AirportQueries(service.engine, retention_limit())))


@traffic_group.command("airport", cls=OneLineErrors)
@click.argument("icao")
@since_option
@until_option
@click.option("--bucket", default="15m", show_default=True, help="15m or 1h.")
@json_option
def traffic_airport(
    icao: str, since: str | None, until: str | None, bucket: str, as_json: bool
) -> None:
    """Departures and arrivals at ICAO per bucket, from the detected movements."""
    series = _airport_answer(lambda q: q.traffic(icao, since=since, until=until, bucket=bucket))
    if as_json:
        echo_json(series)
        return
    click.echo(f"{series.airport} from {cell(series.since)} to {cell(series.until)}")
    rows = [(b.bucket_start, b.departures, b.arrivals) for b in series.items]
    if rows:
        click.echo(table(("BUCKET", "DEPARTURES", "ARRIVALS"), rows))
    click.echo(
        f"{len(rows)} buckets of {series.bucket}: "
        f"{series.departures} departures, {series.arrivals} arrivals"
    )


@main.command("movements", cls=OneLineErrors)
@click.option("--airport", help="Only movements at this airport (ICAO).")
@click.option("--kind", type=click.Choice(["departure", "arrival"]), help="Only this kind.")
@since_option
@until_option
@limit_option
@offset_option
@json_option
def movements(
    airport: str | None,
    kind: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """Takeoffs (departure) and landings (arrival) detected in a window, newest first."""
    page = _airport_answer(
        lambda q: q.movements(
            airport=airport, since=since, until=until, kind=kind, limit=limit, offset=offset
        )
    )
    if as_json:
        echo_json(page)
        return
    click.echo(f"from {cell(page.since)} to {cell(page.until)}")
    rows = [
        (m.moved_at, m.kind, m.airport, m.callsign, m.flight_id, m.departure, m.arrival)
        for m in page.items
    ]
    if rows:
        click.echo(table(("TIME", "KIND", "AIRPORT", "CALLSIGN", "FLIGHT", "DEP", "ARR"), rows))
    click.echo(page_footer(page, "movements"))


@main.group("routes")
def routes_group() -> None:
    """City pairs flown, from the detected takeoffs and the filed flight plans."""


@routes_group.command("top", cls=OneLineErrors)
@since_option
@until_option
@click.option("--limit", default=10, show_default=True, help="City pairs to show (1 to 1000).")
@json_option
def routes_top(since: str | None, until: str | None, limit: int, as_json: bool) -> None:
    """The most flown city pairs of a window (flights counted in the hour they took off)."""
    top = _airport_answer(lambda q: q.routes(since=since, until=until, limit=limit))
    if as_json:
        echo_json(top)
        return
    click.echo(f"from {cell(top.since)} to {cell(top.until)}")
    rows = [(rank, r.departure, r.arrival, r.flights) for rank, r in enumerate(top.items, 1)]
    if rows:
        click.echo(table(("RANK", "DEP", "ARR", "FLIGHTS"), rows))
    click.echo(f"{len(rows)} city pairs")


@forecast_group.command("airport", cls=OneLineErrors)
@click.argument("icao")
@json_option
def forecast_airport(icao: str, as_json: bool) -> None:
    """The newest forecast of departures and arrivals at ICAO, per 15 minutes for two
    hours, with a low/high band."""
    forecast = _airport_answer(lambda q: q.forecast(icao))
    if as_json:
        echo_json(forecast)
        return
    click.echo(f"{forecast.airport} departures and arrivals, issued {cell(forecast.issued_at)}")
    if not forecast.departures:
        click.echo("no forecast yet: materialize `airport_forecast`")
        return
    rows = [
        (d.bucket_start, d.expected, d.low, d.high, a.expected, a.low, a.high)
        for d, a in zip(forecast.departures, forecast.arrivals, strict=True)
    ]
    click.echo(table(("BUCKET", "DEP", "DEP-LOW", "DEP-HIGH", "ARR", "ARR-LOW", "ARR-HIGH"), rows))
