"""The airport pattern queries on the constructed history, on every backend: zero-filled
series, hours summed from quarters, filters, and the windows refused with a reason."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from vatsim_pipeline.storage.engine import make_engine
from vatsim_pipeline.storage.reads_airports import AirportQueries, retention_limit
from vatsim_pipeline.storage.reads_base import InvalidQuery, NotFound
from vatsim_pipeline_tests.backends import BACKENDS
from vatsim_pipeline_tests.storage.airport_patterns_support import airport_database
from vatsim_pipeline_tests.storage.history_support import NOW, at


@pytest.fixture(scope="module", params=BACKENDS)
def queries(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[AirportQueries]:
    with airport_database(request.param, tmp_path_factory.mktemp("airports")) as url:
        engine = make_engine(url)
        yield AirportQueries(engine, timedelta(days=30))
        engine.dispose()


def test_traffic_per_quarter_hour_lists_every_bucket(queries: AirportQueries) -> None:
    series = queries.traffic("egll", since=at(4).isoformat(), until=at(12).isoformat())
    assert (series.airport, series.bucket, series.since, series.until) == (
        "EGLL",
        "15m",
        at(4),
        NOW,
    )
    assert len(series.items) == 32 and series.items[0].bucket_start == at(4)
    busy = {
        b.bucket_start: (b.departures, b.arrivals)
        for b in series.items
        if b.departures or b.arrivals
    }
    assert busy == {at(4, 45): (0, 1), at(6): (1, 0), at(10, 30): (1, 0), at(11, 30): (0, 1)}
    assert (series.departures, series.arrivals) == (2, 2)


def test_traffic_per_hour_sums_the_quarters(queries: AirportQueries) -> None:
    series = queries.traffic("EGLL", since="8h", bucket="1h")
    assert [b.bucket_start for b in series.items] == [at(h) for h in range(4, 12)]
    assert [(b.departures, b.arrivals) for b in series.items] == [
        (0, 1),
        (0, 0),
        (1, 0),
        (0, 0),
        (0, 0),
        (0, 0),
        (1, 0),
        (0, 1),
    ]


def test_an_hour_without_data_is_an_empty_series(queries: AirportQueries) -> None:
    series = queries.traffic("KJFK", since=at(7).isoformat(), until=at(8).isoformat())
    assert [(b.departures, b.arrivals) for b in series.items] == [(0, 0)] * 4


def test_bad_windows_airports_and_buckets_are_refused(queries: AirportQueries) -> None:
    with pytest.raises(NotFound, match="airport 'ZZZZ': not found"):
        queries.traffic("ZZZZ")
    with pytest.raises(InvalidQuery, match="since: must be before until"):
        queries.traffic("EGLL", since="1h", until="2h")
    with pytest.raises(InvalidQuery, match="longer than the retention of 30 days"):
        queries.traffic("EGLL", since="31d")
    with pytest.raises(InvalidQuery, match="bucket: must be 15m or 1h, got '5m'"):
        queries.traffic("EGLL", bucket="5m")
    with pytest.raises(InvalidQuery, match="kind: must be departure or arrival"):
        queries.movements(kind="landing")
    with pytest.raises(InvalidQuery, match="limit: must be between 1 and 1000"):
        queries.routes(limit=0)


def test_movements_filtered_by_airport_and_kind_newest_first(queries: AirportQueries) -> None:
    page = queries.movements(airport="EGLL", kind="arrival")
    assert [(m.flight_id, m.moved_at) for m in page.items] == [(7, at(11, 35)), (3, at(4, 50))]
    assert page.items[0].callsign == "AFR1081" and page.items[0].departure == "LFPG"
    everything = queries.movements(limit=2, offset=1)
    assert everything.total == 6  # the one two days old lies outside the 24 hours
    assert [(m.flight_id, m.kind) for m in everything.items] == [(7, "arrival"), (7, "departure")]
    with pytest.raises(NotFound):
        queries.movements(airport="XXXX")


def test_top_routes_count_takeoffs_by_filed_city_pair(queries: AirportQueries) -> None:
    day = queries.routes()
    assert [(r.departure, r.arrival, r.flights) for r in day.items] == [
        ("EDDF", "EGLL", 1),
        ("EGLL", "EDDF", 1),
        ("EGLL", "KJFK", 1),
        ("LFPG", "EGLL", 1),
    ]
    three_days = queries.routes(since="3d", limit=1)
    assert [(r.departure, r.arrival, r.flights) for r in three_days.items] == [("EGLL", "KJFK", 2)]


def test_the_retention_limit_follows_the_setting() -> None:
    assert retention_limit({}) == timedelta(days=30)
    assert retention_limit({"VATSIM_TABLE_RETENTION_DAYS": "7"}) == timedelta(days=7)
    assert retention_limit({"VATSIM_TABLE_RETENTION_DAYS": "keep"}) is None
