"""`vatsim-pipeline serve`: the read-only HTTP API (FastAPI) under uvicorn, on
127.0.0.1 unless `--host` says otherwise, with the routers of
`vatsim_pipeline.api.providers.ROUTER_PROVIDERS` beside the built-in ones and CORS only
for the origins in `VATSIM_API_CORS_ORIGINS`.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import click

from vatsim_pipeline.cli.app import main
from vatsim_pipeline.cli.errors import UserError
from vatsim_pipeline.cli.query import shown_url

if TYPE_CHECKING:
    from fastapi import FastAPI

    from vatsim_pipeline.settings import Settings


def build_app(settings: Settings) -> FastAPI:
    """The API over `settings.database_url`, after checking that the database answers,
    so that a wrong URL fails at start and not on the first request."""
    from sqlalchemy.exc import SQLAlchemyError

    from vatsim_pipeline.api import create_app, provided_routers
    from vatsim_pipeline.api.security import cors_origins
    from vatsim_pipeline.storage.engine import engine_for
    from vatsim_pipeline.storage.reads import QueryService, describe_error

    try:
        service = QueryService(engine_for(settings.database_url))
        service.get_newest_snapshot()
    except SQLAlchemyError as error:
        url = shown_url(settings.database_url)
        raise UserError(f"database {url}: {describe_error(error)}") from None
    return create_app(service, provided_routers(service, settings), cors_origins=cors_origins())


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
    /api/database/service/health and more; all described in /api/openapi.json and
    browsable at /docs. Cross-origin requests only from $VATSIM_API_CORS_ORIGINS.
    """
    import uvicorn

    from vatsim_pipeline.settings import Settings

    app = build_app(Settings.from_env())
    sock = listening_socket(host, port)
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(f"serving http://{shown_host}:{port}/api (documentation: /docs)")
    server = uvicorn.Server(uvicorn.Config(app, log_level="info", lifespan="off"))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
