"""Compact, compressed replies for the page: JSON serialised once with orjson and
gzipped when the browser accepts it (1,500 flights: ~90 KB of JSON, ~25 KB on the
wire), with an ETag so that an unchanged answer costs a 304 and no body."""

from __future__ import annotations

import gzip
import hashlib
from typing import Any

import orjson
from fastapi import Request, Response

GZIP_LEVEL = 6
GZIP_MIN_BYTES = 1024


def _accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def bytes_reply(
    request: Request,
    body: bytes,
    media_type: str,
    *,
    etag: str | None = None,
    cache: str = "no-cache",
    gzipped: bytes | None = None,
) -> Response:
    """`body` as is or gzipped (`gzipped` when the caller kept a compressed copy);
    304 when the browser already holds this ETag."""
    tag = f'"{etag or hashlib.blake2b(body, digest_size=12).hexdigest()}"'
    headers = {"ETag": tag, "Cache-Control": cache, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    if _accepts_gzip(request) and len(body) >= GZIP_MIN_BYTES:
        headers["Content-Encoding"] = "gzip"
        body = gzipped if gzipped is not None else gzip.compress(body, GZIP_LEVEL)
    return Response(body, media_type=media_type, headers=headers)


def json_reply(request: Request, value: Any, *, etag: str | None = None) -> Response:
    """`value` (dataclasses, datetimes included) as compact JSON."""
    return bytes_reply(request, orjson.dumps(value), "application/json", etag=etag)
