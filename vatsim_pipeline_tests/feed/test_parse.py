"""The parser against every real payload, broken records and payloads that are not feeds."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vatsim_pipeline.feed.parse import (
    PayloadError,
    parse_data_feed,
    parse_timestamp,
    parse_transceivers,
)
from vatsim_pipeline_tests.shared_data import (
    DATA_FEEDS,
    TRANSCEIVERS_FEED,
    sequence_files,
    shared_data,
)

ALL_FEEDS = [shared_data(name) for name in DATA_FEEDS] + sequence_files()


def _raw(path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", ALL_FEEDS, ids=lambda p: p.name)
def test_every_real_payload_parses_with_the_source_counts(path) -> None:
    raw = _raw(path)
    snapshot = parse_data_feed(path.read_bytes())
    counts = snapshot.counts()
    assert snapshot.rejected == []
    assert counts["pilots"] == len(raw["pilots"])
    assert counts["controllers"] == len(raw["controllers"])
    assert counts["atis"] == len(raw["atis"])
    assert counts["prefiles"] == len(raw["prefiles"])
    assert counts["servers"] == len(raw["servers"])
    assert snapshot.update_timestamp == datetime.fromisoformat(
        raw["general"]["update_timestamp"][:26] + "+00:00"
    )
    null_plans = sum(1 for p in raw["pilots"] if p["flight_plan"] is None)
    assert sum(1 for p in snapshot.pilots if p.flight_plan is None) == null_plans
    first = raw["pilots"][0]
    parsed = snapshot.pilots[0]
    assert (parsed.cid, parsed.callsign, parsed.altitude) == (
        first["cid"],
        first["callsign"],
        first["altitude"],
    )


def test_early_v3_payload_lacks_newer_flight_plan_fields() -> None:
    snapshot = parse_data_feed(shared_data(DATA_FEEDS[0]).read_bytes())
    plans = [p.flight_plan for p in snapshot.pilots if p.flight_plan]
    assert plans
    assert all(p.aircraft_faa is None and p.revision_id is None for p in plans)
    assert all(p.assigned_transponder is None for p in plans)
    assert all(p.military_rating is None for p in snapshot.pilots)
    assert {p.flight_rules for p in plans} >= {"I", "V", "D"}


def test_sequence_payload_variants_are_kept() -> None:
    path = sequence_files()[-1]
    raw = _raw(path)
    snapshot = parse_data_feed(path.read_bytes())
    atis = [c for c in snapshot.controllers if c.kind == "atis"]
    assert sum(1 for c in atis if c.atis_code is None) == sum(
        1 for a in raw["atis"] if a["atis_code"] is None
    )
    assert min(p.altitude for p in snapshot.pilots) < 0
    assert max(p.heading for p in snapshot.pilots) == 360
    tower = next(c for c in snapshot.controllers if c.kind == "controller" and c.frequency)
    assert tower.frequency_hz == round(float(tower.frequency) * 1_000_000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-08-05T16:02:09Z", datetime(2025, 8, 5, 16, 2, 9, tzinfo=UTC)),
        ("2025-08-05T16:02:09.1Z", datetime(2025, 8, 5, 16, 2, 9, 100000, tzinfo=UTC)),
        ("2025-08-06T06:54:57.9984046Z", datetime(2025, 8, 6, 6, 54, 57, 998404, tzinfo=UTC)),
        ("2025-08-06T08:54:57.5+02:00", datetime(2025, 8, 6, 6, 54, 57, 500000, tzinfo=UTC)),
    ],
)
def test_timestamps_with_zero_to_seven_fractional_digits(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


def _payload_with(**changes) -> dict:
    document = _raw(shared_data(DATA_FEEDS[2]))
    for index, change in changes.items():
        document["pilots"][int(index.removeprefix("p"))].update(change)
    return document


def test_impossible_records_are_set_aside_and_the_rest_is_kept() -> None:
    document = _payload_with(p0={"latitude": 95.0}, p1={"callsign": ""}, p2={"cid": "abc"})
    document["pilots"][3] = "not a record"
    del document["controllers"][0]["logon_time"]
    snapshot = parse_data_feed(orjson.dumps(document))
    reasons = {(r.section, r.index): r.reason for r in snapshot.rejected}
    assert reasons == {
        ("pilots", 0): "latitude 95.0 is outside -90..90",
        ("pilots", 1): "callsign is missing",
        ("pilots", 2): "cid 'abc' is not a number",
        ("pilots", 3): "record is not an object",
        ("controllers", 0): "logon_time is missing",
    }
    assert len(snapshot.pilots) == len(document["pilots"]) - 4
    rejected_pilot = next(r for r in snapshot.rejected if r.index == 0)
    assert json.loads(rejected_pilot.raw)["latitude"] == 95.0


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "data feed is empty"),
        (b'{"general": {"update_timestamp": "2025-08-06T06:5', "data feed is not JSON"),
        (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "starts with '<!DOCTYPE"),
        (b"[1, 2, 3]", "data feed is a JSON list, not an object"),
        (b'{"pilots": []}', "data feed has no 'general' object"),
        (
            b'{"general": {"update_timestamp": "yesterday"}, "pilots": [], "controllers": []}',
            "general.update_timestamp",
        ),
        (
            b'{"general": {"update_timestamp": "2025-08-06T06:54:57Z"}, "pilots": {},'
            b' "controllers": []}',
            "data feed has no 'pilots' list",
        ),
    ],
)
def test_payloads_that_are_not_feeds_fail_with_a_clear_message(payload: bytes, message: str):
    with pytest.raises(PayloadError, match=None) as caught:
        parse_data_feed(payload)
    assert message in str(caught.value)


def test_truncated_real_payload_is_not_a_feed() -> None:
    payload = shared_data(DATA_FEEDS[2]).read_bytes()
    with pytest.raises(PayloadError, match="not JSON"):
        parse_data_feed(payload[: len(payload) // 2])


def test_transceivers_feed_counts_and_a_broken_one() -> None:
    raw = _raw(shared_data(TRANSCEIVERS_FEED))
    snapshot = parse_data_feed(shared_data(DATA_FEEDS[2]).read_bytes())
    parse_transceivers(shared_data(TRANSCEIVERS_FEED).read_bytes(), snapshot)
    assert snapshot.transceiver_stations == len(raw)
    assert len(snapshot.transceivers) == sum(len(s["transceivers"]) for s in raw)
    assert {t.frequency_hz for t in snapshot.transceivers} >= {0, 122800010}
    assert snapshot.rejected == []

    broken = parse_data_feed(shared_data(DATA_FEEDS[2]).read_bytes())
    parse_transceivers(b"<html>oops</html>", broken)
    assert [r.section for r in broken.rejected] == ["transceivers"]
    assert broken.transceivers == []
    assert len(broken.pilots) == len(snapshot.pilots)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
record = st.dictionaries(
    st.sampled_from(
        [
            "cid",
            "callsign",
            "logon_time",
            "latitude",
            "longitude",
            "altitude",
            "heading",
            "flight_plan",
            "frequency",
            "text_atis",
            "qnh_i_hg",
            "transponder",
            "name",
        ]
    ),
    json_values | st.sampled_from(["2025-08-06T06:54:57.9984046Z", "AAL1", 51.5, 1234567]),
)
feed_like = st.fixed_dictionaries(
    {
        "general": st.fixed_dictionaries(
            {"update_timestamp": st.sampled_from(["2025-08-06T06:54:57Z", "x", None])}
        ),
        "pilots": st.lists(record, max_size=5) | json_values,
        "controllers": st.lists(record, max_size=3),
        "atis": st.lists(record, max_size=3) | json_values,
        "prefiles": st.lists(record, max_size=3),
    }
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, feed_like))
def test_any_json_document_parses_or_fails_with_payload_error(document) -> None:
    payload = json.dumps(document).encode()
    try:
        snapshot = parse_data_feed(payload)
    except PayloadError:
        return
    assert snapshot.update_timestamp.tzinfo is not None
    parse_transceivers(payload, snapshot)


@settings(max_examples=100)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_fail_with_payload_error(payload: bytes) -> None:
    try:
        snapshot = parse_data_feed(payload)
    except PayloadError as error:
        assert str(error).startswith("data feed")
    else:
        assert snapshot.update_timestamp.tzinfo is not None
