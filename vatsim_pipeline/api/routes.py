"""The route table of the HTTP API: each route names its path, handler, summary,
parameters and response type once, and both the server and the OpenAPI document are
built from it, so that they cannot drift apart.

A handler is a plain function of the parsed arguments (`Mapping[str, Any]`) that
returns something JSON-serialisable (dicts, lists, dataclasses, datetimes) or a `Reply`
to choose the status code. It runs in a worker thread, so it may block on the database.
It raises `InvalidQuery` for a bad argument (400) and `NotFound` (404); the server turns
both into `{"error": "..."}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from vatsim_pipeline.storage.reads import InvalidQuery

Handler = Callable[[Mapping[str, Any]], Any]

TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")


@dataclass(frozen=True)
class Reply:
    """A handler's answer with a status other than 200 (e.g. 503 from a health check)."""

    body: Any
    status: int = 200


@dataclass(frozen=True)
class ApiParameter:
    """One path or query parameter: how it is parsed and how it is documented.

    `convert` turns the typed value into what the handler gets (e.g. `parse_bbox`) and
    raises `InvalidQuery` or `ValueError` when it cannot.
    """

    name: str
    description: str
    type: Literal["string", "integer", "boolean"] = "string"
    location: Literal["query", "path"] = "query"
    required: bool = False
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[str, ...] | None = None
    example: str | None = None
    convert: Callable[[Any], Any] | None = None

    def parse(self, text: str | None) -> Any:
        """The argument from its text in the request; the default when absent."""
        if text is None:
            if self.required or self.location == "path":
                raise InvalidQuery(self.name, "is required")
            return self.default
        value = self._typed(text)
        if self.enum is not None and value not in self.enum:
            raise InvalidQuery(self.name, f"must be one of {', '.join(self.enum)}, got {text!r}")
        if self.minimum is not None and value < self.minimum:
            raise InvalidQuery(self.name, self._range(value))
        if self.maximum is not None and value > self.maximum:
            raise InvalidQuery(self.name, self._range(value))
        if self.convert is None:
            return value
        try:
            return self.convert(value)
        except InvalidQuery:
            raise
        except ValueError as error:
            raise InvalidQuery(self.name, str(error)) from None

    def _typed(self, text: str) -> Any:
        if self.type == "integer":
            try:
                return int(text.strip())
            except ValueError:
                raise InvalidQuery(self.name, f"not an integer: {text!r}") from None
        if self.type == "boolean":
            word = text.strip().lower()
            if word in TRUE_WORDS or word in FALSE_WORDS:
                return word in TRUE_WORDS
            raise InvalidQuery(self.name, f"not true or false: {text!r}")
        if not text.strip():
            raise InvalidQuery(self.name, "is empty")
        return text.strip()

    def _range(self, value: int) -> str:
        if self.maximum is None:
            return f"must be {self.minimum} or more, got {value}"
        if self.minimum is None:
            return f"must be {self.maximum} or less, got {value}"
        return f"must be between {self.minimum} and {self.maximum}, got {value}"


@dataclass(frozen=True)
class ApiRoute:
    """One GET endpoint. `response` is the type the handler returns (a dataclass, a
    TypedDict, `Page[...]`, a list of them) or a JSON Schema dict, for the OpenAPI
    document; `uses_database` documents the 503 answered when the database is down."""

    path: str
    handler: Handler
    summary: str
    description: str = ""
    parameters: tuple[ApiParameter, ...] = ()
    response: Any = None
    tag: str = "network"
    uses_database: bool = True

    @property
    def path_parameters(self) -> list[ApiParameter]:
        return [p for p in self.parameters if p.location == "path"]

    @property
    def query_parameters(self) -> list[ApiParameter]:
        return [p for p in self.parameters if p.location == "query"]

    def arguments(
        self, path_params: Mapping[str, str], query: Iterable[tuple[str, str]]
    ) -> dict[str, Any]:
        """Every declared parameter parsed from the request; unknown or repeated query
        parameters are refused, so that a typo never silently widens an answer."""
        given: dict[str, str] = {}
        declared = {p.name for p in self.query_parameters}
        for name, value in query:
            if name not in declared:
                raise InvalidQuery(name, "unknown parameter")
            if name in given:
                raise InvalidQuery(name, "given more than once")
            given[name] = value
        return {
            p.name: p.parse(path_params.get(p.name) if p.location == "path" else given.get(p.name))
            for p in self.parameters
        }
