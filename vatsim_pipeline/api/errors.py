"""Every mistake and failure of the API as `{"error": "<param or what>: <reason>"}`.

FastAPI answers a parameter that fails its declaration with 422 and pydantic's words;
here it is 400 with the project's, worded from the same OpenAPI schema the client sees
(`limit: must be between 1 and 1000, got 0`). Unknown or repeated query parameters are
refused too, so that a typo never silently widens an answer. An unreachable database is
503, and so is an archived day whose Parquet file is missing or damaged; any other
database error is a fault of the server (500), not an outage.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.responses import Response

from vatsim_pipeline.api.parameters import MISMATCH
from vatsim_pipeline.api.responses import error_response
from vatsim_pipeline.archive.reader import ArchiveUnavailable
from vatsim_pipeline.storage.reads import InvalidQuery, NotFound, describe_error

log = logging.getLogger(__name__)

OUTAGES = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
"""Database errors that mean "cannot reach or use the database", answered 503."""


def _operation(request: Request) -> Mapping[str, Any] | None:
    """The OpenAPI operation of the route that was asked; None for undocumented ones."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return None
    return request.app.openapi()["paths"].get(route.path_format, {}).get("get")


def refuse_unknown_parameters(request: Request) -> None:
    """A dependency of every route: each query parameter is documented and given once
    (routes left out of the document, such as `/docs`, take anything)."""
    operation = _operation(request)
    if operation is None:
        return
    declared = {p["name"] for p in operation.get("parameters", ()) if p["in"] == "query"}
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name not in declared:
            raise InvalidQuery(name, "unknown parameter")
        if name in seen:
            raise InvalidQuery(name, "given more than once")
        seen.add(name)


def _parameter_schema(request: Request, where: str, name: str) -> Mapping[str, Any]:
    """The OpenAPI schema of one parameter of the route that was asked."""
    for parameter in (_operation(request) or {}).get("parameters", ()):
        if parameter["name"] == name and parameter["in"] == where:
            return parameter["schema"]
    return {}


def _range(schema: Mapping[str, Any], value: Any) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"must be between {low} and {high}, got {value}"
    if low is not None:
        return f"must be {low} or more, got {value}"
    return f"must be {high} or less, got {value}"


def validation_reason(error: Mapping[str, Any], schema: Mapping[str, Any]) -> str:
    """One pydantic error of a parameter in the project's words."""
    kind, value = error["type"], error.get("input")
    if kind == "missing":
        return "is required"
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"not an integer: {value!r}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return _range(schema, value)
    if kind in ("bool_parsing", "bool_type"):
        return f"not true or false: {value!r}"
    if kind in ("literal_error", "enum"):
        return f"must be one of {', '.join(map(str, schema.get('enum', ())))}, got {value!r}"
    if kind in ("string_pattern_mismatch", "string_too_short", "string_too_long"):
        if isinstance(value, str) and not value.strip():
            return "is empty"
        if MISMATCH in schema:
            return f"{value!r} {schema[MISMATCH]}"
        return f"{value!r} does not match {schema.get('pattern', error['msg'])}"
    if kind == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    return f"{error['msg']}, got {value!r}"


async def _invalid_parameters(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0]
    where, name = first["loc"][0], str(first["loc"][-1])
    schema = _parameter_schema(request, where, name)
    return error_response(400, f"{name}: {validation_reason(first, schema)}")


async def _invalid_query(request: Request, error: Exception) -> Response:
    return error_response(400, str(error))


async def _not_found(request: Request, error: Exception) -> Response:
    return error_response(404, str(error))


async def _database_unavailable(request: Request, error: Exception) -> Response:
    log.warning("%s: database unavailable: %s", request.url.path, describe_error(error))
    return error_response(503, f"database unavailable: {describe_error(error)}")


async def _archive_unavailable(request: Request, error: Exception) -> Response:
    log.warning("%s: %s", request.url.path, error)
    return error_response(503, f"archive: {error}")


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    headers = dict(error.headers or {})
    routing = error.detail == HTTPStatus(error.status_code).phrase  # raised by the router
    if routing and error.status_code == 404:
        return error_response(404, f"{request.url.path}: no such route", headers)
    if routing and error.status_code == 405:
        return error_response(405, f"{request.method} {request.url.path}: only GET", headers)
    return error_response(error.status_code, str(error.detail), headers)


async def _server_error(request: Request, error: Exception) -> Response:
    log.error("%s failed", request.url.path, exc_info=error)
    return error_response(500, f"internal error: {type(error).__name__}")


def install_error_handlers(app: FastAPI) -> None:
    """Answer every failure of `app` in the one error shape."""
    app.add_exception_handler(RequestValidationError, _invalid_parameters)
    app.add_exception_handler(InvalidQuery, _invalid_query)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(ArchiveUnavailable, _archive_unavailable)
    for outage in OUTAGES:
        app.add_exception_handler(outage, _database_unavailable)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _server_error)
