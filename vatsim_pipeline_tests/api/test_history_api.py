"""The window routes of the HTTP API (`/api/flights/history`,
`/api/sectors/{sector_id}/occupancy`) over real HTTP, on the constructed history of
`history_support`, on every backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from vatsim_pipeline.api import create_app
from vatsim_pipeline.storage.engine import make_engine
from vatsim_pipeline_tests.api import get, ok, serving
from vatsim_pipeline_tests.backends import BACKENDS
from vatsim_pipeline_tests.storage.history_support import (
    NOW,
    at,
    expected_flights,
    expected_visits,
    history_database,
)


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    with history_database(request.param, tmp_path_factory.mktemp("history_api")) as url:
        engine = make_engine(url)
        with serving(create_app(engine)) as base:
            yield base
        engine.dispose()


def test_flights_by_departure_in_a_window(api: str):
    body = ok(
        api,
        "/api/flights/history",
        departure="EGLL",
        since="2024-11-22T10:00:00Z",
        until="2024-11-22T11:00:00Z",
    )
    assert [f["id"] for f in body["items"]] == expected_flights(at(10), at(11), "EGLL") == [2, 1]
    assert (body["total"], body["limit"], body["offset"]) == (2, 100, 0)
    assert datetime.fromisoformat(body["since"]) == at(10)
    assert datetime.fromisoformat(body["until"]) == at(11)
    assert body["items"][0]["callsign"] == "DLH905"
    assert datetime.fromisoformat(body["items"][0]["first_seen"]) == at(10, 30)


def test_flight_history_defaults_and_paging(api: str):
    body = ok(api, "/api/flights/history", arrival="EGLL", since="24h")
    assert [f["id"] for f in body["items"]] == expected_flights(
        at(12, days_before=1), NOW, None, "EGLL"
    )
    first = ok(api, "/api/flights/history", limit=2)
    second = ok(api, "/api/flights/history", limit=2, offset=2)
    ids = [f["id"] for f in first["items"] + second["items"]]
    assert ids == expected_flights(at(12, days_before=1), NOW)[:4]
    assert first["total"] == second["total"] == 6


def test_sector_occupancy_in_a_window(api: str):
    body = ok(
        api,
        "/api/sectors/EGTT/occupancy",
        since="2024-11-22T11:41:00Z",
        until="2024-11-22T12:00:00Z",
    )
    assert [v["callsign"] for v in body["items"]] == ["DLH904", "DLH905"]
    assert [v["exited_at"] for v in body["items"]] == [None, None]
    assert body["total"] == len(expected_visits("EGTT", at(11, 41), NOW)) == 2
    empty = ok(api, "/api/sectors/EDGG/occupancy")
    assert (empty["items"], empty["total"]) == ([], 0)


@pytest.mark.parametrize(
    ("path", "params", "error"),
    [
        (
            "/api/flights/history",
            {"since": "yesterday"},
            "since: 'yesterday' is neither a duration (30s, 90m, 24h, 7d, 2w) nor an ISO time",
        ),
        ("/api/flights/history", {"until": ""}, "until: is empty"),
        ("/api/flights/history", {"limit": "0"}, "limit: must be between 1 and 1000, got 0"),
        ("/api/flights/history", {"sector": "EGTT"}, "sector: unknown parameter"),
        (
            "/api/sectors/EGTT/occupancy",
            {"until": "-5m"},
            "until: '-5m' is neither a duration (30s, 90m, 24h, 7d, 2w) nor an ISO time",
        ),
        (
            "/api/sectors/EGTT/occupancy",
            {"offset": "-1"},
            "offset: must be between 0 and 1000000000, got -1",
        ),
    ],
)
def test_bad_window_parameters_are_400_with_one_line(api: str, path: str, params: dict, error: str):
    response = get(api, path, **params)
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert "\n" not in response.text


def test_a_window_that_ends_before_it_starts_is_empty(api: str):
    """The schema cannot say "since before until", so an inverted window is no mistake:
    it holds nothing, and the answer shows the window as understood."""
    body = ok(api, "/api/flights/history", since="2h", until="3h")
    assert (body["items"], body["total"]) == ([], 0)
    assert datetime.fromisoformat(body["since"]) == at(10)
    assert datetime.fromisoformat(body["until"]) == at(9)
    visits = ok(api, "/api/sectors/EGTT/occupancy", since="2h", until="3h")
    assert (visits["items"], visits["total"]) == ([], 0)


def test_unknown_sector_is_404(api: str):
    response = get(api, "/api/sectors/EGXX/occupancy")
    assert (response.status_code, response.json()) == (404, {"error": "sector 'EGXX': not found"})


def test_openapi_documents_the_window_routes(api: str):
    document = ok(api, "/api/openapi.json")
    history = document["paths"]["/api/flights/history"]["get"]
    assert [p["name"] for p in history["parameters"]] == [
        "departure",
        "arrival",
        "since",
        "until",
        "limit",
        "offset",
    ]
    occupancy = document["paths"]["/api/sectors/{sector_id}/occupancy"]["get"]
    assert occupancy["parameters"][0]["in"] == "path" and "404" in occupancy["responses"]
    page = document["components"]["schemas"]["SectorVisitWindowPage"]
    assert page["required"] == ["items", "total", "limit", "offset", "since", "until"]
    visit = document["components"]["schemas"]["SectorVisit"]["properties"]
    assert visit["exited_at"]["anyOf"] == [
        {"type": "string", "format": "date-time"},
        {"type": "null"},
    ]
