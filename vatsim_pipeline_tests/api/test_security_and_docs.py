"""The API's safe defaults and its offline documentation, over real HTTP: only GET and
HEAD, no CORS unless origins are listed, and `/docs` drawn from files of the package."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest
import requests
from fastapi import APIRouter

from vatsim_pipeline.api import create_app
from vatsim_pipeline.api.security import cors_origins
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline_tests.api import TIMEOUT, get, serving

SWAGGER_UI = files("vatsim_pipeline.api") / "static" / "swagger-ui"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('security') / 'vatsim.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def api(engine) -> Iterator[str]:
    with serving(create_app(engine)) as base:
        yield base


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_only_get_and_head_are_answered(api: str, method: str):
    response = requests.request(method, f"{api}/api/flights", timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.json() == {"error": f"{method} /api/flights: only GET"}
    assert response.headers["allow"] == "GET, HEAD"


def test_a_router_cannot_sneak_in_a_write(engine):
    """Even a route declared for POST is never reached: the app refuses to be built."""
    router = APIRouter()

    @router.post("/api/notes")
    def add_note() -> None:
        return None

    with pytest.raises(ValueError, match="read-only; routes that write: POST /api/notes"):
        create_app(engine, [router])


def test_head_is_get_without_a_body(api: str):
    got = get(api, "/api/flights")
    head = requests.head(f"{api}/api/flights", timeout=TIMEOUT)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-type"] == "application/json"
    assert head.headers["content-length"] == str(len(got.content)) != "0"


def test_no_cors_by_default(api: str):
    response = requests.get(
        f"{api}/api/flights", headers={"Origin": "https://example.org"}, timeout=TIMEOUT
    )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_cors_only_for_the_listed_origins_and_only_get(engine):
    origins = cors_origins(
        {"VATSIM_API_CORS_ORIGINS": " https://a.example , http://b.example:8080,"}
    )
    assert origins == ("https://a.example", "http://b.example:8080")
    assert cors_origins({}) == ()
    with serving(create_app(engine, cors_origins=origins)) as base:
        allowed = requests.get(
            f"{base}/api/status", headers={"Origin": "https://a.example"}, timeout=TIMEOUT
        )
        other = requests.get(
            f"{base}/api/status", headers={"Origin": "https://c.example"}, timeout=TIMEOUT
        )
        preflight = requests.options(
            f"{base}/api/flights",
            headers={"Origin": "https://a.example", "Access-Control-Request-Method": "DELETE"},
            timeout=TIMEOUT,
        )
    assert allowed.headers["access-control-allow-origin"] == "https://a.example"
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 400
    assert "DELETE" not in preflight.headers.get("access-control-allow-methods", "")


def test_docs_page_loads_only_assets_served_here(api: str):
    page = get(api, "/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "/api/openapi.json" in page.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert urls and not [url for url in urls if "//" in url]  # nothing from another host
    assert "validatorUrl" in page.text and "null" in page.text
    for url in urls:
        response = requests.get(api + url, timeout=TIMEOUT)
        assert response.status_code == 200, url
        name = url.split("?")[0].rsplit("/", 1)[-1]
        assert response.content == (SWAGGER_UI / name).read_bytes()
    assert {url.split("?")[0].rsplit("/", 1)[-1] for url in urls} == {
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "favicon-32x32.png",
    }


def test_swagger_ui_ships_with_its_licence_and_as_package_data():
    assert "Apache License" in (SWAGGER_UI / "LICENSE").read_text()
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert '"api/static/swagger-ui/*"' in pyproject
    version = re.search(r"swagger-ui-dist` (\S+) ", (SWAGGER_UI / "README.md").read_text())
    assert version is not None
    from vatsim_pipeline.api.docs import SWAGGER_UI_VERSION

    assert version.group(1) == SWAGGER_UI_VERSION
