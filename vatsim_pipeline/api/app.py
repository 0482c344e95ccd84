"""The read-only HTTP API: a FastAPI app over the query service, served by uvicorn.

Every route is GET (HEAD too) and answers JSON; mistakes answer
`{"error": "<param>: <reason>"}` with 400, unknown flights, sectors and paths 404, other
methods 405, an unreachable database 503. `/api/openapi.json` documents every route,
and `/docs` shows it in Swagger UI served from this package.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from vatsim_pipeline.api.docs import install_docs
from vatsim_pipeline.api.errors import install_error_handlers, refuse_unknown_parameters
from vatsim_pipeline.api.network_routes import network_router
from vatsim_pipeline.api.openapi import TITLE, project_openapi
from vatsim_pipeline.api.responses import ERROR_RESPONSES, JsonResponse
from vatsim_pipeline.api.security import READ_METHODS, add_security_middleware
from vatsim_pipeline.storage.reads import QueryService

OPENAPI_PATH = "/api/openapi.json"


def _package_version() -> str:
    try:
        return version("vatsim-pipeline")
    except PackageNotFoundError:
        return "0+unknown"


def _operation_id(route: APIRoute) -> str:
    """`get_api_flights_callsign_track` for `/api/flights/{callsign}/track`."""
    parts = route.path_format.strip("/").replace("{", "").replace("}", "").split("/")
    return "get_" + "_".join(part.replace(".", "_") for part in parts)


def _api_routes(routers: Sequence[APIRouter]) -> tuple[APIRoute, ...]:
    """The routes of `routers`; raises `ValueError` if two share a path or one takes a
    method that writes (the middleware refuses those anyway, this names the culprit)."""
    routes = tuple(r for router in routers for r in router.routes if isinstance(r, APIRoute))
    paths = [route.path for route in routes]
    duplicated = sorted({path for path in paths if paths.count(path) > 1})
    if duplicated:
        raise ValueError(f"routes served twice: {', '.join(duplicated)}")
    writes = sorted(f"{m} {r.path}" for r in routes for m in sorted(r.methods - READ_METHODS))
    if writes:
        raise ValueError(f"the API is read-only; routes that write: {', '.join(writes)}")
    return routes


def create_app(
    source: Engine | QueryService,
    routers: Sequence[APIRouter] = (),
    *,
    cors_origins: Sequence[str] = (),
) -> FastAPI:
    """The API over one engine (or a service already made), plus `routers` (see
    `vatsim_pipeline.api` for how other rooms add theirs); CORS only for `cors_origins`.

    Raises `ValueError` if two routes share a path or a route takes a method that writes.
    `app.state.api_routes` holds the routes of the routers (documented unless they say
    otherwise).
    """
    service = source if isinstance(source, QueryService) else QueryService(source)
    app = FastAPI(
        title=TITLE,
        version=_package_version(),
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        default_response_class=JsonResponse,
        dependencies=[Depends(refuse_unknown_parameters)],
        responses={400: ERROR_RESPONSES[400]},
        generate_unique_id_function=_operation_id,
    )
    routers = (network_router(service), *routers)
    api_routes = _api_routes(routers)
    for router in routers:
        app.include_router(router)

    document = project_openapi(app)
    app.openapi = lambda: document  # type: ignore[method-assign]

    @app.get(OPENAPI_PATH, include_in_schema=False)
    def openapi() -> JsonResponse:
        return JsonResponse(document)

    install_docs(app, OPENAPI_PATH, TITLE)
    install_error_handlers(app)
    add_security_middleware(app, cors_origins)
    app.state.service = service
    app.state.api_routes = api_routes
    return app
