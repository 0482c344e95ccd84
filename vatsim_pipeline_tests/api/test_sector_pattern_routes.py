"""The sector pattern routes over real HTTP, on the known rows of `patterns_support`, on
every backend, served with the routers `serve` uses: answers, 4xx with a reason, and
their entries in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from vatsim_pipeline.api import create_app, provided_routers
from vatsim_pipeline.settings import Settings
from vatsim_pipeline.storage.engine import make_engine
from vatsim_pipeline.storage.reads import QueryService
from vatsim_pipeline_tests.api import get, ok, serving
from vatsim_pipeline_tests.backends import BACKENDS
from vatsim_pipeline_tests.storage.patterns_support import NOW, at, patterns_database


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    with patterns_database(request.param, tmp_path_factory.mktemp("patterns_api")) as url:
        engine = make_engine(url)
        service = QueryService(engine)
        settings = Settings.from_env({"VATSIM_DATABASE_URL": url})
        with serving(create_app(service, provided_routers(service, settings))) as base:
            yield base
        engine.dispose()


def _refused(base: str, path: str, status: int, **params) -> str:
    response = get(base, path, **params)
    assert response.status_code == status, response.text
    return response.json()["error"]


def test_sector_traffic_coverage_and_forecast(api: str) -> None:
    body = ok(api, "/api/traffic/sectors/F", since="3h", bucket="1h")
    assert (body["sector_id"], body["bucket"]) == ("F", "1h")
    assert [
        (datetime.fromisoformat(b["bucket_start"]), b["entries"], b["peak"], b["mean"])
        for b in body["items"]
    ] == [(at(10), 6, 3, 1.25), (at(11), 1, 1, 0.0625)]
    quiet = ok(api, "/api/traffic/sectors/F", since="2026-03-06T12:00Z", until="2026-03-06T13:00Z")
    assert quiet["items"] == []
    coverage = ok(api, "/api/controllers/coverage", since="3h")
    assert [
        (c["sector_id"], c["staffed_minutes"], c["coverage_share"]) for c in coverage["items"]
    ] == [
        ("F", 90.0, 0.625),
        ("T1", 0.0, 0.0),
    ]
    assert ok(api, "/api/controllers/coverage", since="3h", sector="T1")["total"] == 1
    forecast = ok(api, "/api/forecast/sectors/F")
    assert datetime.fromisoformat(forecast["issued_at"]) == NOW
    assert [b["expected"] for b in forecast["items"]] == [1.0 + k for k in range(8)]


def test_bad_input_is_refused_with_a_reason(api: str) -> None:
    assert _refused(api, "/api/traffic/sectors/NOPE", 404) == "sector 'NOPE': not found"
    assert _refused(api, "/api/forecast/sectors/NOPE", 404) == "sector 'NOPE': not found"
    assert _refused(api, "/api/controllers/coverage", 404, sector="NOPE") == (
        "sector 'NOPE': not found"
    )
    # No schema can state these window rules, so the API narrows instead of refusing
    # (the CLI refuses them with the reason).
    inverted = ok(api, "/api/traffic/sectors/F", since="1h", until="2h")
    assert inverted["items"] == [] and inverted["since"] == inverted["until"]
    long = ok(api, "/api/controllers/coverage", since="45d")
    until = datetime.fromisoformat(long["until"])
    assert datetime.fromisoformat(long["since"]) == until - timedelta(days=30)
    assert _refused(api, "/api/traffic/sectors/F", 400, bucket="5m").startswith("bucket: ")
    assert _refused(api, "/api/controllers/coverage", 400, limit=0).startswith("limit: ")
    assert _refused(api, "/api/traffic/sectors/F", 400, since="yesterday").startswith("since: ")


def test_the_routes_are_documented_with_their_constraints(api: str) -> None:
    paths = ok(api, "/api/openapi.json")["paths"]
    traffic = paths["/api/traffic/sectors/{sector_id}"]["get"]
    parameters = {p["name"]: p for p in traffic["parameters"]}
    assert set(parameters) == {"sector_id", "since", "until", "bucket"}
    assert parameters["bucket"]["schema"]["enum"] == ["15m", "1h"]
    assert "pattern" in parameters["sector_id"]["schema"]
    assert {"200", "400", "404"} <= set(traffic["responses"])
    coverage = {p["name"] for p in paths["/api/controllers/coverage"]["get"]["parameters"]}
    assert coverage == {"sector", "since", "until", "limit", "offset"}
    forecast = paths["/api/forecast/sectors/{sector_id}"]["get"]
    assert [p["name"] for p in forecast["parameters"]] == ["sector_id"]
    assert {"200", "404"} <= set(forecast["responses"])
