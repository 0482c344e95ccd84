"""`vatsim-pipeline flights|controllers|sectors list|sectors occupancy`: the query service on
the command line.

Aligned tables for people, `--json` for programs (the same JSON as the HTTP API). The
database is `$VATSIM_DATABASE_URL`; an unreachable database, a bad option value or an
unknown flight ends in one `error: ...` line and exit status 2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click
import orjson

from vatsim_pipeline.cli.app import main
from vatsim_pipeline.cli.errors import UserError
from vatsim_pipeline.cli.sectors_group import sectors_group

if TYPE_CHECKING:
    from vatsim_pipeline.storage.reads import FlightIdentity, Page, QueryService, WindowPage

T = TypeVar("T")

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
limit_option = click.option(
    "--limit", default=100, show_default=True, help="Rows to show (1 to 1000)."
)
offset_option = click.option("--offset", default=0, show_default=True, help="Rows to skip.")
since_option = click.option(
    "--since",
    help="Window start: ISO time (UTC unless zoned) or a duration before the newest update "
    "(90m, 24h, 7d). Default: 24 hours before --until.",
)
until_option = click.option(
    "--until", help="Window end, the same forms. Default: the newest recorded update."
)


def shown_url(url: str) -> str:
    """The database URL without its password, fit to print."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "$VATSIM_DATABASE_URL"


def answer(query: Callable[[QueryService], T]) -> T:
    """Run one query against `$VATSIM_DATABASE_URL`; every failure the user can act on
    becomes a `UserError`."""
    from sqlalchemy.exc import SQLAlchemyError

    from vatsim_pipeline.archive.reader import ArchiveUnavailable
    from vatsim_pipeline.settings import Settings
    from vatsim_pipeline.storage.engine import engine_for
    from vatsim_pipeline.storage.reads import (
        InvalidQuery,
        NotFound,
        QueryService,
        describe_error,
    )

    url = Settings.from_env().database_url
    try:
        return query(QueryService(engine_for(url)))
    except InvalidQuery as error:
        raise UserError(f"--{error.param}: {error.reason}") from None
    except NotFound as error:
        raise UserError(str(error)) from None
    except ArchiveUnavailable as error:
        raise UserError(f"archive: {error}") from None
    except SQLAlchemyError as error:
        raise UserError(f"database {shown_url(url)}: {describe_error(error)}") from None


def echo_json(value: Any) -> None:
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.5f}".rstrip("0").rstrip(".")
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) or "-"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned."""
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    numeric = [
        bool(rows) and all(isinstance(r[i], int | float) or r[i] is None for r in rows)
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        padded = (
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        )
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), *(line(r) for r in cells)])


def page_footer(page: Page | WindowPage, noun: str) -> str:
    """Which rows of how many were shown, so that a cut-off list never looks complete."""
    if not page.items:
        return f"no {noun} here (total {page.total})"
    last = page.offset + len(page.items)
    return f"showing {page.offset + 1}-{last} of {page.total} {noun}"


def flight_line(flight: FlightIdentity) -> str:
    """One line naming the connection: a callsign alone is not an identity."""
    parts = [
        f"{flight.callsign} (flight {flight.id}, cid {flight.cid})",
        f"{flight.departure or '?'} -> {flight.arrival or '?'}",
        *([flight.aircraft_short] if flight.aircraft_short else []),
        f"logon {cell(flight.logon_time)}",
        flight.status,
    ]
    return " ".join(parts)


def window_answer(query: Callable[[QueryService], WindowPage[T]]) -> WindowPage[T]:
    """A window query's page; a window that ends before it starts is refused here, where
    a person typed it (the HTTP API answers it as empty)."""
    page = answer(query)
    if page.since > page.until:
        raise UserError(
            f"--since: must not be after --until "
            f"({page.since.isoformat()} > {page.until.isoformat()})"
        )
    return page


def flight_argument(text: str) -> int | str:
    from vatsim_pipeline.storage.reads import flight_ref

    return flight_ref(text)


# --- flights -------------------------------------------------------------------------


@main.group("flights")
def flights_group() -> None:
    """Recorded flights: who is flying now, a flight's track and its statistics."""


@flights_group.command("active")
@click.option("--departure", help="Planned departure airport (ICAO).")
@click.option("--arrival", help="Planned arrival airport (ICAO).")
@click.option(
    "--sector", help="Sector id: flights whose latest position lies inside it (unknown: error)."
)
@click.option("--bbox", help="min_lat,min_lon,max_lat,max_lon: flights inside this box.")
@limit_option
@offset_option
@json_option
def flights_active(
    departure: str | None,
    arrival: str | None,
    sector: str | None,
    bbox: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """Flights active at the newest recorded feed update, by callsign."""
    from vatsim_pipeline.storage.reads import parse_bbox

    page = answer(
        lambda service: service.get_active_flights(
            departure=departure,
            arrival=arrival,
            bbox=parse_bbox(bbox) if bbox is not None else None,
            sector=sector,
            limit=limit,
            offset=offset,
        )
    )
    if as_json:
        echo_json(page)
        return
    headers = ("CALLSIGN", "CID", "DEP", "ARR", "TYPE", "ALT", "GS", "LAT", "LON", "LAST SEEN")
    rows = [
        (
            f.callsign,
            f.cid,
            f.departure,
            f.arrival,
            f.aircraft_short,
            f.altitude,
            f.groundspeed,
            f.lat,
            f.lon,
            f.last_seen,
        )
        for f in page.items
    ]
    if rows:
        click.echo(table(headers, rows))
    click.echo(page_footer(page, "active flights"))


@flights_group.command("history")
@click.option("--departure", help="Planned departure airport (ICAO).")
@click.option("--arrival", help="Planned arrival airport (ICAO).")
@since_option
@until_option
@limit_option
@offset_option
@json_option
def flights_history(
    departure: str | None,
    arrival: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """Flights seen at some time in a window, newest first."""
    page = window_answer(
        lambda service: service.get_flight_history(
            departure=departure,
            arrival=arrival,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
    )
    if as_json:
        echo_json(page)
        return
    click.echo(f"from {cell(page.since)} to {cell(page.until)}")
    headers = ("ID", "CALLSIGN", "CID", "DEP", "ARR", "TYPE", "FIRST SEEN", "LAST SEEN", "STATUS")
    rows = [
        (
            f.id,
            f.callsign,
            f.cid,
            f.departure,
            f.arrival,
            f.aircraft_short,
            f.first_seen,
            f.last_seen,
            f.status,
        )
        for f in page.items
    ]
    if rows:
        click.echo(table(headers, rows))
    click.echo(page_footer(page, "flights"))


@flights_group.command("track")
@click.argument("flight")
@json_option
def flights_track(flight: str, as_json: bool) -> None:
    """The positions of FLIGHT (a callsign, for its latest connection, or a flight id)."""
    track = answer(lambda service: service.get_flight_track(flight_argument(flight)))
    if as_json:
        echo_json(track)
        return
    click.echo(flight_line(track.flight))
    rows = [
        (p.observed_at, p.lat, p.lon, p.altitude, p.groundspeed, p.heading) for p in track.positions
    ]
    click.echo(table(("OBSERVED", "LAT", "LON", "ALT", "GS", "HDG"), rows))
    click.echo(f"{len(track.positions)} positions")


@flights_group.command("stats")
@click.argument("flight")
@json_option
def flights_stats(flight: str, as_json: bool) -> None:
    """Duration, distance and speed figures of FLIGHT (a callsign or a flight id)."""
    stats = answer(lambda service: service.get_flight_stats(flight_argument(flight)))
    if as_json:
        echo_json(stats)
        return
    minutes, seconds = divmod(round(stats.duration_s), 60)
    figures = [
        ("flight", flight_line(stats.flight)),
        ("first seen", cell(stats.first_seen)),
        ("last seen", cell(stats.last_seen)),
        ("duration", f"{minutes // 60}h {minutes % 60:02d}m {seconds:02d}s"),
        ("distance", f"{stats.distance_nm:.1f} nm"),
        ("max altitude", f"{cell(stats.max_altitude)} ft"),
        ("max groundspeed", f"{cell(stats.max_groundspeed)} kt"),
        ("avg groundspeed", f"{cell(stats.avg_groundspeed)} kt"),
        ("positions", str(stats.position_count)),
    ]
    width = max(len(name) for name, _ in figures)
    click.echo("\n".join(f"{name.ljust(width)}  {value}" for name, value in figures))


# --- controllers and sectors ---------------------------------------------------------


@main.group("controllers")
def controllers_group() -> None:
    """Recorded controller and ATIS connections."""


@controllers_group.command("active")
@limit_option
@offset_option
@json_option
def controllers_active(limit: int, offset: int, as_json: bool) -> None:
    """Controllers and ATIS stations active at the newest recorded feed update."""
    page = answer(lambda service: service.get_active_controllers(limit=limit, offset=offset))
    if as_json:
        echo_json(page)
        return
    headers = ("CALLSIGN", "KIND", "FREQ", "FACILITY", "RATING", "LAT", "LON", "LOGON")
    rows = [
        (c.callsign, c.kind, c.frequency, c.facility, c.rating, c.lat, c.lon, c.logon_time)
        for c in page.items
    ]
    if rows:
        click.echo(table(headers, rows))
    click.echo(page_footer(page, "active controllers"))


@sectors_group.command("list")
@click.option("--kind", help="Only sectors of this kind: fir, uir, tracon or custom.")
@limit_option
@offset_option
@json_option
def sectors_list(kind: str | None, limit: int, offset: int, as_json: bool) -> None:
    """Stored sectors by id, with the active controllers staffing each."""
    page = answer(lambda service: service.get_sectors(kind=kind, limit=limit, offset=offset))
    if as_json:
        echo_json(page)
        return
    headers = ("ID", "KIND", "NAME", "PREFIX", "STAFFED BY")
    rows = [(s.id, s.kind, s.name, s.callsign_prefix, s.staffed_by) for s in page.items]
    if rows:
        click.echo(table(headers, rows))
    click.echo(page_footer(page, "sectors"))


@sectors_group.command("occupancy")
@click.argument("sector")
@since_option
@until_option
@limit_option
@offset_option
@json_option
def sectors_occupancy(
    sector: str, since: str | None, until: str | None, limit: int, offset: int, as_json: bool
) -> None:
    """The flights' visits of SECTOR (a sector id) in a window, newest entry first."""
    page = window_answer(
        lambda service: service.get_sector_occupancy(
            sector, since=since, until=until, limit=limit, offset=offset
        )
    )
    if as_json:
        echo_json(page)
        return
    click.echo(f"{sector.strip()} from {cell(page.since)} to {cell(page.until)}")
    headers = ("CALLSIGN", "FLIGHT", "DEP", "ARR", "ENTERED", "EXITED", "ENTRY ALT", "EXIT ALT")
    rows = [
        (
            v.callsign,
            v.flight_id,
            v.departure,
            v.arrival,
            v.entered_at,
            v.exited_at,
            v.entry_altitude,
            v.exit_altitude,
        )
        for v in page.items
    ]
    if rows:
        click.echo(table(headers, rows))
    click.echo(page_footer(page, "sector visits"))
