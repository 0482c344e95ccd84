"""`vatsim-pipeline serve`: the read-only HTTP API under uvicorn.

More routes join the served API through `ROUTE_PROVIDERS`: each entry names a function
`"package.module:function"` called as `function(service, settings)` that returns a
sequence of `vatsim_pipeline.api.ApiRoute`; they are served and documented in
`/api/openapi.json` with the built-in routes.
"""

from __future__ import annotations

import importlib
import socket
from typing import TYPE_CHECKING

import click

from vatsim_pipeline.cli.app import main
from vatsim_pipeline.cli.errors import UserError
from vatsim_pipeline.cli.query import shown_url

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from vatsim_pipeline.settings import Settings

ROUTE_PROVIDERS: tuple[str, ...] = ("vatsim_pipeline.api.analytics_routes:analytics_routes",)


def _provided_routes(service, settings: Settings) -> list:
    routes = []
    for name in ROUTE_PROVIDERS:
        module, _, function = name.partition(":")
        routes += getattr(importlib.import_module(module), function)(service, settings)
    return routes


def build_app(settings: Settings) -> Starlette:
    """The API over `settings.database_url`, after checking that the database answers,
    so that a wrong URL fails at start and not on the first request."""
    from sqlalchemy.exc import SQLAlchemyError

    from vatsim_pipeline.api import create_app
    from vatsim_pipeline.storage.engine import engine_for
    from vatsim_pipeline.storage.reads import QueryService, describe_error

    try:
        service = QueryService(engine_for(settings.database_url))
        service.get_newest_snapshot()
    except SQLAlchemyError as error:
        url = shown_url(settings.database_url)
        raise UserError(f"database {url}: {describe_error(error)}") from None
    return create_app(service, extra_routes=_provided_routes(service, settings))


def listening_socket(host: str, port: int) -> socket.socket:
    """The bound server socket, so that a port in use is one clear error line."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        raise UserError(f"--host {host}: {error.strerror}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        raise UserError(f"{host}:{port}: {error.strerror or error}") from None
    return sock


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port."
)
def serve(host: str, port: int) -> None:
    """Serve the read-only HTTP API over $VATSIM_DATABASE_URL.

    Routes: /api/flights, /api/flights/CALLSIGN/track, /api/flights/CALLSIGN/stats,
    /api/controllers, /api/sectors, /api/status, /api/database/service/stats,
    /api/database/service/health; all described in /api/openapi.json.
    """
    import uvicorn

    from vatsim_pipeline.settings import Settings

    app = build_app(Settings.from_env())
    sock = listening_socket(host, port)
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(f"serving http://{shown_host}:{port}/api (routes in /api/openapi.json)")
    server = uvicorn.Server(uvicorn.Config(app, log_level="info", lifespan="off"))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
