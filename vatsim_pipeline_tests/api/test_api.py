"""The HTTP API over real HTTP (uvicorn on a free port, `requests` as the client),
against the five recorded snapshots and the real sectors on every backend; expected
values come from the raw JSON."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import shapely

from vatsim_pipeline.api import ApiParameter, ApiRoute, create_app
from vatsim_pipeline.storage.engine import make_engine
from vatsim_pipeline.storage.reads import QueryService
from vatsim_pipeline_tests.api import TIMEOUT, get, ok, serving
from vatsim_pipeline_tests.backends import BACKENDS
from vatsim_pipeline_tests.storage.reads_support import (
    FILES,
    NEWEST,
    active,
    latest_pilots,
    latest_stations,
    plan,
    real_sectors,
    recorded_database,
    track_of,
)
from vatsim_pipeline_tests.storage.support import raw


@pytest.fixture(scope="module", params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    with recorded_database(request.param, tmp_path_factory.mktemp("api")) as url:
        engine = make_engine(url)
        with serving(create_app(engine)) as base:
            yield base
        engine.dispose()


def keys(items: list[dict]) -> set[tuple]:
    return {(f["cid"], f["callsign"], datetime.fromisoformat(f["logon_time"])) for f in items}


# --- flights -------------------------------------------------------------------------


def test_active_flights_total_is_the_raw_active_count(api: str):
    body = ok(api, "/api/flights")
    expected = active(latest_pilots())
    assert (body["total"], body["limit"], body["offset"]) == (len(expected), 100, 0)
    assert len(body["items"]) == 100
    everything = ok(api, "/api/flights", limit=1000)["items"]
    assert keys(everything) == set(expected)
    qfa = next(f for f in everything if f["callsign"] == "QFA63")
    assert datetime.fromisoformat(qfa["last_seen"]) == NEWEST
    assert qfa["departure"] == "YSSY" and qfa["arrival"] == "FAOR"


def test_filters_over_http_match_raw_counts(api: str):
    pilots = active(latest_pilots())
    departing = {k for k, s in pilots.items() if plan(s.record).get("departure") == "EGLL"}
    body = ok(api, "/api/flights", departure="EGLL", limit=1000)
    assert body["total"] == len(departing) > 0
    assert keys(body["items"]) == departing
    arriving = sum(1 for s in pilots.values() if plan(s.record).get("arrival") == "OMDB")
    assert ok(api, "/api/flights", arrival="OMDB")["total"] == arriving
    inside = sum(
        1
        for s in pilots.values()
        if 35 <= s.record["latitude"] <= 60 and -10 <= s.record["longitude"] <= 30
    )
    assert ok(api, "/api/flights", bbox="35,-10,60,30")["total"] == inside
    egtt = next(s for s in real_sectors() if s.id == "EGTT").geometry
    in_sector = sum(
        1
        for s in pilots.values()
        if egtt.covers(shapely.Point(s.record["longitude"], s.record["latitude"]))
    )
    assert ok(api, "/api/flights", sector="EGTT")["total"] == in_sector > 0


def test_pages_are_disjoint_and_cover_the_total(api: str):
    total = ok(api, "/api/flights", limit=1)["total"]
    ids: list[int] = []
    for offset in range(0, total, 250):
        body = ok(api, "/api/flights", limit=250, offset=offset)
        assert (body["total"], body["offset"]) == (total, offset)
        ids += [f["id"] for f in body["items"]]
    assert len(ids) == len(set(ids)) == total
    assert ok(api, "/api/flights", offset=total)["items"] == []


def test_track_of_a_real_callsign(api: str):
    body = ok(api, "/api/flights/QFA63/track")
    assert body["flight"]["callsign"] == "QFA63"
    assert body["flight"]["aircraft_short"] == "A388"
    assert [
        (datetime.fromisoformat(p["observed_at"]), p["lat"], p["lon"]) for p in body["positions"]
    ] == track_of("QFA63")
    by_id = ok(api, f"/api/flights/{body['flight']['id']}/track")
    assert by_id == body


def test_stats_of_a_real_callsign(api: str):
    body = ok(api, "/api/flights/QFA63/stats")
    positions = ok(api, "/api/flights/QFA63/track")["positions"]
    assert body["position_count"] == len(positions) == 5
    assert body["max_altitude"] == max(p["altitude"] for p in positions)
    assert body["first_position"] == positions[0]
    assert body["last_position"] == positions[-1]
    assert body["duration_s"] == pytest.approx(
        (NEWEST - datetime.fromisoformat(body["first_seen"])).total_seconds()
    )
    assert 13 < body["distance_nm"] < 14


def test_unknown_callsign_is_404(api: str):
    for path in ("/api/flights/NOPE123/track", "/api/flights/NOPE123/stats"):
        response = get(api, path)
        assert response.status_code == 404
        assert response.json() == {"error": "callsign 'NOPE123': no flight recorded"}
    assert get(api, "/api/flights/999999/track").json() == {"error": "flight id 999999: not found"}


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"limit": "0"}, "limit: must be between 1 and 1000, got 0"),
        ({"limit": "abc"}, "limit: not an integer: 'abc'"),
        ({"limit": "1001"}, "limit: must be between 1 and 1000, got 1001"),
        ({"offset": "-1"}, "offset: must be 0 or more, got -1"),
        ({"bbox": "1,2,3"}, "bbox: expected min_lat,min_lon,max_lat,max_lon, got '1,2,3'"),
        ({"bbox": "60,0,50,10"}, "bbox: min_lat is greater than max_lat"),
        ({"bbox": "50,10,60,0"}, "bbox: min_lon is greater than max_lon"),
        ({"bbox": "a,b,c,d"}, "bbox: not four numbers: 'a,b,c,d'"),
        ({"departure": ""}, "departure: is empty"),
        ({"depature": "EGLL"}, "depature: unknown parameter"),
    ],
)
def test_bad_flight_parameters_are_400(api: str, params: dict, error: str):
    response = get(api, "/api/flights", **params)
    assert response.status_code == 400
    assert response.json() == {"error": error}


def test_repeated_parameter_is_400(api: str):
    response = requests.get(f"{api}/api/flights?limit=1&limit=2", timeout=TIMEOUT)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "limit: given more than once"},
    )


def test_unknown_path_and_other_methods_answer_json(api: str):
    response = get(api, "/api/nothing")
    assert (response.status_code, response.json()) == (
        404,
        {"error": "/api/nothing: no such route"},
    )
    response = requests.post(f"{api}/api/flights", timeout=TIMEOUT)
    assert response.status_code == 405
    assert response.json() == {"error": "POST /api/flights: only GET"}
    assert "GET" in response.headers["allow"]
    assert requests.delete(f"{api}/api/sectors", timeout=TIMEOUT).status_code == 405


# --- controllers, sectors, status ----------------------------------------------------


def test_active_controllers(api: str):
    body = ok(api, "/api/controllers", limit=1000)
    assert body["total"] == len(active(latest_stations()))
    assert keys(body["items"]) == set(active(latest_stations()))
    atis = {r["callsign"] for r in raw(FILES[-1])["atis"]}
    assert {c["callsign"] for c in body["items"] if c["kind"] == "atis"} >= atis


def test_sectors_by_kind_and_staffing(api: str):
    firs = sorted(s.id for s in real_sectors() if s.kind == "fir")
    body = ok(api, "/api/sectors", kind="fir", limit=1000)
    rest = ok(api, "/api/sectors", kind="fir", limit=1000, offset=1000)
    assert body["total"] == len(firs)
    assert [s["id"] for s in body["items"] + rest["items"]] == firs
    by_id = {s["id"]: s for s in body["items"] + rest["items"]}
    assert by_id["ZUUU"]["staffed"] is True and by_id["ZUUU"]["staffed_by"] == ["ZUUU_CTR"]
    assert by_id["EGTT"]["staffed"] is False and by_id["EGTT"]["geometry"] is None
    shaped = ok(api, "/api/sectors", kind="tracon", limit=1, geometry="true")["items"][0]
    assert shaped["geometry"]["type"] == "MultiPolygon"
    response = get(api, "/api/sectors", kind="country")
    assert response.status_code == 400
    assert response.json() == {
        "error": "kind: must be one of fir, uir, tracon, custom, got 'country'"
    }
    assert get(api, "/api/sectors", geometry="maybe").json() == {
        "error": "geometry: not true or false: 'maybe'"
    }


def test_status_reports_health_and_the_newest_snapshot(api: str):
    body = ok(api, "/api/status")
    assert body["status"] == "degraded"
    assert body["database_connected"] is True
    assert datetime.fromisoformat(body["newest_snapshot"]) == NEWEST
    assert datetime.fromisoformat(body["snapshot"]["update_timestamp"]) == NEWEST
    assert body["snapshot"]["pilots"] == len(raw(FILES[-1])["pilots"])


def test_database_service_stats_keep_the_old_fields(api: str):
    body = ok(api, "/api/database/service/stats")
    assert set(body) == {
        "total_flights",
        "total_controllers",
        "total_sectors",
        "total_transceivers",
        "active_flights",
        "active_controllers",
        "recent_flights",
        "last_cleanup",
        "query_count",
        "avg_query_time",
    }
    assert body["total_flights"] == len(latest_pilots())
    assert body["total_sectors"] == len(real_sectors())
    assert body["active_controllers"] == len(active(latest_stations()))
    assert body["last_cleanup"] is None


def test_query_count_grows_by_one_per_request_under_concurrency(api: str):
    before = ok(api, "/api/database/service/stats")["query_count"]
    statuses: list[int] = []

    def fetch() -> None:
        statuses.append(get(api, "/api/flights", departure="EGLL").status_code)

    threads = [threading.Thread(target=fetch) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 12
    after = ok(api, "/api/database/service/stats")
    assert after["query_count"] == before + 1 + 12
    assert after["avg_query_time"] > 0


def test_database_service_health(api: str):
    body = ok(api, "/api/database/service/health")
    assert body["status"] == "degraded"
    assert body["database_connected"] is True
    assert body["flight_count"] == len(latest_pilots())
    assert body["controller_count"] == len(latest_stations())
    assert body["newest_snapshot_age_s"] > 0


def test_unreachable_database_is_503_and_unhealthy(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'vatsim.db'}")
    with serving(create_app(engine)) as base:
        response = get(base, "/api/flights")
        assert response.status_code == 503
        assert response.json()["error"].startswith("database unavailable: OperationalError")
        health = get(base, "/api/database/service/health")
        assert health.status_code == 503
        assert health.json()["status"] == "unhealthy"
        assert get(base, "/api/status").json()["snapshot"] is None
        assert get(base, "/api/openapi.json").status_code == 200


# --- OpenAPI and extra routes --------------------------------------------------------


def _served(app) -> set[tuple[str, str]]:
    return {
        (route.path, method.lower()) for route in app.routes for method in route.methods - {"HEAD"}
    }


def _documented(document: Mapping[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items() for method in item}


def test_openapi_documents_exactly_the_served_routes(api: str, tmp_path: Path):
    document = ok(api, "/api/openapi.json")
    assert document["openapi"] == "3.1.0"
    app = create_app(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    assert _documented(document) == _served(app)
    assert {path for path, _ in _served(app)} == {
        "/api/flights",
        "/api/flights/history",
        "/api/flights/{callsign}/track",
        "/api/flights/{callsign}/stats",
        "/api/controllers",
        "/api/sectors",
        "/api/sectors/{sector_id}/occupancy",
        "/api/status",
        "/api/database/service/stats",
        "/api/database/service/health",
        "/api/openapi.json",
    }
    flights = document["paths"]["/api/flights"]["get"]
    assert [p["name"] for p in flights["parameters"]] == [
        "departure",
        "arrival",
        "sector",
        "bbox",
        "limit",
        "offset",
    ]
    limit = next(p for p in flights["parameters"] if p["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "default": 100, "minimum": 1, "maximum": 1000}
    page = document["components"]["schemas"]["ActiveFlightPage"]
    assert page["required"] == ["items", "total", "limit", "offset"]
    track = document["paths"]["/api/flights/{callsign}/track"]["get"]
    assert track["parameters"][0]["in"] == "path" and "404" in track["responses"]


def test_extra_routes_are_served_and_documented(tmp_path: Path):
    calls: list[Mapping[str, Any]] = []

    def analytics(arguments: Mapping[str, Any]) -> dict[str, Any]:
        calls.append(arguments)
        return {"hours": arguments["hours"], "failures": 3}

    extra = ApiRoute(
        "/api/errors/analytics",
        analytics,
        "Failures by category",
        parameters=(
            ApiParameter("hours", "Look-back window.", type="integer", default=24, minimum=1),
        ),
        response={"type": "object"},
        tag="reports",
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    app = create_app(QueryService(engine), extra_routes=[extra])
    with serving(app) as base:
        assert ok(base, "/api/errors/analytics", hours=6) == {"hours": 6, "failures": 3}
        assert ok(base, "/api/errors/analytics")["hours"] == 24
        assert get(base, "/api/errors/analytics", hours=0).json() == {
            "error": "hours: must be 1 or more, got 0"
        }
        document = ok(base, "/api/openapi.json")
    assert _documented(document) == _served(app)
    operation = document["paths"]["/api/errors/analytics"]["get"]
    assert operation["tags"] == ["reports"]
    assert operation["parameters"][0]["schema"]["default"] == 24
    assert calls == [{"hours": 6}, {"hours": 24}]
    with pytest.raises(ValueError, match="routes served twice: /api/flights"):
        create_app(engine, extra_routes=[ApiRoute("/api/flights", analytics, "again")])
