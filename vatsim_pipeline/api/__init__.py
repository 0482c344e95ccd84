"""The read-only HTTP API over the query service (Starlette, served by uvicorn)."""

from vatsim_pipeline.api.app import create_app, json_response, service_routes
from vatsim_pipeline.api.openapi import openapi_document
from vatsim_pipeline.api.routes import ApiParameter, ApiRoute, Handler, Reply

__all__ = [
    "ApiParameter",
    "ApiRoute",
    "Handler",
    "Reply",
    "create_app",
    "json_response",
    "openapi_document",
    "service_routes",
]
