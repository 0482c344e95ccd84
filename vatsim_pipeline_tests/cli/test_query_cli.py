"""The query commands (`flights`, `controllers`, `sectors list`, `serve`) against the five
recorded snapshots and the real sectors on every backend; expected values come from the
raw JSON."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime

import psutil
import pytest
import requests

# Registers the commands on `main`, whether or not cli/app.py lists these modules yet.
import vatsim_pipeline.cli.query
import vatsim_pipeline.cli.serve  # noqa: F401
from vatsim_pipeline_tests.backends import BACKENDS
from vatsim_pipeline_tests.cli import refused, succeeded
from vatsim_pipeline_tests.storage.reads_support import (
    FILES,
    active,
    latest_pilots,
    latest_stations,
    plan,
    real_sectors,
    recorded_database,
    track_of,
)
from vatsim_pipeline_tests.storage.support import raw

UNREACHABLE = "postgresql+psycopg2://postgres:secret@127.0.0.1:1/vatsim"
REGISTERING = (
    "import vatsim_pipeline.cli.query, vatsim_pipeline.cli.serve\n"
    "from vatsim_pipeline.cli.app import main\n"
    "main()"
)


@pytest.fixture(scope="module", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    with recorded_database(request.param, tmp_path_factory.mktemp("cli")) as url:
        yield url


# --- flights -------------------------------------------------------------------------


def test_flights_active_table(database: str):
    output = succeeded(database, "flights", "active", "--limit", "5")
    lines = output.splitlines()
    assert lines[0].split() == [
        "CALLSIGN",
        "CID",
        "DEP",
        "ARR",
        "TYPE",
        "ALT",
        "GS",
        "LAT",
        "LON",
        "LAST",
        "SEEN",
    ]
    assert len(lines) == 7
    assert lines[-1] == f"showing 1-5 of {len(active(latest_pilots()))} active flights"
    callsigns = [line.split()[0] for line in lines[1:-1]]
    assert callsigns == sorted(s.record["callsign"] for s in active(latest_pilots()).values())[:5]


def test_flights_active_json_with_filters(database: str):
    pilots = active(latest_pilots()).values()
    departing = sum(1 for s in pilots if plan(s.record).get("departure") == "EGLL")
    body = json.loads(succeeded(database, "flights", "active", "--departure", "EGLL", "--json"))
    assert body["total"] == departing == len(body["items"])
    assert {f["departure"] for f in body["items"]} == {"EGLL"}
    inside = sum(
        1 for s in pilots if 35 <= s.record["latitude"] <= 60 and -10 <= s.record["longitude"] <= 30
    )
    boxed = succeeded(database, "flights", "active", "--bbox", "35,-10,60,30", "--json")
    assert json.loads(boxed)["total"] == inside
    in_sector = json.loads(
        succeeded(database, "flights", "active", "--sector", "EGTT", "--limit", "1", "--json")
    )
    assert in_sector["total"] > 0 and len(in_sector["items"]) == 1


def test_flights_track_table_and_json(database: str):
    output = succeeded(database, "flights", "track", "QFA63").splitlines()
    assert output[0].startswith("QFA63 (flight ")
    assert "cid 1057045) YSSY -> FAOR A388 logon 2024-11-22 00:15:46Z active" in output[0]
    assert output[1].split() == ["OBSERVED", "LAT", "LON", "ALT", "GS", "HDG"]
    expected = track_of("QFA63")
    rows = [line.split() for line in output[2:-1]]
    assert [(float(r[2]), float(r[3])) for r in rows] == [(lat, lon) for _, lat, lon in expected]
    assert output[-1] == "5 positions"
    body = json.loads(succeeded(database, "flights", "track", "qfa63", "--json"))
    assert [
        (datetime.fromisoformat(p["observed_at"]), p["lat"], p["lon"]) for p in body["positions"]
    ] == expected
    by_id = json.loads(succeeded(database, "flights", "track", str(body["flight"]["id"]), "--json"))
    assert by_id == body


def test_flights_stats(database: str):
    output = succeeded(database, "flights", "stats", "QFA63")
    figures = dict(line.split(None, 1) for line in output.replace("max ", "max_").splitlines())
    assert figures["positions"].strip() == "5"
    assert figures["duration"].strip() == "0h 01m 45s"
    records = [p for path in FILES for p in raw(path)["pilots"] if p["callsign"] == "QFA63"]
    assert figures["max_altitude"].strip() == f"{max(p['altitude'] for p in records)} ft"
    body = json.loads(succeeded(database, "flights", "stats", "QFA63", "--json"))
    assert body["position_count"] == 5 and 13 < body["distance_nm"] < 14
    assert figures["distance"].strip() == f"{body['distance_nm']:.1f} nm"


def test_unknown_flight_is_one_error_line(database: str):
    assert refused(database, "flights", "track", "NOPE123") == (
        "error: callsign 'NOPE123': no flight recorded"
    )
    assert refused(database, "flights", "stats", "999999") == "error: flight id 999999: not found"
    # An id beyond any database integer is no flight either (was a traceback).
    assert refused(database, "flights", "track", "99999999999999999999") == (
        "error: flight id 99999999999999999999: not found"
    )


def test_unknown_sector_is_one_error_line(database: str):
    """One rule for an unknown sector id, as `sectors occupancy` (was an empty list)."""
    assert refused(database, "flights", "active", "--sector", "NOWHERE") == (
        "error: sector 'NOWHERE': not found"
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("--limit", "0"), "error: --limit: must be between 1 and 1000, got 0"),
        (("--offset", "-3"), "error: --offset: must be between 0 and 1000000000, got -3"),
        (
            ("--bbox", "1,2,3"),
            "error: --bbox: expected min_lat,min_lon,max_lat,max_lon, got '1,2,3'",
        ),
        (("--bbox", "50,0,95,10"), "error: --bbox: latitudes must lie within -90..90"),
    ],
)
def test_bad_options_are_one_error_line(database: str, args: tuple[str, ...], error: str):
    assert refused(database, "flights", "active", *args) == error


# --- controllers and sectors ---------------------------------------------------------


def test_controllers_active(database: str):
    body = json.loads(succeeded(database, "controllers", "active", "--limit", "1000", "--json"))
    assert body["total"] == len(active(latest_stations()))
    output = succeeded(database, "controllers", "active", "--limit", "1000")
    atis = raw(FILES[-1])["atis"][0]["callsign"]
    row = next(line for line in output.splitlines() if line.startswith(atis + " "))
    assert row.split()[1] == "atis"
    assert (
        output.splitlines()[-1]
        == f"showing 1-{body['total']} of {body['total']} active controllers"
    )


def test_sectors_list(database: str):
    firs = sorted(s.id for s in real_sectors() if s.kind == "fir")
    body = json.loads(succeeded(database, "sectors", "list", "--kind", "fir", "--json"))
    assert body["total"] == len(firs)
    assert [s["id"] for s in body["items"]] == firs[:100]
    output = succeeded(database, "sectors", "list", "--kind", "fir", "--offset", "1000")
    zuuu = next(line for line in output.splitlines() if line.startswith("ZUUU "))
    assert zuuu.split()[1] == "fir" and zuuu.endswith("ZUUU_CTR")
    assert refused(database, "sectors", "list", "--kind", "country") == (
        "error: --kind: must be one of fir, uir, tracon, custom, got 'country'"
    )


# --- database errors and serve -------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("flights", "active"),
        ("flights", "track", "QFA63"),
        ("controllers", "active"),
        ("sectors", "list"),
        ("serve", "--port", "1"),
    ],
)
def test_unreachable_database_is_one_error_line(args: tuple[str, ...]):
    line = refused(UNREACHABLE, *args)
    assert line.startswith(
        "error: database postgresql+psycopg2://postgres:***@127.0.0.1:1/vatsim: OperationalError: "
    )
    assert "Connection refused" in line and "secret" not in line


def test_serve_refuses_a_port_in_use(database: str):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = refused(database, "serve", "--port", str(port))
    assert line == f"error: 127.0.0.1:{port}: Address already in use"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_answers_over_http(database: str):
    port = _free_port()
    env = {**os.environ, "VATSIM_DATABASE_URL": database}
    server = subprocess.Popen(
        [sys.executable, "-c", REGISTERING, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/api/flights", timeout=5)
                break
            except requests.ConnectionError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "serve did not answer in 30 s"
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["total"] == len(active(latest_pilots()))
        # Only this machine can reach it unless --host says otherwise.
        listening = {
            c.laddr.ip
            for c in psutil.Process(server.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        }
        assert listening == {"127.0.0.1"}
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=15)
    assert f"serving http://127.0.0.1:{port}/api" in output
