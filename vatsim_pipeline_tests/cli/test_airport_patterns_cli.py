"""`vatsim-pipeline traffic airport`, `movements` and `routes top` on the constructed
history, on every backend: tables, JSON, and one-line errors for bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from vatsim_pipeline_tests.backends import BACKENDS
from vatsim_pipeline_tests.cli import refused, succeeded
from vatsim_pipeline_tests.storage.airport_patterns_support import airport_database


@pytest.fixture(scope="module", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    with airport_database(request.param, tmp_path_factory.mktemp("airport_cli")) as url:
        yield url


def test_traffic_airport_table_and_json(database: str) -> None:
    lines = succeeded(database, "traffic", "airport", "EGLL", "--since", "8h", "--bucket", "1h")
    rows = lines.splitlines()
    assert rows[0] == "EGLL from 2024-11-22 04:00:00Z to 2024-11-22 12:00:00Z"
    assert rows[1].split() == ["BUCKET", "DEPARTURES", "ARRIVALS"]
    assert rows[2].split() == ["2024-11-22", "04:00:00Z", "0", "1"]
    assert rows[-1] == "8 buckets of 1h: 2 departures, 2 arrivals"
    document = json.loads(succeeded(database, "traffic", "airport", "EGLL", "--json"))
    assert document["airport"] == "EGLL" and len(document["items"]) == 96
    assert (document["departures"], document["arrivals"]) == (2, 2)


def test_movements_and_routes_tables(database: str) -> None:
    rows = succeeded(database, "movements", "--airport", "EGLL", "--kind", "arrival").splitlines()
    assert rows[1].split() == ["TIME", "KIND", "AIRPORT", "CALLSIGN", "FLIGHT", "DEP", "ARR"]
    assert rows[2].split()[2:6] == ["arrival", "EGLL", "AFR1081", "7"]
    assert rows[-1] == "showing 1-2 of 2 movements"
    document = json.loads(succeeded(database, "movements", "--json", "--limit", "1"))
    assert document["total"] == 6 and document["items"][0]["flight_id"] == 4
    top = succeeded(database, "routes", "top", "--since", "3d", "--limit", "2").splitlines()
    assert top[1].split() == ["RANK", "DEP", "ARR", "FLIGHTS"]
    assert top[2].split() == ["1", "EGLL", "KJFK", "2"]
    assert top[-1] == "2 city pairs"


def test_bad_input_is_one_line_and_exit_2(database: str) -> None:
    assert refused(database, "traffic", "airport", "ZZZZ") == "error: airport 'ZZZZ': not found"
    assert refused(database, "traffic", "airport", "EGLL", "--since", "1h", "--until", "2h") == (
        "error: --since: must be before until "
        "(2024-11-22T11:00:00+00:00 >= 2024-11-22T10:00:00+00:00)"
    )
    assert "longer than the retention of 30 days" in refused(
        database, "movements", "--since", "40d"
    )
    assert refused(database, "traffic", "airport", "EGLL", "--bucket", "2h") == (
        "error: --bucket: must be 15m or 1h, got '2h'"
    )
    assert refused(database, "routes", "top", "--limit", "0") == (
        "error: --limit: must be between 1 and 1000, got 0"
    )
    assert refused(database, "movements", "--airport", "QQQQ") == (
        "error: airport 'QQQQ': not found"
    )
    assert refused(database, "movements", "--kind", "landing").startswith("error: --kind: ")
    assert refused(database, "routes", "top", "--limit", "many").startswith("error: --limit: ")
