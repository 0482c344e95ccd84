"""The read-only HTTP API (FastAPI on uvicorn) over the query service.

`create_app(engine_or_service, routers)` builds it; `vatsim-pipeline serve` serves it
with the routers of `ROUTER_PROVIDERS` (in `vatsim_pipeline.api.providers`).

Adding routes from another room
-------------------------------
Write a function `(service: QueryService, settings: Settings) -> APIRouter` in your
room, and add `"package.module:function"` as one line of `ROUTER_PROVIDERS`. Its routes
are served and documented in `/api/openapi.json` and `/docs` with the built-in ones::

    # vatsim_pipeline/patterns/api_routes.py
    from fastapi import APIRouter
    from vatsim_pipeline.api import ERROR_RESPONSES, JsonResponse, Limit, SectorId

    def patterns_router(service, settings) -> APIRouter:
        router = APIRouter(prefix="/api/patterns", tags=["patterns"])

        @router.get("/sectors/{sector_id}", response_model=SectorPattern,
                    summary="Flights per 15 minutes", responses={404: ERROR_RESPONSES[404]})
        def sector_pattern(sector_id: SectorId, limit: Limit = 100) -> JsonResponse:
            return JsonResponse(load_pattern(service.engine, sector_id, limit))

        return router

    # vatsim_pipeline/api/providers.py
    ROUTER_PROVIDERS = (
        "vatsim_pipeline.api.analytics_routes:analytics_router",
        "vatsim_pipeline.patterns.api_routes:patterns_router",
    )

The rules, enforced by `create_app`: routes are GET only (the API is read-only), no
path is served twice, and every query parameter is declared with the constraints the
handler relies on (reuse `vatsim_pipeline.api.parameters`: `Limit`, `Offset`, `Since`,
`Until`, `SectorId`, ...), since an undeclared one is refused with 400 and a fuzzer
checks that the document and the server agree. Raise `InvalidQuery(param, reason)` for
a mistake (400) and `NotFound("what: not found")` for an unknown id (404); both become
`{"error": ...}`. Return `JsonResponse(value)` (orjson: dataclasses, TypedDicts,
datetimes) and name the shape in `response_model=` for the document. A page that is
not JSON (the dashboard at "/") is a route with `include_in_schema=False` or a mounted
`StaticFiles`; such routes take any query parameters.
"""

from vatsim_pipeline.api.app import create_app
from vatsim_pipeline.api.parameters import (
    Arrival,
    Bbox,
    Callsign,
    Departure,
    Limit,
    Offset,
    SectorId,
    Since,
    Until,
)
from vatsim_pipeline.api.providers import ROUTER_PROVIDERS, provided_routers
from vatsim_pipeline.api.responses import ERROR_RESPONSES, JsonResponse

__all__ = [
    "ERROR_RESPONSES",
    "ROUTER_PROVIDERS",
    "Arrival",
    "Bbox",
    "Callsign",
    "Departure",
    "JsonResponse",
    "Limit",
    "Offset",
    "SectorId",
    "Since",
    "Until",
    "create_app",
    "provided_routers",
]
