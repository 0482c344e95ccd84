"""`vatsim-pipeline flights history` and `vatsim-pipeline sectors occupancy` on the
constructed history of `history_support`, on every backend: tables, JSON, and one-line
errors for bad options."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

# Registers the commands on `main`, whether or not cli/app.py lists this module yet.
import vatsim_pipeline.cli.query  # noqa: F401
from vatsim_pipeline_tests.backends import BACKENDS
from vatsim_pipeline_tests.cli import refused, succeeded
from vatsim_pipeline_tests.storage.history_support import (
    NOW,
    at,
    expected_flights,
    expected_visits,
    history_database,
)


@pytest.fixture(scope="module", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    with history_database(request.param, tmp_path_factory.mktemp("history_cli")) as url:
        yield url


def test_flights_history_table(database: str):
    output = succeeded(
        database,
        "flights",
        "history",
        "--departure",
        "EGLL",
        "--since",
        "2024-11-22T10:00:00Z",
        "--until",
        "2024-11-22T11:00:00Z",
    )
    lines = output.splitlines()
    assert lines[0] == "from 2024-11-22 10:00:00Z to 2024-11-22 11:00:00Z"
    assert lines[1].split() == [
        "ID",
        "CALLSIGN",
        "CID",
        "DEP",
        "ARR",
        "TYPE",
        "FIRST",
        "SEEN",
        "LAST",
        "SEEN",
        "STATUS",
    ]
    assert [line.split()[1] for line in lines[2:4]] == ["DLH905", "BAW117"]
    assert lines[2].split()[-1] == "active" and lines[3].split()[-1] == "completed"
    assert lines[-1] == "showing 1-2 of 2 flights"


def test_flights_history_json_pages(database: str):
    body = json.loads(
        succeeded(database, "flights", "history", "--limit", "2", "--offset", "2", "--json")
    )
    assert [f["id"] for f in body["items"]] == expected_flights(at(12, days_before=1), NOW)[2:4]
    assert (body["total"], body["limit"], body["offset"]) == (6, 2, 2)


def test_sectors_occupancy_table_and_json(database: str):
    output = succeeded(database, "sectors", "occupancy", "EGTT", "--since", "3h")
    lines = output.splitlines()
    assert lines[0] == "EGTT from 2024-11-22 09:00:00Z to 2024-11-22 12:00:00Z"
    expected = expected_visits("EGTT", at(9), NOW)
    assert [line.split()[0] for line in lines[2:-1]] == ["DLH904", "DLH905", "AFR1081", "DLH905"]
    assert lines[-1] == f"showing 1-{len(expected)} of {len(expected)} sector visits"
    body = json.loads(
        succeeded(database, "sectors", "occupancy", "EGTT", "--since", "3h", "--json")
    )
    assert [v["exited_at"] is None for v in body["items"]] == [True, True, False, False]
    assert "no sector visits here (total 0)" in succeeded(database, "sectors", "occupancy", "EDGG")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ("flights", "history", "--since", "yesterday"),
            "error: --since: 'yesterday' is neither a duration (30s, 90m, 24h, 7d, 2w) "
            "nor an ISO time",
        ),
        (
            ("flights", "history", "--since", "1h", "--until", "2h"),
            "error: --since: must not be after --until "
            "(2024-11-22T11:00:00+00:00 > 2024-11-22T10:00:00+00:00)",
        ),
        (
            ("flights", "history", "--since", "99999999999d"),
            "error: --since: '99999999999d' is too long a duration (at most 9999999999s, "
            "99999999m, 999999h, 99999d or 9999w, with up to 6 decimals)",
        ),
        (
            ("flights", "history", "--limit", "0"),
            "error: --limit: must be between 1 and 1000, got 0",
        ),
        (
            ("sectors", "occupancy", "EGTT", "--until", "2024-02-30"),
            "error: --until: '2024-02-30' is neither a duration (30s, 90m, 24h, 7d, 2w) "
            "nor an ISO time",
        ),
        (("sectors", "occupancy", "EGXX"), "error: sector 'EGXX': not found"),
    ],
)
def test_bad_options_are_one_error_line(database: str, args: tuple[str, ...], error: str):
    assert refused(database, *args) == error
