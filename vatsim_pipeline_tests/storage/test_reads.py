"""The query service against the five recorded snapshots and the real sectors, on every
backend; every expected value is computed from the raw JSON or the sector files."""

from __future__ import annotations

import itertools
import json
import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import shapely
from sqlalchemy import Engine, select, update

from vatsim_pipeline.feed.parse import parse_data_feed
from vatsim_pipeline.storage.engine import make_engine
from vatsim_pipeline.storage.reads import BBox, InvalidQuery, NotFound, QueryService, parse_bbox
from vatsim_pipeline.storage.schema import flights
from vatsim_pipeline.storage.writes import write_snapshot
from vatsim_pipeline_tests.backends import BACKENDS
from vatsim_pipeline_tests.storage.reads_support import (
    FILES,
    NEWEST,
    active,
    callsign_in_files,
    latest_pilots,
    latest_stations,
    plan,
    real_sectors,
    recorded_database,
    track_of,
)
from vatsim_pipeline_tests.storage.support import iso, raw, update_timestamp

EUROPE = (35.0, -10.0, 60.0, 30.0)


@pytest.fixture(scope="module", params=BACKENDS)
def recorded(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Engine]:
    with recorded_database(request.param, tmp_path_factory.mktemp("reads")) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def service(recorded: Engine) -> QueryService:
    return QueryService(recorded)


def _nm(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance by the spherical law of cosines, in nautical miles."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    cosine = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return math.acos(max(-1.0, min(1.0, cosine))) * 6371.0088 / 1.852


def _payload_copy(source: Path, folder: Path, name: str, change) -> Path:
    """A changed copy of a recorded payload, written to the test's own folder."""
    document = json.loads(source.read_bytes())
    change(document)
    target = folder / name
    target.write_text(json.dumps(document))
    return target


# --- tracks ------------------------------------------------------------------------


@pytest.mark.parametrize("files", [5, 3])
def test_track_has_one_position_per_file_listing_the_callsign(service: QueryService, files: int):
    callsign = "QFA63" if files == 5 else callsign_in_files(files)
    expected = track_of(callsign)
    track = service.get_flight_track(callsign)
    assert len(expected) == files
    assert [(p.observed_at, p.lat, p.lon) for p in track.positions] == expected
    record = raw(FILES[-1])["pilots"]
    newest = next((p for p in record if p["callsign"] == callsign), None)
    if newest is not None:
        assert track.flight.cid == newest["cid"]
        assert track.flight.departure == plan(newest).get("departure")
        assert track.flight.arrival == plan(newest).get("arrival")
    assert track.flight.callsign == callsign
    assert track.flight.status == "active"


def test_track_by_id_equals_track_by_callsign(service: QueryService):
    by_callsign = service.get_flight_track("qfa63 ")
    assert service.get_flight_track(by_callsign.flight.id) == by_callsign


def test_recorded_reconnection_answers_the_latest_connection(service: QueryService):
    # TVE27M reconnected between the first and the second file of the sequence.
    track = service.get_flight_track("TVE27M")
    assert track.flight.logon_time == iso("2024-11-22T12:49:22.7546013Z")
    assert [p.observed_at for p in track.positions] == [update_timestamp(p) for p in FILES[1:]]


def test_constructed_second_flight_of_a_callsign_is_the_answer(engine: Engine, tmp_path: Path):
    later = "2024-11-22T12:50:30.0000000Z"

    def reconnect(document: dict) -> None:
        document["general"]["update_timestamp"] = "2024-11-22T12:50:40.1161379Z"
        pilot = next(p for p in document["pilots"] if p["callsign"] == "QFA63")
        pilot["logon_time"] = later
        pilot["latitude"], pilot["longitude"] = -37.5, 35.5

    copy = _payload_copy(FILES[-1], tmp_path, "reconnected.json", reconnect)
    for path in (copy, FILES[-1]):  # the newer connection first: order must not matter
        write_snapshot(engine, parse_data_feed(path.read_bytes()))
    service = QueryService(engine)
    track = service.get_flight_track("QFA63")
    assert track.flight.logon_time == iso(later)
    assert [(p.lat, p.lon) for p in track.positions] == [(-37.5, 35.5)]
    with engine.connect() as connection:
        ids = connection.execute(select(flights.c.id).where(flights.c.callsign == "QFA63")).all()
    (earlier_id,) = {row.id for row in ids} - {track.flight.id}
    earlier = service.get_flight_track(earlier_id)
    record = next(p for p in raw(FILES[-1])["pilots"] if p["callsign"] == "QFA63")
    assert earlier.flight.logon_time == iso(record["logon_time"])
    assert [(p.lat, p.lon) for p in earlier.positions] == [
        (record["latitude"], record["longitude"])
    ]


def test_unknown_flight_is_not_found(service: QueryService):
    with pytest.raises(NotFound, match="'NOPE123': no flight recorded"):
        service.get_flight_track("NOPE123")
    with pytest.raises(NotFound, match="flight id 999999: not found"):
        service.get_flight_stats(999_999)


# --- statistics ----------------------------------------------------------------------


def test_flight_stats_from_the_raw_positions(service: QueryService):
    records = [
        (update_timestamp(path), pilot)
        for path in FILES
        for pilot in raw(path)["pilots"]
        if pilot["callsign"] == "QFA63"
    ]
    distance = sum(
        _nm(a["latitude"], a["longitude"], b["latitude"], b["longitude"])
        for (_, a), (_, b) in itertools.pairwise(records)
    )
    stats = service.get_flight_stats("QFA63")
    assert stats.position_count == 5
    assert stats.distance_nm == pytest.approx(distance, abs=0.001)
    assert stats.distance_nm > 10
    assert stats.duration_s == (records[-1][0] - records[0][0]).total_seconds()
    assert stats.max_altitude == max(p["altitude"] for _, p in records)
    assert stats.max_groundspeed == max(p["groundspeed"] for _, p in records)
    speeds = [p["groundspeed"] for _, p in records]
    assert stats.avg_groundspeed == pytest.approx(sum(speeds) / len(speeds), abs=0.05)
    assert stats.first_position.observed_at == records[0][0]
    assert (stats.last_position.lat, stats.last_position.lon) == (
        records[-1][1]["latitude"],
        records[-1][1]["longitude"],
    )


# --- active flights ------------------------------------------------------------------


def test_active_flights_are_those_seen_in_the_activity_window(service: QueryService):
    expected = active(latest_pilots())
    page = service.get_active_flights(limit=1000)
    assert page.total == len(expected) == len(latest_pilots())
    assert {(f.cid, f.callsign, f.logon_time) for f in page.items} == set(expected)


def test_a_short_window_leaves_exactly_the_pilots_of_the_last_file(recorded: Engine):
    short = QueryService(recorded, activity_window=timedelta(seconds=5))
    page = short.get_active_flights(limit=1000)
    newest = raw(FILES[-1])["pilots"]
    assert page.total == len(newest)
    assert {f.callsign for f in page.items} == {p["callsign"] for p in newest}
    flight = next(f for f in page.items if f.callsign == "QFA63")
    record = next(p for p in newest if p["callsign"] == "QFA63")
    assert (flight.lat, flight.lon, flight.altitude) == (
        record["latitude"],
        record["longitude"],
        record["altitude"],
    )
    assert flight.last_seen == NEWEST


@pytest.mark.parametrize("airport", ["EGLL", "OMDB"])
def test_departure_and_arrival_filters_match_raw_counts(service: QueryService, airport: str):
    pilots = active(latest_pilots()).values()
    departing = sum(1 for s in pilots if plan(s.record).get("departure") == airport)
    arriving = sum(1 for s in pilots if plan(s.record).get("arrival") == airport)
    assert departing > 0 and arriving > 0
    assert service.get_active_flights(departure=airport.lower()).total == departing
    assert service.get_active_flights(arrival=airport).total == arriving
    both = service.get_active_flights(departure=airport, arrival="NONE")
    assert both.total == 0


def test_bbox_filter_matches_raw_count(service: QueryService):
    min_lat, min_lon, max_lat, max_lon = EUROPE
    inside = {
        key
        for key, s in active(latest_pilots()).items()
        if min_lat <= s.record["latitude"] <= max_lat
        and min_lon <= s.record["longitude"] <= max_lon
    }
    page = service.get_active_flights(bbox=EUROPE, limit=1000)
    assert 0 < page.total == len(inside) < len(latest_pilots())
    assert {(f.cid, f.callsign, f.logon_time) for f in page.items} == inside
    assert service.get_active_flights(bbox=parse_bbox("35,-10,60,30")).total == page.total


@pytest.mark.parametrize("sector_id", ["EGTT", "OMAE", "KZNY:OCEANIC"])
def test_sector_filter_matches_the_boundary(service: QueryService, sector_id: str):
    boundary = next(s for s in real_sectors() if s.id == sector_id).geometry
    inside = {
        key
        for key, s in active(latest_pilots()).items()
        if boundary.covers(shapely.Point(s.record["longitude"], s.record["latitude"]))
    }
    page = service.get_active_flights(sector=sector_id, limit=1000)
    assert page.total == len(inside)
    assert {(f.cid, f.callsign, f.logon_time) for f in page.items} == inside
    if sector_id != "KZNY:OCEANIC":
        assert page.total > 0


def test_unknown_sector_is_not_found(service: QueryService):
    with pytest.raises(NotFound, match="sector 'NOWHERE': not found"):
        service.get_active_flights(sector="NOWHERE")


def test_pages_are_disjoint_and_cover_the_total(service: QueryService):
    total = service.get_active_flights(limit=1).total
    seen: list[int] = []
    for offset in range(0, total, 300):
        page = service.get_active_flights(limit=300, offset=offset)
        assert page.total == total
        seen += [f.id for f in page.items]
    assert len(seen) == len(set(seen)) == total
    sector_pages = [service.get_active_flights(sector="EGTT", limit=7, offset=o) for o in (0, 7)]
    ids = [f.id for p in sector_pages for f in p.items]
    assert len(ids) == len(set(ids)) == min(14, sector_pages[0].total)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"limit": 0}, "limit: must be between 1 and 1000, got 0"),
        ({"limit": 1001}, "limit: must be between 1 and 1000"),
        ({"offset": -1}, "offset: must be between 0 and 1000000000, got -1"),
        ({"offset": 10**30}, "offset: must be between 0 and 1000000000"),
        ({"bbox": (50, 0, 95, 10)}, "bbox: latitudes must lie within -90..90"),
    ],
)
def test_bad_arguments_name_the_parameter(service: QueryService, arguments: dict, message: str):
    with pytest.raises(InvalidQuery, match=message):
        service.get_active_flights(**arguments)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1,2,3", "expected min_lat,min_lon,max_lat,max_lon, got '1,2,3'"),
        ("a,b,c,d", "not four numbers: 'a,b,c,d'"),
        ("1,2,3,4,5", "expected min_lat,min_lon,max_lat,max_lon"),
        ("", "expected min_lat,min_lon,max_lat,max_lon, got ''"),
        ("50,0,95,10", "latitudes must lie within -90..90"),
        ("0,0,1,nan", "coordinates must be finite numbers"),
    ],
)
def test_parse_bbox_refuses_anything_but_an_ordered_box(text: str, reason: str):
    with pytest.raises(InvalidQuery) as raised:
        parse_bbox(text)
    assert raised.value.param == "bbox"
    assert raised.value.reason.startswith(reason)


def test_parse_bbox_reads_four_numbers():
    assert parse_bbox(" 35, -10 ,60,30") == BBox(35.0, -10.0, 60.0, 30.0)
    # Latitudes in either order are the same band.
    assert parse_bbox("60,-10,35,30") == BBox(35.0, -10.0, 60.0, 30.0)


def test_a_box_across_the_antimeridian(service: QueryService):
    """min_lon greater than max_lon wraps through 180 degrees."""
    pilots = active(latest_pilots()).values()
    expected = sum(
        1
        for s in pilots
        if -60 <= s.record["latitude"] <= 60
        and (s.record["longitude"] >= 170 or s.record["longitude"] <= -170)
    )
    assert expected > 0
    assert service.get_active_flights(bbox=(-60, 170, 60, -170)).total == expected


# --- controllers and sectors ---------------------------------------------------------


def test_active_controllers_match_raw(service: QueryService):
    expected = active(latest_stations())
    page = service.get_active_controllers(limit=1000)
    assert page.total == len(expected)
    assert {(c.cid, c.callsign, c.logon_time) for c in page.items} == set(expected)
    kinds = {c.callsign: c.kind for c in page.items}
    atis = {r["callsign"] for r in raw(FILES[-1])["atis"]}
    assert {c for c, k in kinds.items() if k == "atis"} >= atis
    assert [c.callsign for c in page.items] == sorted(c.callsign for c in page.items)


def test_sectors_by_kind_with_pagination(service: QueryService):
    firs = sorted(s.id for s in real_sectors() if s.kind == "fir")
    first = service.get_sectors(kind="fir", limit=1000)
    second = service.get_sectors(kind="fir", limit=1000, offset=1000)
    assert first.total == second.total == len(firs)
    assert [s.id for s in first.items + second.items] == firs
    assert service.get_sectors(limit=1).total == len(real_sectors())
    egtt = next(s for s in first.items if s.id == "EGTT")
    expected = next(s for s in real_sectors() if s.id == "EGTT")
    assert egtt.bbox == pytest.approx(list(expected.bbox))
    assert egtt.geometry is None and egtt.kind == "fir" and egtt.name == expected.name


def test_sector_geometry_only_when_asked(service: QueryService):
    page = service.get_sectors(kind="uir", limit=2, with_geometry=True)
    assert [s.geometry["type"] for s in page.items] == ["MultiPolygon", "MultiPolygon"]


def test_staffing_follows_the_active_controllers(service: QueryService):
    staffed = {s.id: s.staffed_by for s in service.get_sectors(limit=1000).items}
    staffed |= {s.id: s.staffed_by for s in service.get_sectors(limit=1000, offset=1000).items}
    assert staffed["ZUUU"] == ["ZUUU_CTR"]
    assert staffed["OIIX"] == ["TEH_CTR"]
    assert staffed["KZDV"] == ["DEN_17_CTR"]
    assert staffed["EKDK"] == ["EKDK_CTR"]
    assert staffed["TRACON:EDDF"] == ["EDDF_N_APP"]
    assert staffed["UIR:RU-CEN"] == ["RU-CEN_FSS"]
    members = next(s for s in real_sectors() if s.id == "UIR:RU-CEN").members
    assert members and all(staffed[member] == ["RU-CEN_FSS"] for member in members)
    assert staffed["EGTT"] == []
    ctr = {r["callsign"] for r in raw(FILES[-1])["controllers"] if r["callsign"].endswith("_CTR")}
    assert {c for callsigns in staffed.values() for c in callsigns if c.endswith("_CTR")} <= ctr


def test_unknown_sector_kind_is_refused(service: QueryService):
    with pytest.raises(InvalidQuery, match="kind: must be one of fir, uir, tracon, custom"):
        service.get_sectors(kind="country")


# --- statistics and health -----------------------------------------------------------


def test_database_stats_have_the_old_fields_and_raw_values(recorded: Engine):
    service = QueryService(recorded)
    service.get_flight_track("QFA63")
    service.get_active_flights()
    stats = service.get_database_stats()
    assert stats == {
        "total_flights": len(latest_pilots()),
        "total_controllers": len(latest_stations()),
        "total_sectors": len(real_sectors()),
        "total_transceivers": 0,
        "active_flights": len(active(latest_pilots())),
        "active_controllers": len(active(latest_stations())),
        "recent_flights": len(latest_pilots()),
        "last_cleanup": None,
        "query_count": 2,
        "avg_query_time": stats["avg_query_time"],
    }
    assert stats["avg_query_time"] > 0
    assert service.get_database_stats()["query_count"] == 3


def test_query_count_is_exact_across_threads(recorded: Engine):
    service = QueryService(recorded)

    def work() -> None:
        for _ in range(5):
            service.get_flight_track("QFA63")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert service.query_metrics()[0] == 40


def test_last_cleanup_is_the_newest_end_of_a_session(engine: Engine):
    write_snapshot(engine, parse_data_feed(FILES[0].read_bytes()))
    ended = datetime(2024, 11, 22, 12, 49, 0, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            update(flights).where(flights.c.callsign == "QFA63").values(ended_at=ended)
        )
        connection.execute(
            update(flights)
            .where(flights.c.callsign == "AAL72")
            .values(ended_at=ended - timedelta(minutes=1), status="ended")
        )
    service = QueryService(engine)
    stats = service.get_database_stats()
    assert stats["last_cleanup"] == "2024-11-22T12:49:00+00:00"
    assert stats["active_flights"] == len(raw(FILES[0])["pilots"]) - 1
    assert service.health_check()["last_cleanup"] == "2024-11-22T12:49:00+00:00"


def test_health_of_old_recordings_is_degraded(service: QueryService):
    before = datetime.now(UTC)
    health = service.health_check()
    assert health["status"] == "degraded"
    assert health["database_connected"] is True
    assert health["flight_count"] == len(latest_pilots())
    assert health["controller_count"] == len(latest_stations())
    assert health["newest_snapshot"] == NEWEST.isoformat()
    assert health["newest_snapshot_age_s"] == pytest.approx(
        (before - NEWEST).total_seconds(), abs=60
    )
    assert health["error"] is None


def test_health_of_a_fresh_snapshot_is_healthy(engine: Engine, tmp_path: Path):
    now = datetime.now(UTC).replace(microsecond=0)

    def refresh(document: dict) -> None:
        document["general"]["update_timestamp"] = now.isoformat().replace("+00:00", "Z")

    copy = _payload_copy(FILES[-1], tmp_path, "now.json", refresh)
    write_snapshot(engine, parse_data_feed(copy.read_bytes()))
    health = QueryService(engine).health_check()
    assert health["status"] == "healthy"
    assert 0 <= health["newest_snapshot_age_s"] < 60
    assert health["flight_count"] == len(raw(FILES[-1])["pilots"])


def test_empty_database_is_degraded_and_answers_nothing(engine: Engine):
    service = QueryService(engine)
    assert service.health_check()["status"] == "degraded"
    assert service.health_check()["newest_snapshot"] is None
    assert service.get_active_flights().total == 0
    assert service.get_active_controllers().total == 0
    assert service.get_sectors().total == 0
    assert service.get_newest_snapshot() is None
    assert service.get_database_stats()["active_flights"] == 0


def test_unreachable_database_is_unhealthy_without_raising(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'folder' / 'vatsim.db'}")
    health = QueryService(engine).health_check()
    assert health["status"] == "unhealthy"
    assert health["database_connected"] is False
    assert health["flight_count"] is None
    assert "unable to open database file" in health["error"]
    assert health["query_count"] == 0


def test_newest_snapshot_counts(service: QueryService):
    snapshot = service.get_newest_snapshot()
    document = raw(FILES[-1])
    assert snapshot.update_timestamp == NEWEST
    assert (snapshot.pilots, snapshot.controllers, snapshot.atis) == (
        len(document["pilots"]),
        len(document["controllers"]),
        len(document["atis"]),
    )
    assert snapshot.connected_clients == document["general"]["connected_clients"]
