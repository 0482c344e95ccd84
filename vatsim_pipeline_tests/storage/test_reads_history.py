"""The window queries of the query service (flights by airport and time, sector occupancy
by time) on a constructed history, on every backend; expectations come from the overlap
rule in `history_support`. Also: the track query bounded by the flight's own sighting
still returns every position, a late older snapshot's included."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from vatsim_pipeline.feed.parse import parse_data_feed
from vatsim_pipeline.storage.engine import make_engine
from vatsim_pipeline.storage.reads import InvalidQuery, NotFound, QueryService
from vatsim_pipeline.storage.writes import write_snapshot
from vatsim_pipeline_tests.backends import BACKENDS
from vatsim_pipeline_tests.shared_data import sequence_files
from vatsim_pipeline_tests.storage.history_support import (
    FLIGHTS,
    NOW,
    VISITS,
    at,
    expected_flights,
    expected_visits,
    history_database,
)
from vatsim_pipeline_tests.storage.support import raw, update_timestamp


@pytest.fixture(scope="module", params=BACKENDS)
def service(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[QueryService]:
    with history_database(request.param, tmp_path_factory.mktemp("history")) as url:
        engine = make_engine(url)
        yield QueryService(engine)
        engine.dispose()


def flight_ids(service: QueryService, **arguments) -> list[int]:
    return [f.id for f in service.get_flight_history(**arguments).items]


def visit_ids(service: QueryService, sector: str, **arguments) -> list[int]:
    """Visits as the ids of VISITS, found by flight and entry time."""
    by_key = {(v.flight_id, v.entered_at): v.id for v in VISITS}
    page = service.get_sector_occupancy(sector, **arguments)
    return [by_key[(v.flight_id, v.entered_at)] for v in page.items]


# --- flights by airport and time -----------------------------------------------------


@pytest.mark.parametrize(
    ("since", "until", "departure", "arrival"),
    [
        (at(10), at(11), None, None),
        (at(10), at(11), "EGLL", None),
        (at(0), NOW, None, "EGLL"),
        (at(0), NOW, "EGLL", "KJFK"),
        (at(9, 30), at(9, 30), None, None),  # touches GABCD's last sighting only
        (at(5), at(6), None, None),  # both ends inclusive: BAW112 ends, BAW117 starts
        (at(0, days_before=3), at(23, days_before=2), "EGLL", None),
        (at(13), at(14), None, None),  # after the newest snapshot: nothing
    ],
)
def test_flights_in_a_window_are_those_whose_session_overlaps_it(
    service: QueryService,
    since: datetime,
    until: datetime,
    departure: str | None,
    arrival: str | None,
):
    if since == until:
        until = until + timedelta(microseconds=1)
    page = service.get_flight_history(
        departure=departure, arrival=arrival, since=since, until=until
    )
    expected = expected_flights(since, until, departure, arrival)
    assert [f.id for f in page.items] == expected
    assert (page.total, page.since, page.until) == (len(expected), since, until)


def test_flight_rows_carry_the_session(service: QueryService):
    (flight,) = service.get_flight_history(departure="egll ", arrival="edDF").items
    assert (flight.id, flight.callsign, flight.departure, flight.arrival) == (
        2,
        "DLH905",
        "EGLL",
        "EDDF",
    )
    assert (flight.first_seen, flight.last_seen, flight.status, flight.ended_at) == (
        at(10, 30),
        NOW,
        "active",
        None,
    )
    assert flight.logon_time == at(10, 25)


def test_default_window_is_the_day_before_the_newest_snapshot(service: QueryService):
    page = service.get_flight_history()
    assert (page.since, page.until) == (NOW - timedelta(hours=24), NOW)
    assert [f.id for f in page.items] == expected_flights(NOW - timedelta(hours=24), NOW)
    assert 6 not in [f.id for f in page.items]


def test_durations_count_back_from_the_newest_snapshot(service: QueryService):
    page = service.get_flight_history(since="3h", until="90m")
    assert (page.since, page.until) == (at(9), at(10, 30))
    assert [f.id for f in page.items] == expected_flights(at(9), at(10, 30)) == [2, 5, 1]
    iso = service.get_flight_history(since="2024-11-22T09:00:00", until="2024-11-22T11:30+01:00")
    assert (iso.since, iso.until) == (at(9), at(10, 30))


def test_a_window_that_ends_before_it_starts_holds_nothing(service: QueryService):
    """Not a mistake (no schema can say "since before until"): an empty answer."""
    flights = service.get_flight_history(since=at(11), until=at(10))
    visits = service.get_sector_occupancy("EGTT", since=at(11), until=at(10))
    for page in (flights, visits):
        assert (page.items, page.total, page.since, page.until) == ([], 0, at(11), at(10))
    instant = service.get_flight_history(since="0h", until="0h")
    assert instant.since == instant.until == NOW
    assert instant.total == len(expected_flights(NOW, NOW)) > 0


def test_flight_pages_are_disjoint_and_cover_the_total(service: QueryService):
    since, until = at(0, days_before=3), NOW
    pages = [
        service.get_flight_history(since=since, until=until, limit=3, offset=o) for o in (0, 3, 6)
    ]
    assert {p.total for p in pages} == {len(FLIGHTS)}
    assert [f.id for p in pages for f in p.items] == expected_flights(since, until)
    assert [len(p.items) for p in pages] == [3, 3, 1]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"since": "yesterday"}, "since: 'yesterday' is neither a duration"),
        ({"until": "99999999999d"}, "until: '99999999999d' is too long a duration"),
        ({"since": "2024-13-01"}, "since: '2024-13-01' is neither a duration"),
        ({"since": "2023-02-29"}, "since: '2023-02-29' is neither a duration"),
        ({"limit": 0}, "limit: must be between 1 and 1000, got 0"),
        ({"offset": -1}, "offset: must be between 0 and 1000000000, got -1"),
    ],
)
def test_bad_window_arguments_name_the_parameter(
    service: QueryService, arguments: dict, message: str
):
    with pytest.raises(InvalidQuery, match=message):
        service.get_flight_history(**arguments)
    with pytest.raises(InvalidQuery, match=message):
        service.get_sector_occupancy("EGTT", **arguments)


# --- sector occupancy by time --------------------------------------------------------


@pytest.mark.parametrize(
    ("sector", "since", "until"),
    [
        ("EGTT", at(11), at(11, 20)),
        ("EGTT", at(11, 41), NOW),  # only the two flights still inside
        ("EGTT", at(0), NOW),
        ("EGTT", at(6, 40), at(6, 40)),  # BAW117's exit instant
        ("EGTT", at(0, days_before=2), at(12, days_before=2)),
        ("EHAA", at(11), at(11, 5)),  # entered later: nothing
        ("EGTT", at(12, 30), at(13)),  # after the newest snapshot: open visits end at NOW
    ],
)
def test_occupancy_in_a_window_is_the_visits_overlapping_it(
    service: QueryService, sector: str, since: datetime, until: datetime
):
    if since == until:
        until = until + timedelta(microseconds=1)
    expected = expected_visits(sector, since, until)
    assert visit_ids(service, sector, since=since, until=until) == expected
    assert service.get_sector_occupancy(sector, since=since, until=until).total == len(expected)


def test_visit_rows_carry_the_flight_and_the_crossing(service: QueryService):
    page = service.get_sector_occupancy("EGTT", since=at(11), until=at(11, 20))
    assert [(v.callsign, v.entered_at, v.exited_at) for v in page.items] == [
        ("AFR1081", at(11, 20), at(11, 40)),
        ("DLH905", at(10, 35), at(11, 10)),
    ]
    latest = page.items[1]
    assert (latest.flight_id, latest.cid, latest.departure, latest.arrival) == (
        2,
        1_000_002,
        "EGLL",
        "EDDF",
    )
    assert (latest.entry_lat, latest.entry_lon, latest.entry_altitude) == (51.3, -1.0, 3000)
    assert (latest.exit_lat, latest.exit_lon, latest.exit_altitude) == (52.0, 1.0, 35000)
    (inside, _) = service.get_sector_occupancy("EGTT", since=at(11, 58), until=NOW).items
    assert (inside.callsign, inside.exited_at, inside.exit_altitude) == ("DLH904", None, None)


def test_occupancy_pages_are_disjoint_and_cover_the_total(service: QueryService):
    since, until = at(0, days_before=3), NOW
    everything = expected_visits("EGTT", since, until)
    seen = [
        visit_ids(service, "EGTT", since=since, until=until, limit=2, offset=o)
        for o in range(0, len(everything), 2)
    ]
    assert [v for page in seen for v in page] == everything
    assert len(everything) == 7


def test_a_stored_sector_never_visited_is_empty_and_an_unknown_one_not_found(
    service: QueryService,
):
    page = service.get_sector_occupancy("EDGG", since=at(0), until=NOW)
    assert (page.items, page.total) == ([], 0)
    with pytest.raises(NotFound, match="sector 'EGXX': not found"):
        service.get_sector_occupancy("EGXX")


# --- the track, bounded by the flight's own sighting ---------------------------------


def test_track_keeps_every_position_of_a_late_older_snapshot(engine: Engine, tmp_path: Path):
    """The newest file first, then an older one: the older position moves `first_seen`
    back, so the bounded track still holds it."""
    files = sequence_files()
    for path in (files[-1], files[0], files[2]):
        write_snapshot(engine, parse_data_feed(path.read_bytes()))
    written = [files[0], files[2], files[-1]]
    callsign = "QFA63"
    expected = [
        (update_timestamp(path), pilot["latitude"], pilot["longitude"])
        for path in written
        for pilot in raw(path)["pilots"]
        if pilot["callsign"] == callsign
    ]
    track = QueryService(engine).get_flight_track(callsign)
    assert [(p.observed_at, p.lat, p.lon) for p in track.positions] == expected
    assert len(expected) == 3
    stats = QueryService(engine).get_flight_stats(track.flight.id)
    assert (stats.first_seen, stats.last_seen) == (expected[0][0], expected[-1][0])
    assert stats.position_count == 3
