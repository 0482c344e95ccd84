"""The API's safe defaults: read-only (GET and HEAD only, whatever a router declares),
and no CORS unless origins are listed.

Binding to 127.0.0.1 unless told otherwise is `vatsim-pipeline serve`'s default; page
sizes are bounded by the parameters (`limit` at most `MAX_LIMIT`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vatsim_pipeline.api.responses import error_response

CORS_ORIGINS_VARIABLE = "VATSIM_API_CORS_ORIGINS"
READ_METHODS = frozenset({"GET", "HEAD"})


def cors_origins(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The origins listed (comma-separated) in `VATSIM_API_CORS_ORIGINS`; none by default."""
    text = (os.environ if env is None else env).get(CORS_ORIGINS_VARIABLE, "")
    return tuple(origin.strip() for origin in text.split(",") if origin.strip())


class ReadOnly:
    """Only GET and HEAD reach the routes, whatever a router declares: any other method
    is 405 here. HEAD runs the GET route and sends its status and headers only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "GET":
            await self.app(scope, receive, send)
            return
        if scope["method"] != "HEAD":
            message = f"{scope['method']} {scope['path']}: only GET"
            response = error_response(405, message, {"Allow": "GET, HEAD"})
            await response(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def add_security_middleware(app: FastAPI, origins: Sequence[str]) -> None:
    """Read-only, and CORS for GET from exactly `origins` when there are any."""
    app.add_middleware(ReadOnly)
    if origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=list(origins), allow_methods=["GET"], max_age=600
        )
