"""The views of the dashboard page, in the order the page shows them.

Adding a view is adding one `View` here: its script (an ES module under `static/` that
exports `mount(section, ctx)`) and, if it needs routes of its own, a function that
returns an `APIRouter` for them. A view whose data comes from routes already served
by the API has no router.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter

from vatsim_pipeline.dashboard.views.coverage_routes import coverage_router
from vatsim_pipeline.dashboard.views.map_routes import map_router
from vatsim_pipeline.storage.reads import QueryService


@dataclass(frozen=True)
class View:
    """One panel of the page."""

    id: str
    title: str
    script: str
    wide: bool = False
    router: Callable[[QueryService], APIRouter] | None = None

    def listing(self) -> dict[str, object]:
        """What the page's shell needs to load the view."""
        return {
            "id": self.id,
            "title": self.title,
            "script": f"/dashboard/{self.script}",
            "wide": self.wide,
        }


VIEWS: tuple[View, ...] = (
    View("map", "Live map", "views/map.js", wide=True, router=map_router),
    # /api/traffic/sectors/{id} and /api/forecast/sectors/{id} (vatsim_pipeline.api).
    View("sector-load", "Sector load", "views/sector_load.js"),
    # /api/traffic/airports/{icao} and /api/forecast/airports/{icao}.
    View("airport-board", "Airport board", "views/airport_board.js"),
    # /api/routes/top.
    View("top-routes", "Top routes and airports", "views/top_routes.js"),
    View("coverage", "ATC coverage by hour", "views/coverage.js", router=coverage_router),
    # /api/anomalies.
    View("anomalies", "Active anomalies", "views/anomalies.js"),
)
