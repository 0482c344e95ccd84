"""The dashboard page in a real browser (chromium under Playwright) against the API over
real HTTP, on every backend: what it draws is read from DOM attributes it sets
(`data-flights-drawn`, `data-track-points`, `data-points`), never from pixels."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, Page

from vatsim_pipeline.storage.reads_map import FLIGHT_COLUMNS
from vatsim_pipeline_tests.api import get, ok
from vatsim_pipeline_tests.backends import BACKENDS
from vatsim_pipeline_tests.dashboard.browser import chromium
from vatsim_pipeline_tests.dashboard.support import (
    TIMES,
    dashboard_site,
    map_database,
    materialize_patterns,
    pilots_at,
)

COLUMN = {name: i for i, name in enumerate(FLIGHT_COLUMNS)}
WAIT_MS = 15000


@pytest.fixture(scope="module", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("page")
    with map_database(request.param, folder) as url:
        materialize_patterns(url)
        with dashboard_site(url, folder) as base:
            yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


class Problems:
    """What the page must never do: log an error, throw, fail a request, or ask any
    host but the server for anything."""

    def __init__(self, page: Page, base: str) -> None:
        self.items: list[str] = []
        host = urlparse(base).netloc
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.items.append(f"page error: {error}"))
        page.on("requestfailed", lambda r: self.items.append(f"request failed: {r.url}"))
        page.on(
            "request",
            lambda r: (
                self.items.append(f"other host: {r.url}")
                if urlparse(r.url).netloc not in (host, "") and not r.url.startswith("data:")
                else None
            ),
        )

    def _console(self, message) -> None:
        if message.type == "error":
            self.items.append(f"console error: {message.text}")


def open_page(browser: Browser, base: str, fake_clock: bool = False) -> tuple[Page, Problems]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems = Problems(page, base)
    if fake_clock:
        page.clock.install()
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
    return page, problems


@pytest.fixture
def page(browser: Browser, site: str) -> Iterator[Page]:
    page, problems = open_page(browser, site)
    yield page
    page.close()
    assert problems.items == []


def busiest_sector(site: str) -> tuple[str, int]:
    """The sector holding the most flights now, the first in the map's row order among
    equals (as the page ranks them), and its count."""
    rows = ok(site, "/api/dashboard/map/flights")["rows"]
    counts = Counter(row[COLUMN["sector"]] for row in rows if row[COLUMN["sector"]])
    busiest = max(counts, key=counts.__getitem__)
    return busiest, counts[busiest]


def attribute(page: Page, selector: str, name: str) -> str | None:
    return page.get_attribute(selector, name)


def test_the_map_draws_every_active_flight_and_the_staffed_sectors(page: Page, site: str):
    flights = ok(site, "/api/flights", limit=1)
    assert int(attribute(page, "canvas.top", "data-flights-drawn")) == flights["total"]
    assert flights["total"] == len(pilots_at(TIMES[-1])) > 900
    sectors = ok(site, "/api/sectors", limit=1000)
    everything = sectors["items"] + ok(site, "/api/sectors", limit=1000, offset=1000)["items"]
    assert int(attribute(page, "canvas.top", "data-sectors-drawn")) == sectors["total"]
    staffed = sum(1 for sector in everything if sector["staffed"])
    assert int(attribute(page, "canvas.top", "data-staffed-sectors")) == staffed > 10
    assert datetime.fromisoformat(attribute(page, ".map-stage", "data-map-time")) == TIMES[-1]
    assert attribute(page, ".map-stage", "data-live") == "true"
    assert page.inner_text("#clock").endswith(TIMES[-1].strftime("%Y-%m-%d %H:%MZ"))
    # The busiest sectors list counts the flights located in each.
    first = page.locator("table.busiest tr").nth(1).locator("td")
    sector_id, count = first.nth(0).inner_text(), int(first.nth(1).inner_text())
    busiest, most = busiest_sector(site)
    assert count == most
    assert sector_id == busiest.removeprefix("TRACON:")


def _isolated_flight(site: str) -> list:
    """A flight seen in every file whose nearest neighbour on the map is farthest, so
    that a click on its symbol can only mean it."""
    rows = ok(site, "/api/dashboard/map/flights")["rows"]
    everywhere = {key[1] for key in pilots_at(TIMES[0])} & {key[1] for key in pilots_at(TIMES[-1])}

    def spacing(row: list) -> float:
        return min(
            math.dist((row[2], row[3]), (other[2], other[3])) for other in rows if other is not row
        )

    candidates = [row for row in rows if row[COLUMN["callsign"]] in everywhere]
    return max(candidates, key=spacing)


def test_clicking_a_flight_shows_its_track_and_profile(page: Page, site: str):
    flight = _isolated_flight(site)
    flight_id, callsign = flight[COLUMN["id"]], flight[COLUMN["callsign"]]
    track = ok(site, f"/api/flights/{flight_id}/track")["positions"]
    x, y = page.evaluate(f"window.dashboard.map.screenOf({flight_id})")
    box = page.locator("canvas.top").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_selector(f".side[data-flight='{flight_id}']", timeout=WAIT_MS)
    assert page.inner_text(".side h3") == callsign
    assert int(attribute(page, "canvas.top", "data-track-points")) == len(track) >= 4
    assert int(attribute(page, "canvas.chart.altitude", "data-points")) == len(track)
    assert int(attribute(page, "canvas.chart.groundspeed", "data-points")) == len(track)
    page.click(".side button.close")
    page.wait_for_selector(".side[data-flight='']", timeout=WAIT_MS)
    assert attribute(page, "canvas.top", "data-track-points") == "0"


def test_the_playback_slider_shows_the_flights_of_a_past_moment(page: Page):
    moment = TIMES[0] + timedelta(seconds=1)
    page.fill("input.slider", str(math.floor(moment.timestamp())))
    page.wait_for_selector(".map-stage[data-live=false]", timeout=WAIT_MS)
    assert datetime.fromisoformat(attribute(page, ".map-stage", "data-map-time")) == TIMES[0]
    assert int(attribute(page, "canvas.top", "data-flights-drawn")) == len(pilots_at(TIMES[0]))
    assert attribute(page, "#clock", "data-live") == "false"
    page.click("button.live")
    page.wait_for_selector(".map-stage[data-live=true]", timeout=WAIT_MS)
    assert int(attribute(page, "canvas.top", "data-flights-drawn")) == len(pilots_at(TIMES[-1]))


def test_the_page_refreshes_itself_every_feed_period(browser: Browser, site: str):
    page, problems = open_page(browser, site, fake_clock=True)
    assert attribute(page, "body", "data-refreshes") == "1"
    page.clock.run_for(14_000)
    assert attribute(page, "body", "data-refreshes") == "1"
    page.clock.run_for(1_500)
    page.wait_for_selector("body[data-refreshes='2']", timeout=WAIT_MS)
    assert int(attribute(page, "canvas.top", "data-flights-drawn")) == len(pilots_at(TIMES[-1]))
    page.close()
    assert problems.items == []


def test_every_chart_has_data(page: Page, site: str):
    flight = _isolated_flight(site)
    x, y = page.evaluate(f"window.dashboard.map.screenOf({flight[COLUMN['id']]})")
    box = page.locator("canvas.top").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_selector(".side canvas.chart[data-points]", timeout=WAIT_MS)
    charts = page.locator("canvas.chart")
    assert charts.count() >= 2
    for index in range(charts.count()):
        assert int(charts.nth(index).get_attribute("data-points")) > 0


def test_sector_load_shows_the_busiest_sector_with_its_forecast(page: Page, site: str):
    busiest, _ = busiest_sector(site)
    view = "#view-sector-load"
    assert attribute(page, view, "data-sector") == busiest
    forecast = ok(site, f"/api/forecast/sectors/{busiest}")
    traffic = ok(site, f"/api/traffic/sectors/{busiest}", since="6h", bucket="15m")
    assert len(forecast["items"]) > 0
    points = len(forecast["items"]) + len(traffic["items"])
    assert int(attribute(page, f"{view} canvas.chart", "data-points")) == points
    # Thresholds are the user's: at or under the forecast's highest, the state says so.
    highest = max(b["expected"] for b in forecast["items"])
    page.fill(f"{view} input.alert", str(math.ceil(highest) + 100))
    page.fill(f"{view} input.warning", str(math.floor(highest)))
    page.dispatch_event(f"{view} input.warning", "change")
    page.wait_for_selector(f"{view}[data-level=warning]", timeout=WAIT_MS)
    # A row of the map's busiest sectors picks that sector.
    second = page.locator("table.busiest tr[data-sector]").nth(1)
    chosen = second.get_attribute("data-sector")
    second.click()
    page.wait_for_selector(f"{view}[data-sector='{chosen}']", timeout=WAIT_MS)


def _half_hours(buckets: list[dict]) -> set[datetime]:
    starts = [datetime.fromisoformat(b["bucket_start"]) for b in buckets]
    return {t.replace(minute=t.minute // 30 * 30) for t in starts}


def test_the_airport_board_shows_the_busiest_airport_per_half_hour(page: Page, site: str):
    rows = ok(site, "/api/dashboard/map/flights")["rows"]
    filed = Counter(
        icao for row in rows for icao in (row[COLUMN["departure"]], row[COLUMN["arrival"]]) if icao
    )
    busiest = max(filed, key=filed.__getitem__)
    view = "#view-airport-board"
    assert attribute(page, view, "data-airport") == busiest
    traffic = ok(site, f"/api/traffic/airports/{busiest}", since="2h", bucket="15m")
    forecast = ok(site, f"/api/forecast/airports/{busiest}")
    past, ahead = _half_hours(traffic["items"]), _half_hours(forecast["departures"])
    assert len(ahead) == 4 and len(past) >= 4
    assert int(attribute(page, view, "data-rows")) == len(past) + len(ahead)
    assert page.locator(f"{view} tbody tr.forecast").count() == len(ahead)
    first = page.locator(f"{view} tbody tr.forecast").first.locator("td")
    expected = sum(
        b["expected"]
        for b in forecast["departures"]
        if datetime.fromisoformat(b["bucket_start"]) < min(ahead) + timedelta(minutes=30)
    )
    assert float(first.nth(1).inner_text()) == round(expected, 1)


def test_top_routes_for_today_and_a_preset(page: Page, site: str):
    view = "#view-top-routes"
    top = ok(site, "/api/routes/top", since=TIMES[-1].date().isoformat(), limit=1000)
    assert len(top["items"]) > 0
    assert attribute(page, view, "data-span") == "today"
    assert int(attribute(page, view, "data-routes")) == len(top["items"])
    first = top["items"][0]
    cells = page.locator(f"{view} table.pairs tbody tr").first.locator("td")
    assert cells.nth(0).inner_text() == f"{first['departure']} → {first['arrival']}"
    assert int(cells.nth(1).inner_text()) == first["flights"]
    page.click(f"{view} button[data-span='7d']")
    page.wait_for_selector(f"{view}[data-span='7d']", timeout=WAIT_MS)
    week = ok(site, "/api/routes/top", since="7d", limit=1000)
    assert int(attribute(page, view, "data-routes")) == len(week["items"])


def test_coverage_by_weekday_and_hour(page: Page, site: str):
    view = "#view-coverage"
    week = ok(site, "/api/dashboard/coverage", since="7d")
    sectors = ok(site, "/api/controllers/coverage", since="7d", limit=1000)["items"]
    flown = sum(s["flight_minutes"] for s in sectors)
    covered = sum(s["covered_flight_minutes"] for s in sectors)
    assert flown > 0
    # The recorded minutes all fall in one hour: Friday 12 UTC.
    day, hour = TIMES[-1].weekday(), TIMES[-1].hour
    cells = [(d, h) for d in range(7) for h in range(24) if week["share"][d][h] is not None]
    assert cells == [(day, hour)]
    assert week["share"][day][hour] == pytest.approx(covered / flown, abs=1e-4)
    assert week["flight_minutes"][day][hour] == pytest.approx(flown, abs=0.1)
    assert int(attribute(page, f"{view} canvas.chart", "data-points")) == 1
    missing = get(site, "/api/dashboard/coverage", sector="NOWHERE")
    assert (missing.status_code, missing.json()) == (404, {"error": "sector 'NOWHERE': not found"})


def test_active_anomalies_newest_first_and_a_click_shows_the_flight(page: Page, site: str):
    view = "#view-anomalies"
    active = ok(site, "/api/anomalies", active="true", limit=50)
    assert active["total"] > 0
    assert int(attribute(page, view, "data-anomalies")) == len(active["items"])
    rows = page.locator(f"{view} tbody tr")
    for index, anomaly in enumerate(active["items"]):
        cells = rows.nth(index).locator("td")
        assert cells.nth(1).inner_text() == anomaly["kind"].replace("_", " ")
        assert cells.nth(2).inner_text() == (anomaly["callsign"] or "\u2013")
    flight = next(a for a in active["items"] if a["flight_id"] is not None)
    page.click(f"{view} tbody tr[data-flight='{flight['flight_id']}']")
    page.wait_for_selector(f".side[data-flight='{flight['flight_id']}']", timeout=WAIT_MS)
    assert page.inner_text(".side h3") == flight["callsign"]
