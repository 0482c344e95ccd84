"""JSON answers encoded by orjson: the query service's dataclasses and datetimes go out
as they are, several times faster than FastAPI's `jsonable_encoder` and pydantic
validation of the same value (a page of 1,000 flights)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse, Response
from typing_extensions import TypedDict  # pydantic reads it on Python 3.11


class JsonResponse(JSONResponse):
    """`application/json` from any value orjson encodes (dataclasses, datetimes as ISO
    8601, TypedDicts); the API's default response class."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The one error shape of the API: `{"error": "<param or what>: <reason>"}`."""
    return JsonResponse({"error": message}, status_code=status, headers=headers)


class Error(TypedDict):
    """A refused or failed request."""

    error: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "A parameter is unknown, repeated or malformed."},
    404: {"model": Error, "description": "Nothing is recorded under this name."},
    503: {"model": Error, "description": "The database cannot be reached."},
}
"""The error answers of the routes, for their `responses=`; every route may answer 400
(an unknown query parameter), and the app documents that on each."""
