"""Interactive documentation at `/docs`, drawn by Swagger UI from files shipped in this
package (`static/swagger-ui/`, the pinned `swagger-ui-dist` with its licence), so that it
works offline and behind firewalls; FastAPI's own page loads them from a CDN."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

SWAGGER_UI = Path(__file__).parent / "static" / "swagger-ui"
SWAGGER_UI_VERSION = "5.35.0"
DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"


def install_docs(app: FastAPI, openapi_url: str, title: str) -> None:
    """Serve the page at `/docs` and its assets under `/docs/assets/`."""
    app.mount(ASSETS_PATH, StaticFiles(directory=SWAGGER_UI), name="swagger-ui")
    page = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{title}: API",
        swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js?v={SWAGGER_UI_VERSION}",
        swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css?v={SWAGGER_UI_VERSION}",
        swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
        # No badge from the online validator: nothing on the page leaves this server.
        swagger_ui_parameters={"validatorUrl": None},
    )

    @app.get(DOCS_PATH, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page.body)
