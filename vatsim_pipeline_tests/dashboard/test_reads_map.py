"""The map reads (`storage/reads_map.py`) on every backend, against the raw JSON."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import shapely
from sqlalchemy import Engine, select

from vatsim_pipeline.storage.assignment_runs import assignment_snapshots
from vatsim_pipeline.storage.engine import make_engine
from vatsim_pipeline.storage.reads import ACTIVITY_WINDOW, QueryService
from vatsim_pipeline.storage.reads_map import (
    FLIGHT_COLUMNS,
    MapReads,
    flights_at,
    sector_shapes,
)
from vatsim_pipeline_tests.backends import BACKENDS
from vatsim_pipeline_tests.dashboard.support import TIMES, map_database, pilots_at
from vatsim_pipeline_tests.storage.reads_support import real_sectors

COLUMN = {name: i for i, name in enumerate(FLIGHT_COLUMNS)}


@pytest.fixture(scope="module", params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Engine]:
    with map_database(request.param, tmp_path_factory.mktemp("map")) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture(scope="module")
def reads(engine: Engine) -> MapReads:
    return MapReads(engine, ACTIVITY_WINDOW)


def test_now_is_every_active_flight_of_the_api(engine: Engine, reads: MapReads):
    shown = reads.flights(None)
    api = QueryService(engine).get_active_flights(limit=1000)
    assert shown.live is True
    assert shown.at == TIMES[-1]
    assert shown.columns == FLIGHT_COLUMNS
    assert [row[COLUMN["id"]] for row in shown.rows] == [f.id for f in api.items]
    assert len(shown.rows) == api.total == len(pilots_at(TIMES[-1]))
    first = api.items[0]
    row = shown.rows[0]
    assert (row[COLUMN["lat"]], row[COLUMN["lon"]]) == (round(first.lat, 4), round(first.lon, 4))
    assert row[COLUMN["altitude"]] == first.altitude
    assert row[COLUMN["heading"]] == first.heading


@pytest.mark.parametrize("index", [0, 2])
def test_a_past_moment_shows_the_flights_of_that_time(reads: MapReads, index: int):
    # A second after the update: the moment resolves to that stored update.
    shown = reads.flights(TIMES[index] + timedelta(seconds=1))
    expected = pilots_at(TIMES[index])
    assert shown.live is False
    assert shown.at == TIMES[index]
    # The same callsign may be flown by two connections in the window: compare all.
    assert sorted(
        (
            row[COLUMN["callsign"]],
            row[COLUMN["lat"]],
            row[COLUMN["lon"]],
            row[COLUMN["altitude"]],
            row[COLUMN["groundspeed"]],
        )
        for row in shown.rows
    ) == sorted(
        (
            r["callsign"],
            round(r["latitude"], 4),
            round(r["longitude"], 4),
            r["altitude"],
            r["groundspeed"],
        )
        for r in expected.values()
    )
    assert len(shown.rows) > 900


def test_before_the_first_update_nothing_is_shown(reads: MapReads):
    shown = reads.flights(TIMES[0] - timedelta(minutes=5))
    assert (shown.rows, shown.live, shown.at) == ([], False, TIMES[0] - timedelta(minutes=5))


def test_every_row_names_the_sector_its_position_was_located_in(engine: Engine):
    assigned = assignment_snapshots
    with engine.connect() as connection:
        shown = flights_at(connection, TIMES[1], ACTIVITY_WINDOW)
        located = dict(
            connection.execute(
                select(assigned.c.flight_id, assigned.c.sector_id).where(
                    assigned.c.observed_at == TIMES[1]
                )
            ).all()
        )
    in_second_file = [row for row in shown.rows if row[COLUMN["id"]] in located]
    assert len(in_second_file) > 500
    for row in in_second_file:
        assert row[COLUMN["sector"]] == located[row[COLUMN["id"]]]
    assert sum(1 for row in shown.rows if row[COLUMN["sector"]]) > 500


def test_staffing_now_matches_the_sectors_of_the_api(engine: Engine, reads: MapReads):
    staffing, span, tag = reads.status(None)
    api = QueryService(engine).get_sectors(limit=1000, offset=0)
    expected = {s.id: s.staffed_by for s in api.items if s.staffed}
    for offset in range(1000, api.total, 1000):
        page = QueryService(engine).get_sectors(limit=1000, offset=offset)
        expected |= {s.id: s.staffed_by for s in page.items if s.staffed}
    assert staffing.staffed == expected and len(expected) > 10
    assert (span.oldest, span.newest, span.snapshots) == (TIMES[0], TIMES[-1], 5)
    assert tag.startswith(f"{len(real_sectors())}-")


def test_staffing_in_the_past_counts_the_controllers_online_then(reads: MapReads):
    before = reads.status(TIMES[0] - timedelta(minutes=5))[0]
    assert before.staffed == {}
    then = reads.status(TIMES[0] + timedelta(seconds=1))[0]
    assert then.at == TIMES[0]
    assert len(then.staffed) > 10


def test_shapes_are_every_sector_simplified_within_tolerance(engine: Engine):
    with engine.connect() as connection:
        shapes = sector_shapes(connection)
    stored = {sector.id: sector for sector in real_sectors()}
    assert sorted(shape[0] for shape in shapes) == sorted(stored)
    points = sum(len(ring) // 2 for shape in shapes for ring in shape[3])
    originals = sum(
        len(polygon.exterior.coords)  # type: ignore[union-attr]
        for sector in stored.values()
        for polygon in getattr(sector.geometry, "geoms", [sector.geometry])
    )
    assert points < 0.6 * originals
    for sector_id, kind, _, rings in shapes[::50]:
        assert kind == stored[sector_id].kind
        drawn = shapely.MultiLineString([list(zip(r[::2], r[1::2], strict=True)) for r in rings])
        geometry = stored[sector_id].geometry
        exteriors = shapely.MultiLineString(
            [polygon.exterior for polygon in getattr(geometry, "geoms", [geometry])]
        )
        assert drawn.hausdorff_distance(exteriors) < 0.05
