"""The airport pattern routes over real HTTP, on the constructed history of
`airport_patterns_support`, on every backend, served with the routers `serve` uses:
answers, 4xx with a reason, and their entries in the OpenAPI document."""

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
from vatsim_pipeline_tests.storage.airport_patterns_support import airport_database
from vatsim_pipeline_tests.storage.history_support import at


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    with airport_database(request.param, tmp_path_factory.mktemp("airport_api")) as url:
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


def test_airport_traffic_per_hour(api: str) -> None:
    body = ok(api, "/api/traffic/airports/egll", since="8h", bucket="1h")
    assert body["airport"] == "EGLL" and body["bucket"] == "1h"
    assert [datetime.fromisoformat(b["bucket_start"]) for b in body["items"]] == [
        at(h) for h in range(4, 12)
    ]
    assert [b["arrivals"] for b in body["items"]] == [1, 0, 0, 0, 0, 0, 0, 1]
    assert (body["departures"], body["arrivals"]) == (2, 2)
    empty = ok(
        api, "/api/traffic/airports/KJFK", since="2024-11-22T07:00Z", until="2024-11-22T08:00Z"
    )
    assert [(b["departures"], b["arrivals"]) for b in empty["items"]] == [(0, 0)] * 4


def test_movements_and_top_routes(api: str) -> None:
    body = ok(api, "/api/movements", airport="EGLL", kind="departure")
    assert [(m["flight_id"], m["callsign"]) for m in body["items"]] == [
        (2, "DLH905"),
        (1, "BAW117"),
    ]
    assert body["total"] == 2
    top = ok(api, "/api/routes/top", since="3d", limit=2)
    assert [(r["departure"], r["arrival"], r["flights"]) for r in top["items"]] == [
        ("EGLL", "KJFK", 2),
        ("EDDF", "EGLL", 1),
    ]


def test_bad_input_is_refused_with_a_reason(api: str) -> None:
    assert _refused(api, "/api/traffic/airports/ZZZZ", 404) == "airport 'ZZZZ': not found"
    assert _refused(api, "/api/movements", 404, airport="QQQQ") == "airport 'QQQQ': not found"
    # No schema can state these window rules, so the API narrows instead of refusing
    # (the CLI refuses them with the reason).
    inverted = ok(api, "/api/traffic/airports/EGLL", since="1h", until="2h")
    assert (inverted["items"], inverted["departures"], inverted["arrivals"]) == ([], 0, 0)
    assert inverted["since"] == inverted["until"]
    long = ok(api, "/api/routes/top", since="45d")
    until = datetime.fromisoformat(long["until"])
    assert datetime.fromisoformat(long["since"]) == until - timedelta(days=30)
    assert _refused(api, "/api/traffic/airports/EGLL", 400, bucket="5m").startswith("bucket: ")
    assert _refused(api, "/api/movements", 400, kind="landing").startswith("kind: ")
    assert _refused(api, "/api/routes/top", 400, limit=0).startswith("limit: ")
    assert _refused(api, "/api/traffic/airports/EG-LL", 400).startswith("icao: ")


def test_the_routes_are_documented_with_their_constraints(api: str) -> None:
    document = ok(api, "/api/openapi.json")
    paths = document["paths"]
    traffic = paths["/api/traffic/airports/{icao}"]["get"]
    parameters = {p["name"]: p for p in traffic["parameters"]}
    assert parameters["icao"]["schema"]["pattern"] == "^[A-Za-z0-9]{1,8}$"
    assert parameters["bucket"]["schema"]["enum"] == ["15m", "1h"]
    assert {"200", "400", "404"} <= set(traffic["responses"])
    movements = {p["name"]: p for p in paths["/api/movements"]["get"]["parameters"]}
    assert set(movements) == {"airport", "kind", "since", "until", "limit", "offset"}
    routes = {p["name"]: p for p in paths["/api/routes/top"]["get"]["parameters"]}
    assert (routes["limit"]["schema"]["minimum"], routes["limit"]["schema"]["maximum"]) == (1, 1000)
