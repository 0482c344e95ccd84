"""The OpenAPI document FastAPI builds, told in the project's terms: errors are 400
`{"error": ...}` (never FastAPI's 422), an absent query parameter takes its default
(never `null`), and pages are named `ActiveFlightPage` rather than pydantic's
`Page_ActiveFlight_`; tuples are arrays of their members (see `_without_tuples`)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from vatsim_pipeline.api.responses import ERROR_RESPONSES

TITLE = "vatsim-pipeline"
DESCRIPTION = (
    "Read-only access to the recorded VATSIM network: active flights and controllers, "
    "flight tracks and statistics, sectors and who staffs them, and the health of the "
    "recording. Times are ISO 8601 in UTC. 'Active' is relative to the newest stored "
    "feed update, not to the wall clock. Every mistake answers 400 with "
    '`{"error": "<parameter>: <reason>"}`.'
)
GENERIC_NAME = re.compile(r"^([A-Za-z]+)_([A-Za-z]+)_$")
FASTAPI_ONLY = ("HTTPValidationError", "ValidationError")


def _renamed(document: Any, names: dict[str, str]) -> Any:
    """`document` with every `$ref` to a renamed component pointing at its new name."""
    if isinstance(document, dict):
        return {
            key: (
                _rename_ref(value, names)
                if key == "$ref" and isinstance(value, str)
                else _renamed(value, names)
            )
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [_renamed(value, names) for value in document]
    return document


def _rename_ref(ref: str, names: dict[str, str]) -> str:
    prefix, _, name = ref.rpartition("/")
    return f"{prefix}/{names.get(name, name)}"


def _without_tuples(document: Any) -> Any:
    """`document` with each tuple schema (`prefixItems`, from a `tuple[...]` answer) made
    an array of any of its members, its length kept: schemathesis 4.32 reads
    `prefixItems` as the old array form of `items` and then refuses the document."""
    if isinstance(document, list):
        return [_without_tuples(value) for value in document]
    if not isinstance(document, dict):
        return document
    result = {key: _without_tuples(value) for key, value in document.items()}
    members = result.pop("prefixItems", None)
    if members is not None and "items" not in result:
        options = [m for i, m in enumerate(members) if m not in members[:i]]
        result["items"] = options[0] if len(options) == 1 else {"anyOf": options}
    return result


def _query_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema without `null` (absent means default) or pydantic's title."""
    options = schema.get("anyOf")
    if options and {"type": "null"} in options and len(options) == 2:
        (kept,) = [option for option in options if option != {"type": "null"}]
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        schema = {**kept, **rest}
    return {k: v for k, v in schema.items() if k not in ("title", "description")}


def project_openapi(app: FastAPI) -> dict[str, Any]:
    """The document of every route of `app`, in the project's terms."""
    document = get_openapi(
        title=TITLE,
        version=app.version,
        description=DESCRIPTION,
        routes=app.routes,
    )
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_ONLY:
        schemas.pop(name, None)
    error_ref = {"$ref": "#/components/schemas/Error"}
    for item in document["paths"].values():
        for operation in item.values():
            responses = operation["responses"]
            responses.pop("422", None)
            responses.setdefault(
                "400",
                {
                    "description": ERROR_RESPONSES[400]["description"],
                    "content": {"application/json": {"schema": error_ref}},
                },
            )
            for parameter in operation.get("parameters", ()):
                parameter["schema"] = _query_schema(parameter["schema"])
    if "Error" not in schemas:
        schemas["Error"] = {
            "type": "object",
            "properties": {"error": {"type": "string"}},
            "required": ["error"],
        }
    names = {
        name: match.group(2) + match.group(1)
        for name in schemas
        if (match := GENERIC_NAME.match(name))
    }
    document["components"]["schemas"] = {names.get(k, k): v for k, v in schemas.items()}
    return _without_tuples(_renamed(document, names))
