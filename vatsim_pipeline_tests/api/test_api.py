"""The HTTP API over real HTTP (uvicorn on a free port, `requests` as the client),
against the five recorded snapshots and the real sectors on every backend; expected
values come from the raw JSON."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import pytest
import requests
import shapely
from fastapi import APIRouter, Query

from vatsim_pipeline.api import JsonResponse, create_app
from vatsim_pipeline.storage.engine import make_engine
from vatsim_pipeline.storage.reads import InvalidQuery, QueryService
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


NOT_A_BOX = "is not min_lat,min_lon,max_lat,max_lon in degrees (e.g. 35,-10,60,30)"

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
        ({"offset": "-1"}, "offset: must be between 0 and 1000000000, got -1"),
        ({"bbox": "1,2,3"}, f"bbox: '1,2,3' {NOT_A_BOX}"),
        ({"bbox": "95,0,96,10"}, f"bbox: '95,0,96,10' {NOT_A_BOX}"),
        ({"bbox": "a,b,c,d"}, f"bbox: 'a,b,c,d' {NOT_A_BOX}"),
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
    """The documented kind of route: GET routes of the API, not the docs page."""
    return {
        (route.path_format, method.lower())
        for route in app.state.api_routes
        if route.include_in_schema
        for method in route.methods
    }


def _documented(document: Mapping[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items() for method in item}


def test_openapi_documents_exactly_the_served_routes(api: str, tmp_path: Path):
    document = ok(api, "/api/openapi.json")
    assert document["openapi"].startswith("3.1")
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
    assert "422" not in flights["responses"]
    assert flights["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    page = document["components"]["schemas"]["ActiveFlightPage"]
    assert page["required"] == ["items", "total", "limit", "offset"]
    track = document["paths"]["/api/flights/{callsign}/track"]["get"]
    assert track["parameters"][0]["in"] == "path" and "404" in track["responses"]


def test_extra_routers_are_served_and_documented(tmp_path: Path):
    calls: list[int] = []
    router = APIRouter(prefix="/api/errors", tags=["reports"])

    @router.get("/analytics", summary="Failures by category", response_model=dict[str, int])
    def analytics(hours: Annotated[int, Query(ge=1, le=720)] = 24) -> JsonResponse:
        calls.append(hours)
        if hours == 13:
            raise InvalidQuery("hours", "unlucky")
        return JsonResponse({"hours": hours, "failures": 3})

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    app = create_app(QueryService(engine), [router])
    with serving(app) as base:
        assert ok(base, "/api/errors/analytics", hours=6) == {"hours": 6, "failures": 3}
        assert ok(base, "/api/errors/analytics")["hours"] == 24
        assert get(base, "/api/errors/analytics", hours=0).json() == {
            "error": "hours: must be between 1 and 720, got 0"
        }
        assert get(base, "/api/errors/analytics", hours=13).json() == {"error": "hours: unlucky"}
        assert get(base, "/api/errors/analytics", days=1).json() == {
            "error": "days: unknown parameter"
        }
        document = ok(base, "/api/openapi.json")
    assert _documented(document) == _served(app)
    operation = document["paths"]["/api/errors/analytics"]["get"]
    assert operation["tags"] == ["reports"]
    assert operation["parameters"][0]["schema"]["default"] == 24
    assert calls == [6, 24, 13]
    again = APIRouter()
    again.get("/api/flights")(analytics)
    with pytest.raises(ValueError, match="routes served twice: /api/flights"):
        create_app(engine, [again])


# --- what a fuzzer found: the document and the server agree -------------------------


def _schema_allows(document: Mapping[str, Any], path: str, name: str, value: str) -> bool:
    """Whether the OpenAPI schema of one parameter admits this text."""
    parameters = document["paths"][path]["get"]["parameters"]
    schema = next(p["schema"] for p in parameters if p["name"] == name)
    if schema["type"] == "integer":
        try:
            number = int(value)
        except ValueError:
            return False
        return schema["minimum"] <= number <= schema["maximum"]
    return re.search(schema["pattern"], value) is not None


@pytest.mark.parametrize(
    ("path", "documented", "name", "value", "status"),
    [
        # 500 (orjson: "Integer exceeds 64-bit range") before
        ("/api/flights", None, "offset", "163138945042181201881712212049920", 400),
        # 503 "database unavailable: bigint out of range" on PostgreSQL before
        ("/api/controllers", None, "offset", "2218894956047298952429568", 400),
        ("/api/flights/history", None, "since", "", 400),
        ("/api/flights/{callsign}/track", "/api/flights/ /track", "callsign", " ", 400),
        ("/api/flights", None, "bbox", "\uff11,2,3,4", 400),
        ("/api/flights", None, "bbox", "50,0,60,10", 200),
        ("/api/flights/history", None, "since", "99999999999d", 400),
        # 503 or a driver error before: an id no database integer can hold
        (
            "/api/flights/{callsign}/track",
            "/api/flights/99999999999999999999/track",
            "callsign",
            "99999999999999999999",
            404,
        ),
    ],
)
def test_the_server_takes_exactly_what_the_document_allows(
    api: str, path: str, documented: str | None, name: str, value: str, status: int
):
    document = ok(api, "/api/openapi.json")
    assert _schema_allows(document, path, name, value) is (status != 400)
    if documented is None:
        response = get(api, path, **{name: value})
    else:
        response = requests.get(api + documented, timeout=TIMEOUT)
    assert response.status_code == status, response.text
    if status >= 400:
        assert set(response.json()) == {"error"}
        assert response.json()["error"].startswith(
            f"{name}: " if status == 400 else "flight id 99999999999999999999"
        )


def test_unknown_sector_is_404_everywhere(api: str):
    """One rule for an unknown id: `sector=` answers as the sector's own route does."""
    response = get(api, "/api/flights", sector="NOWHERE")
    assert (response.status_code, response.json()) == (
        404,
        {"error": "sector 'NOWHERE': not found"},
    )
    assert get(api, "/api/sectors/NOWHERE/occupancy").status_code == 404
    assert ok(api, "/api/flights", sector="EGTT")["total"] > 0


def test_a_box_across_the_antimeridian_and_latitudes_in_either_order(api: str):
    west = ok(api, "/api/flights", bbox="-60,170,60,180", limit=1000)["total"]
    east = ok(api, "/api/flights", bbox="-60,-180,60,-170", limit=1000)["total"]
    across = ok(api, "/api/flights", bbox="-60,170,60,-170", limit=1000)["total"]
    assert across == west + east > 0
    assert (
        ok(api, "/api/flights", bbox="60,-10,35,30")["total"]
        == (ok(api, "/api/flights", bbox="35,-10,60,30")["total"])
    )


def test_tuples_are_documented_as_arrays_of_their_members(tmp_path: Path):
    router = APIRouter()

    @router.get("/api/pair", response_model=list[tuple[str, int | None]])
    def pair() -> JsonResponse:
        return JsonResponse([["a", 1]])

    app = create_app(make_engine(f"sqlite:///{tmp_path / 'x.db'}"), [router])
    schema = app.openapi()["paths"]["/api/pair"]["get"]["responses"]["200"]["content"]
    items = schema["application/json"]["schema"]["items"]
    assert "prefixItems" not in items
    assert (items["minItems"], items["maxItems"]) == (2, 2)
    assert items["items"] == {
        "anyOf": [{"type": "string"}, {"anyOf": [{"type": "integer"}, {"type": "null"}]}]
    }
