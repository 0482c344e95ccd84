"""Which routers join the served API: one `"package.module:function"` per line, each
called as `function(service, settings)` and returning a FastAPI `APIRouter` (see the
`vatsim_pipeline.api` docstring). One entry per line keeps merges of new rooms easy."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import APIRouter

    from vatsim_pipeline.settings import Settings
    from vatsim_pipeline.storage.reads import QueryService

ROUTER_PROVIDERS: tuple[str, ...] = (
    "vatsim_pipeline.api.analytics_routes:analytics_router",
    "vatsim_pipeline.api.anomaly_routes:anomalies_router",
    "vatsim_pipeline.api.airport_routes:airport_router",
    "vatsim_pipeline.api.sector_pattern_routes:sector_pattern_router",
    "vatsim_pipeline.dashboard.router:dashboard_router",
)


def provided_routers(
    service: QueryService, settings: Settings, providers: tuple[str, ...] = ROUTER_PROVIDERS
) -> list[APIRouter]:
    """The routers of every provider, in order."""
    routers = []
    for name in providers:
        module, _, function = name.partition(":")
        routers.append(getattr(importlib.import_module(module), function)(service, settings))
    return routers
