"""The dashboard's routes over real HTTP on every backend: the page and its files, the
map's data, compressed and cached, and the mistakes it refuses."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests

from vatsim_pipeline.dashboard.assets import load_assets
from vatsim_pipeline.dashboard.registry import VIEWS
from vatsim_pipeline_tests.api import TIMEOUT, get, ok
from vatsim_pipeline_tests.backends import BACKENDS
from vatsim_pipeline_tests.dashboard.support import TIMES, dashboard_site, map_database, pilots_at
from vatsim_pipeline_tests.dashboard.test_projection import points_of
from vatsim_pipeline_tests.storage.reads_support import real_sectors

LIVE_MAP_BUDGET = 300_000
"""Bytes on the wire per refresh of the live map (the issue's target)."""


@pytest.fixture(scope="module", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("routes")
    with map_database(request.param, folder) as url, dashboard_site(url, folder) as base:
        yield base


def wire_size(base: str, path: str, **params) -> tuple[int, requests.Response]:
    """Compressed bytes of a reply as the browser receives it."""
    response = requests.get(
        base + path,
        params=params,
        headers={"Accept-Encoding": "gzip"},
        stream=True,
        timeout=TIMEOUT,
    )
    raw = response.raw.read(decode_content=False)
    return len(raw), response


def test_the_page_lists_every_registered_view_and_its_files_are_served(site: str):
    response = get(site, "/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    listing = re.search(r'<script type="application/json" id="views">(.*?)</script>', response.text)
    assert listing is not None
    assert [view["id"] for view in json.loads(listing[1])] == [view.id for view in VIEWS]
    scripts = [str(view.listing()["script"]) for view in VIEWS]
    for path in ["/dashboard/app.js", "/dashboard/dashboard.css", *scripts]:
        served = get(site, path)
        assert served.status_code == 200, path
        assert served.content == load_assets()[path.removeprefix("/dashboard/")].body
    assert get(site, "/dashboard/app.js").headers["content-type"].startswith("text/javascript")


def test_the_page_needs_no_other_host():
    """Offline and self-contained: no file of the page names another host."""
    for name, asset in load_assets().items():
        if name.endswith((".js", ".css", ".html")):
            assert not re.search(rb"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", asset.body), name


def test_an_unknown_file_is_a_404_with_a_reason(site: str):
    response = get(site, "/dashboard/nothing.js")
    assert response.status_code == 404
    assert response.json() == {"error": "/dashboard/nothing.js: no such file"}


def test_the_live_map_costs_little_on_the_wire(site: str):
    flights_size, flights = wire_size(site, "/api/dashboard/map/flights")
    status_size, status = wire_size(site, "/api/dashboard/map/status")
    assert flights.headers["content-encoding"] == "gzip"
    assert status.headers.get("content-encoding") in (None, "gzip")
    assert flights_size + status_size < LIVE_MAP_BUDGET
    body = ok(site, "/api/dashboard/map/flights")
    assert len(body["rows"]) == len(pilots_at(TIMES[-1]))
    assert flights_size < len(json.dumps(body)) / 2


def test_an_unchanged_reply_is_a_304(site: str):
    first = get(site, "/api/dashboard/map/sectors")
    again = requests.get(
        site + "/api/dashboard/map/sectors",
        headers={"If-None-Match": first.headers["etag"]},
        timeout=TIMEOUT,
    )
    assert again.status_code == 304 and again.content == b""
    page = get(site, "/")
    assert (
        requests.get(site + "/", headers={"If-None-Match": page.headers["etag"]}, timeout=TIMEOUT)
    ).status_code == 304


def test_sectors_are_drawn_from_every_stored_boundary(site: str):
    shapes = ok(site, "/api/dashboard/map/sectors")
    stored = {sector.id: sector for sector in real_sectors()}
    assert sorted(shape[0] for shape in shapes) == sorted(stored)
    for sector_id, kind, name, path in shapes[::100]:
        assert (kind, name) == (stored[sector_id].kind, stored[sector_id].name)
        assert len(points_of(path)) >= 1


def test_status_gives_staffing_and_the_playback_range(site: str):
    now = ok(site, "/api/dashboard/map/status")
    assert datetime.fromisoformat(now["at"]) == TIMES[-1]
    assert datetime.fromisoformat(now["oldest"]) == TIMES[0]
    assert datetime.fromisoformat(now["newest"]) == TIMES[-1]
    assert now["snapshots"] == len(TIMES)
    staffed = {
        s["id"]: s["staffed_by"]
        for offset in (0, 1000)
        for s in ok(site, "/api/sectors", limit=1000, offset=offset)["items"]
        if s["staffed"]
    }
    assert now["staffed"] == staffed
    past = ok(site, "/api/dashboard/map/status", at=(TIMES[0] - timedelta(hours=1)).isoformat())
    assert past["staffed"] == {}


def test_a_past_moment_over_http(site: str):
    body = ok(site, "/api/dashboard/map/flights", at="2024-11-22T12:48:41Z")
    assert datetime.fromisoformat(body["at"]) == TIMES[0]
    assert body["live"] is False
    assert len(body["rows"]) == len(pilots_at(TIMES[0]))


def test_a_moment_may_be_a_duration_back_from_the_newest_update(site: str):
    body = ok(site, "/api/dashboard/map/flights", at="1m")
    # 12:50:25 less a minute is 12:49:25: the update shown is the one of 12:48:40.
    assert datetime.fromisoformat(body["at"]) == TIMES[0]
    assert len(body["rows"]) == len(pilots_at(TIMES[0]))


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01T00:00:00Z", "12:00"])
def test_a_bad_moment_is_refused_with_a_reason(site: str, value: str):
    response = get(site, "/api/dashboard/map/flights", at=value)
    assert response.status_code == 400
    assert response.json()["error"].startswith("at: ")
