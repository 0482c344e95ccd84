"""The OpenAPI 3.1 document of the HTTP API, generated from its route table.

Response schemas come from the type hints of the result types (dataclasses, TypedDicts,
`Page[...]`), so a field added to a result appears in the document by itself.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar, get_args, get_origin, get_type_hints, is_typeddict

from vatsim_pipeline.api.routes import ApiParameter, ApiRoute

TITLE = "vatsim-pipeline"
DESCRIPTION = (
    "Read-only access to the recorded VATSIM network: active flights and controllers, "
    "flight tracks and statistics, sectors and who staffs them, and the health of the "
    "recording. Times are ISO 8601 in UTC. 'Active' is relative to the newest stored "
    "feed update, not to the wall clock."
)
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string", "description": "<parameter>: <reason>"}},
    "required": ["error"],
}
PRIMITIVES: dict[Any, dict[str, Any]] = {
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    datetime: {"type": "string", "format": "date-time"},
    date: {"type": "string", "format": "date"},
    dict: {"type": "object"},
    typing.Any: {},
}


def _package_version() -> str:
    try:
        return version("vatsim-pipeline")
    except PackageNotFoundError:
        return "0+unknown"


class SchemaBuilder:
    """JSON Schemas of Python types; named types become shared components."""

    def __init__(self) -> None:
        self.components: dict[str, dict[str, Any]] = {"Error": ERROR_SCHEMA}

    def schema(self, tp: Any, bound: Mapping[Any, Any] | None = None) -> dict[str, Any]:
        """The schema of `tp`, with the type variables in `bound` replaced."""
        if isinstance(tp, TypeVar):
            return self.schema(bound[tp]) if bound and tp in bound else {}
        if tp is type(None):
            return {"type": "null"}
        if tp in PRIMITIVES:
            return dict(PRIMITIVES[tp])
        origin, args = get_origin(tp), get_args(tp)
        if origin in (typing.Union, types.UnionType):
            return self._union([self.schema(arg, bound) for arg in args])
        if origin is typing.Literal:
            return {"enum": list(args)}
        if origin in (list, tuple, Sequence) or tp in (list, tuple):
            return {"type": "array", "items": self.schema(args[0], bound) if args else {}}
        if origin is dict:
            return {"type": "object"}
        named = origin if origin is not None else tp
        if dataclasses.is_dataclass(named) or is_typeddict(named):
            return self._component(named, args)
        raise TypeError(f"no JSON Schema for {tp!r}")

    def _union(self, options: list[dict[str, Any]]) -> dict[str, Any]:
        nullable = {"type": "null"} in options
        others = [o for o in options if o != {"type": "null"}]
        if nullable and len(others) == 1 and isinstance(others[0].get("type"), str):
            return {**others[0], "type": [others[0]["type"], "null"]}
        return {"anyOf": options}

    def _component(self, named: type, args: tuple) -> dict[str, Any]:
        name = "".join(arg.__name__ for arg in args) + named.__name__
        if name not in self.components:
            self.components[name] = {}  # reserved first: types may refer to themselves
            bound = dict(zip(getattr(named, "__parameters__", ()), args, strict=False))
            hints = get_type_hints(named)
            self.components[name] = {
                "type": "object",
                "description": _first_line(named.__doc__),
                "properties": {field: self.schema(tp, bound) for field, tp in hints.items()},
                "required": list(hints),
            }
        return {"$ref": f"#/components/schemas/{name}"}


def _first_line(text: str | None) -> str:
    return " ".join((text or "").strip().split("\n\n")[0].split())


def _parameter(parameter: ApiParameter) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": parameter.type}
    for key in ("default", "minimum", "maximum"):
        if getattr(parameter, key) is not None:
            schema[key] = getattr(parameter, key)
    if parameter.enum is not None:
        schema["enum"] = list(parameter.enum)
    document = {
        "name": parameter.name,
        "in": parameter.location,
        "required": parameter.required or parameter.location == "path",
        "description": parameter.description,
        "schema": schema,
    }
    if parameter.example is not None:
        document["example"] = parameter.example
    return document


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _operation(route: ApiRoute, builder: SchemaBuilder) -> dict[str, Any]:
    if isinstance(route.response, dict):
        schema = route.response
    else:
        schema = builder.schema(route.response) if route.response is not None else {}
    responses: dict[str, Any] = {
        "200": {"description": route.summary, "content": {"application/json": {"schema": schema}}}
    }
    if route.parameters:
        responses["400"] = _error("A parameter is missing, malformed or out of range.")
    if route.path_parameters:
        responses["404"] = _error("Nothing is recorded under this name.")
    if route.uses_database:
        responses["503"] = _error("The database cannot be reached.")
    operation_id = "get_" + "_".join(
        part.strip("{}").replace(".", "_") for part in route.path.strip("/").split("/")
    )
    return {
        "operationId": operation_id,
        "summary": route.summary,
        "description": route.description or route.summary,
        "tags": [route.tag],
        "parameters": [_parameter(p) for p in route.parameters],
        "responses": responses,
    }


def openapi_document(routes: Sequence[ApiRoute]) -> dict[str, Any]:
    """The OpenAPI 3.1 description of exactly these routes, all GET."""
    builder = SchemaBuilder()
    paths = {route.path: {"get": _operation(route, builder)} for route in routes}
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": _package_version(), "description": DESCRIPTION},
        "paths": paths,
        "components": {"schemas": builder.components},
    }
