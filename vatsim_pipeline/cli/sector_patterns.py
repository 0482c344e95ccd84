"""`vatsim-pipeline traffic sector`, `controllers coverage`, `forecast sector` and
`forecast backtest`: the sector patterns and forecasts on the command line."""

from __future__ import annotations

from datetime import timedelta

import click

from vatsim_pipeline.cli.errors import UserError
from vatsim_pipeline.cli.forecast_group import forecast_group
from vatsim_pipeline.cli.query import (
    answer,
    cell,
    controllers_group,
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


@traffic_group.command("sector")
@click.argument("sector")
@since_option
@until_option
@click.option("--bucket", default="15m", show_default=True, help="15m or 1h.")
@json_option
def traffic_sector(
    sector: str, since: str | None, until: str | None, bucket: str, as_json: bool
) -> None:
    """Flights entering SECTOR and the peak and mean flights inside, per bucket (its
    TRACONs and sub-sectors included), from the materialized `sector_load` hours."""
    series = answer(
        lambda service: service.get_sector_traffic(sector, since=since, until=until, bucket=bucket)
    )
    if as_json:
        echo_json(series)
        return
    click.echo(f"{series.sector_id} from {cell(series.since)} to {cell(series.until)}")
    rows = [(b.bucket_start, b.entries, b.peak, b.mean) for b in series.items]
    if rows:
        click.echo(table(("BUCKET", "ENTRIES", "PEAK", "MEAN"), rows))
    click.echo(f"{len(rows)} buckets of {series.bucket}")


@controllers_group.command("coverage")
@click.option("--sector", help="One sector id only.")
@since_option
@until_option
@limit_option
@offset_option
@json_option
def controllers_coverage(
    sector: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """ATC coverage per sector over the materialized hours of a window: minutes staffed
    (by the sector or one above it), flight minutes, and the share under ATC."""
    report = answer(
        lambda service: service.get_coverage(
            since=since, until=until, sector=sector, limit=limit, offset=offset
        )
    )
    if as_json:
        echo_json(report)
        return
    click.echo(f"from {cell(report.since)} to {cell(report.until)}")
    rows = [
        (
            c.sector_id,
            c.hours,
            c.staffed_minutes,
            c.flight_minutes,
            c.covered_flight_minutes,
            c.coverage_share,
        )
        for c in report.items
    ]
    if rows:
        headers = ("SECTOR", "HOURS", "STAFFED MIN", "FLIGHT MIN", "UNDER ATC MIN", "SHARE")
        click.echo(table(headers, rows))
    click.echo(page_footer(report, "sectors"))


@forecast_group.command("sector")
@click.argument("sector")
@json_option
def forecast_sector(sector: str, as_json: bool) -> None:
    """The newest forecast of flights entering SECTOR, per 15 minutes for two hours."""
    forecast = answer(lambda service: service.get_sector_forecast(sector))
    if as_json:
        echo_json(forecast)
        return
    click.echo(f"{forecast.sector_id} entries, issued {cell(forecast.issued_at)}")
    rows = [(b.bucket_start, b.expected, b.low, b.high) for b in forecast.items]
    if rows:
        click.echo(table(("BUCKET", "EXPECTED", "LOW", "HIGH"), rows))
    else:
        click.echo("no flights expected (or no forecast yet: materialize `sector_forecast`)")


def _duration(param: str, text: str) -> timedelta:
    import re

    from vatsim_pipeline.storage.reads_window import DURATION, UNIT_SECONDS

    text = text.strip()
    if not re.fullmatch(DURATION, text) or float(text[:-1]) <= 0:
        raise UserError(f"--{param}: {text!r} is not a duration such as 5m or 17m")
    return timedelta(seconds=float(text[:-1]) * UNIT_SECONDS[text[-1]])


@forecast_group.command("backtest")
@since_option
@until_option
@click.option(
    "--max-gap",
    default="5m",
    show_default=True,
    help="Buckets with a longer gap between snapshots are not scored.",
)
def forecast_backtest(since: str | None, until: str | None, max_gap: str) -> None:
    """Forecast at every quarter hour of the stored history and compare with what
    happened; prints, last, `forecast-backtest mae X persistence-mae Y ratio X/Y`."""
    result = _run_backtest(since, until, _duration("max-gap", max_gap))
    click.echo(f"{result.anchors} anchors, {result.scored} buckets scored")
    click.echo(result.line())


def _run_backtest(since: str | None, until: str | None, max_gap: timedelta):
    """The backtest over the stored window, with a progress bar on stderr; every failure
    the user can act on becomes a `UserError`."""
    from sqlalchemy.exc import SQLAlchemyError
    from tqdm import tqdm

    from vatsim_pipeline.analytics.forecast_backtest import FORECASTERS, backtest
    from vatsim_pipeline.cli.query import shown_url
    from vatsim_pipeline.settings import Settings
    from vatsim_pipeline.storage.airport_storage import airports_frame
    from vatsim_pipeline.storage.engine import engine_for
    from vatsim_pipeline.storage.reads import InvalidQuery, describe_error
    from vatsim_pipeline.storage.reads_base import newest_update
    from vatsim_pipeline.storage.reads_forecast import snapshot_times
    from vatsim_pipeline.storage.reads_history import resolve_window
    from vatsim_pipeline.storage.reads_patterns import check_window
    from vatsim_pipeline.storage.sector_patterns import max_stay

    url = Settings.from_env().database_url
    try:
        engine = engine_for(url)
        with engine.connect() as connection:
            newest = newest_update(connection)
            if newest is None:
                raise UserError("forecast backtest: no feed update stored yet")
            start, end = resolve_window(since, until, newest)
            check_window(start, end, None)
            times = snapshot_times(connection, start, end)
            airports = airports_frame(connection)
        if len(times) < 2:
            raise UserError(f"forecast backtest: {len(times)} snapshot(s) stored in the window")
        forecasters = [make(engine, airports, max_stay()) for make in FORECASTERS]
        bars: list = []

        def progress(done: int, total: int) -> None:
            if not bars:
                bars.append(tqdm(total=total, unit="anchor", file=click.get_text_stream("stderr")))
            bars[0].update(done - bars[0].n)

        try:
            return backtest(forecasters, times, max_gap=max_gap, progress=progress)
        finally:
            for bar in bars:
                bar.close()
    except InvalidQuery as error:
        raise UserError(f"--{error.param}: {error.reason}") from None
    except ValueError as error:
        raise UserError(f"forecast backtest: {error}") from None
    except SQLAlchemyError as error:
        raise UserError(f"database {shown_url(url)}: {describe_error(error)}") from None
