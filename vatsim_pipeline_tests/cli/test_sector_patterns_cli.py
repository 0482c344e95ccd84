"""`traffic sector`, `controllers coverage` and `forecast sector` through the query
service and the command line on known rows, on every backend: values, the hourly sum,
empty hours, and one-line refusals of unknown sectors and bad windows."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from vatsim_pipeline.storage.engine import make_engine
from vatsim_pipeline.storage.reads import InvalidQuery, NotFound, QueryService
from vatsim_pipeline_tests.backends import BACKENDS
from vatsim_pipeline_tests.cli import refused, succeeded
from vatsim_pipeline_tests.storage.patterns_support import NOW, at, patterns_database


@pytest.fixture(scope="module", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    with patterns_database(request.param, tmp_path_factory.mktemp("patterns")) as url:
        yield url


@pytest.fixture
def service(database: str) -> Iterator[QueryService]:
    engine = make_engine(database)
    yield QueryService(engine)
    engine.dispose()


def test_sector_traffic_per_quarter_and_per_hour(service: QueryService) -> None:
    quarters = service.get_sector_traffic("F", since="3h", until=NOW, bucket="15m")
    assert [(b.bucket_start, b.entries, b.peak, b.mean) for b in quarters.items] == [
        (at(10, 0), 3, 2, 1.5),
        (at(10, 15), 1, 1, 0.5),
        (at(10, 30), 0, 1, 1.0),
        (at(10, 45), 2, 3, 2.0),
        (at(11, 0), 1, 1, 0.25),
    ]
    hours = service.get_sector_traffic("F", since="3h", bucket="1h")
    assert [(b.bucket_start, b.entries, b.peak, b.mean) for b in hours.items] == [
        (at(10), 6, 3, 1.25),
        (at(11), 1, 1, 0.0625),
    ]
    assert service.get_sector_traffic("F", since=at(12), until=at(13)).items == []
    assert service.get_sector_traffic("T1", since="3h").items == []


def test_bad_sector_traffic_questions_are_refused(service: QueryService) -> None:
    with pytest.raises(NotFound, match="sector 'NOPE': not found"):
        service.get_sector_traffic("NOPE")
    with pytest.raises(InvalidQuery, match="since: must be before until"):
        service.get_sector_traffic("F", since=at(12), until=at(11))
    with pytest.raises(InvalidQuery, match="longer than the retention of 30 days"):
        service.get_sector_traffic("F", since="40d")
    with pytest.raises(InvalidQuery, match="bucket: must be 15m or 1h"):
        service.get_sector_traffic("F", bucket="5m")


def test_coverage_sums_hours_per_sector(service: QueryService) -> None:
    report = service.get_coverage(since="3h")
    assert [
        (c.sector_id, c.hours, c.staffed_minutes, c.flight_minutes, c.covered_flight_minutes,
         c.coverage_share)
        for c in report.items
    ] == [("F", 2, 90.0, 120.0, 75.0, 0.625), ("T1", 1, 0.0, 20.0, 0.0, 0.0)]  # fmt: skip
    assert report.total == 2
    assert [c.sector_id for c in service.get_coverage(since="3h", sector="T1").items] == ["T1"]
    assert service.get_coverage(since=at(12), until=at(13)).items == []
    with pytest.raises(NotFound):
        service.get_coverage(sector="NOPE")


def test_sector_forecast_reads_the_newest(service: QueryService) -> None:
    forecast = service.get_sector_forecast("F")
    assert forecast.issued_at == NOW
    assert [(b.expected, b.low, b.high) for b in forecast.items] == [
        (1.0 + k, 0.5, 2.0 + k) for k in range(8)
    ]
    quiet = service.get_sector_forecast("T1")
    assert (quiet.issued_at, quiet.items) == (NOW, [])


def test_commands(database: str) -> None:
    output = succeeded(database, "traffic", "sector", "F", "--since", "3h", "--bucket", "1h")
    assert output.splitlines()[1:] == [
        "BUCKET                ENTRIES  PEAK    MEAN",
        "2026-03-06 10:00:00Z        6     3    1.25",
        "2026-03-06 11:00:00Z        1     1  0.0625",
        "2 buckets of 1h",
    ]
    series = json.loads(succeeded(database, "traffic", "sector", "F", "--since", "3h", "--json"))
    assert [item["entries"] for item in series["items"]] == [3, 1, 0, 2, 1]
    coverage = json.loads(succeeded(database, "controllers", "coverage", "--since", "3h", "--json"))
    assert [(c["sector_id"], c["coverage_share"]) for c in coverage["items"]] == [
        ("F", 0.625),
        ("T1", 0.0),
    ]
    forecast = json.loads(succeeded(database, "forecast", "sector", "F", "--json"))
    assert [item["expected"] for item in forecast["items"]] == [1.0 + k for k in range(8)]
    assert "issued 2026-03-06 12:00:00Z" in succeeded(database, "forecast", "sector", "F")


def test_commands_refuse_bad_input_in_one_line(database: str) -> None:
    assert refused(database, "traffic", "sector", "NOPE") == "error: sector 'NOPE': not found"
    assert refused(database, "forecast", "sector", "NOPE") == "error: sector 'NOPE': not found"
    assert refused(database, "traffic", "sector", "F", "--bucket", "2h") == (
        "error: --bucket: must be 15m or 1h, got '2h'"
    )
    assert refused(database, "controllers", "coverage", "--since", "40d").startswith(
        "error: --since: the window"
    )
    assert refused(
        database, "traffic", "sector", "F", "--since", "2026-03-06T12:00Z", "--until", "1h"
    ).startswith("error: --since: must be before until")
