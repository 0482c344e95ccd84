"""The local feed server over real HTTP on loopback, seen through the project's own client.

Every fault mode is observed the way the pipeline will meet it: through `FeedClient`
and the parser, not by looking at the server's internals.
"""

from __future__ import annotations

import gzip
import itertools
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import requests
from click.testing import CliRunner

from vatsim_pipeline.cli.feed_server import feed_server
from vatsim_pipeline.feed.client import FeedClient, FeedUnavailable, snapshot_timestamp
from vatsim_pipeline.feed.parse import PayloadError, parse_data_feed, parse_transceivers
from vatsim_pipeline_tests.feed_server_fixture import RunningFeedServer, running_feed_server
from vatsim_pipeline_tests.shared_data import TRANSCEIVERS_FEED, sequence_files, shared_data

START = datetime(2025, 8, 6, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def feed() -> Iterator[RunningFeedServer]:
    with running_feed_server(pilots=60, controllers=12, seed=4, start=START) as server:
        yield server


@pytest.fixture
def healthy(feed: RunningFeedServer) -> Iterator[RunningFeedServer]:
    """The shared server, with faults cleared before and after the test."""
    feed.clear_faults()
    yield feed
    feed.clear_faults()


def test_status_lists_the_servers_own_feeds_in_vatsims_shape(healthy: RunningFeedServer) -> None:
    status = requests.get(healthy.status_url, timeout=5).json()
    assert status == {
        "data": {
            "v3": [healthy.data_url],
            "transceivers": [healthy.transceivers_url],
            "servers": [],
            "servers_sweatbox": [],
            "servers_all": [],
        },
        "user": [],
        "metar": [],
    }
    port = healthy.base_url.rsplit(":", 1)[1]
    by_name = requests.get(f"http://localhost:{port}/status.json", timeout=5).json()
    assert by_name["data"]["v3"] == [f"http://localhost:{port}/v3/vatsim-data.json"]


def test_client_fetches_both_feeds_and_the_parser_accepts_everything(
    healthy: RunningFeedServer,
) -> None:
    fetched = FeedClient(healthy.status_url).fetch()
    snapshot = parse_data_feed(fetched.data)
    parse_transceivers(fetched.transceivers, snapshot)
    assert fetched.data_url == healthy.data_url
    assert snapshot.update_timestamp == fetched.update_timestamp
    assert len(snapshot.pilots) >= 55 and snapshot.rejected == []
    assert snapshot.transceiver_stations == snapshot.connected_clients


def test_gzip_is_served_when_asked_for_and_holds_the_same_bytes(
    healthy: RunningFeedServer,
) -> None:
    plain = requests.get(healthy.data_url, headers={"Accept-Encoding": "identity"}, timeout=5)
    packed = requests.get(
        healthy.data_url, headers={"Accept-Encoding": "gzip"}, timeout=5, stream=True
    )
    raw = packed.raw.read()
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert len(raw) < len(plain.content) / 3
    assert gzip.decompress(raw) == plain.content


def test_advance_publishes_a_newer_snapshot(healthy: RunningFeedServer) -> None:
    client = FeedClient(healthy.status_url)
    before = client.fetch().update_timestamp
    stamp = healthy.advance(2)
    after = client.fetch().update_timestamp
    assert after - before == timedelta(seconds=30)
    assert stamp == after.isoformat().replace("+00:00", "Z")


def test_peek_reads_the_current_update_from_the_head_of_the_feed(
    healthy: RunningFeedServer,
) -> None:
    client = FeedClient(healthy.status_url)
    assert client.peek() == client.fetch().update_timestamp
    newer = datetime.fromisoformat(healthy.advance())
    assert abs(client.peek() - newer) < timedelta(microseconds=1)
    # A feed that does not answer (or not with a data feed) leaves the peek without
    # an answer; the full fetch is the one that says why.
    healthy.set_faults(fail_mode="http500")
    assert client.peek() is None
    healthy.set_faults(fail_mode="html")
    assert client.peek() is None


def test_a_live_simulation_serves_each_update_at_the_moment_its_timestamp_names() -> None:
    """A simulator started now is on the wall clock: each update appears when its
    `update_timestamp` says, however long the server took to get going (here 0.6 s,
    which intervals counted from the server's start would have added to every update)."""
    late_start = datetime.now(UTC) - timedelta(seconds=0.6)
    lags = {}
    with running_feed_server(
        pilots=1500, controllers=150, start=late_start, auto=True, interval=2.0
    ) as server:
        client = FeedClient(server.status_url)
        deadline = time.monotonic() + 6.8
        while time.monotonic() < deadline:
            stamp = client.peek()
            lags.setdefault(stamp, time.time() - stamp.timestamp())
            time.sleep(0.01)
    published = sorted(lags)[1:]  # the first was there before the clock started
    assert len(published) >= 3
    assert [later - earlier for earlier, later in itertools.pairwise(published)] == [
        timedelta(seconds=2)
    ] * (len(published) - 1)
    assert all(-0.05 < lags[stamp] < 0.25 for stamp in published), lags


def test_replay_serves_the_recordings_in_timestamp_order_on_its_clock() -> None:
    expected = [snapshot_timestamp(path.read_bytes()) for path in sequence_files()]
    folder = shared_data("sequence-20241122")
    with running_feed_server(replay=folder, interval=0.2, auto=True) as server:
        client = FeedClient(server.status_url)
        seen = [client.fetch().update_timestamp]
        deadline = time.monotonic() + 10
        while seen[-1] != expected[-1] and time.monotonic() < deadline:
            time.sleep(0.05)
            stamp = client.fetch().update_timestamp
            if stamp != seen[-1]:
                seen.append(stamp)
        time.sleep(0.5)
        assert client.fetch().update_timestamp == expected[-1], "it should stay on the last"
    assert seen[0] == expected[0]
    assert seen == sorted(seen) and set(seen) <= set(expected)
    assert seen[-1] == expected[-1]


def test_replay_without_transceivers_derives_them_from_the_snapshot() -> None:
    with running_feed_server(replay=shared_data("sequence-20241122")) as server:
        fetched = FeedClient(server.status_url).fetch()
    snapshot = parse_data_feed(fetched.data)
    parse_transceivers(fetched.transceivers, snapshot)
    radios = {radio.callsign: radio for radio in snapshot.transceivers}
    assert len(snapshot.pilots) == 954
    for pilot in snapshot.pilots:
        radio = radios[pilot.callsign]
        assert (radio.latitude, radio.longitude) == (pilot.latitude, pilot.longitude)
    placed = [c for c in snapshot.controllers if c.callsign in radios]
    assert len(placed) > 20
    assert all(radios[c.callsign].frequency_hz == c.frequency_hz for c in placed)
    assert sum(radios[p.callsign].frequency_hz != 122_800_000 for p in snapshot.pilots) > 10


def test_replay_serves_a_recorded_transceivers_file_as_it_is(tmp_path: Path) -> None:
    data = sequence_files()[0]
    transceivers = shared_data(TRANSCEIVERS_FEED)
    (tmp_path / data.name).symlink_to(data)
    (tmp_path / transceivers.name).symlink_to(transceivers)
    with running_feed_server(replay=tmp_path) as server:
        fetched = FeedClient(server.status_url).fetch()
        server.advance()
        assert FeedClient(server.status_url).fetch().data == data.read_bytes()
    assert fetched.data == data.read_bytes()
    assert fetched.transceivers == transceivers.read_bytes()


def _fetch_failure(feed: RunningFeedServer, **client: float) -> FeedUnavailable:
    with pytest.raises(FeedUnavailable) as caught:
        FeedClient(feed.status_url, **client).fetch()
    return caught.value


def test_http500_makes_the_feed_unavailable(healthy: RunningFeedServer) -> None:
    healthy.set_faults(fail_mode="http500")
    error = _fetch_failure(healthy)
    assert error.service == "data_feed" and "HTTP 500" in str(error)
    assert error.retry_after_s is None


def test_http503_says_when_to_retry(healthy: RunningFeedServer) -> None:
    healthy.set_faults(fail_mode="http503", retry_after=7)
    error = _fetch_failure(healthy)
    assert "HTTP 503" in str(error) and error.retry_after_s == 7.0


def test_timeout_holds_the_request_past_the_read_timeout(healthy: RunningFeedServer) -> None:
    healthy.set_faults(fail_mode="timeout", hang_seconds=3)
    started = time.monotonic()
    error = _fetch_failure(healthy, read_timeout_s=0.4)
    assert "timed out" in str(error)
    assert 0.4 <= time.monotonic() - started < 2.5


def test_close_drops_the_connection_without_an_answer(healthy: RunningFeedServer) -> None:
    healthy.set_faults(fail_mode="close")
    error = _fetch_failure(healthy)
    assert "connection failed" in str(error)


def test_truncated_payload_is_refused_by_the_parser(healthy: RunningFeedServer) -> None:
    healthy.set_faults(fail_mode="truncated")
    whole = len(healthy.state.current.data)
    raw = requests.get(healthy.data_url, timeout=5).content
    assert raw.startswith(b'{"general":{"version":3') and len(raw) == whole // 2
    with pytest.raises(PayloadError, match="not JSON"):
        parse_data_feed(FeedClient(healthy.status_url).fetch().data)


def test_html_error_page_is_not_a_feed(healthy: RunningFeedServer) -> None:
    healthy.set_faults(fail_mode="html")
    response = requests.get(healthy.data_url, timeout=5)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    with pytest.raises(PayloadError, match="not JSON"):
        FeedClient(healthy.status_url).fetch()
    with pytest.raises(PayloadError):
        snapshot_timestamp(response.content)


def test_stale_serves_an_older_snapshot_again(healthy: RunningFeedServer) -> None:
    client = FeedClient(healthy.status_url)
    healthy.advance()
    newest = client.fetch().update_timestamp
    healthy.set_faults(fail_mode="stale")
    assert client.fetch().update_timestamp == newest - timedelta(seconds=15)


def test_future_lies_a_day_ahead(healthy: RunningFeedServer) -> None:
    client = FeedClient(healthy.status_url)
    now = client.fetch().update_timestamp
    healthy.set_faults(fail_mode="future")
    fetched = client.fetch()
    assert fetched.update_timestamp == now + timedelta(days=1)
    snapshot = parse_data_feed(fetched.data)
    assert snapshot.update_timestamp == now + timedelta(days=1) and snapshot.rejected == []
    general = orjson.loads(fetched.data)["general"]
    assert general["update"] == (now + timedelta(days=1)).strftime("%Y%m%d%H%M%S")


def test_faults_hit_only_the_targeted_endpoint(healthy: RunningFeedServer) -> None:
    healthy.set_faults(fail_mode="http500", fail_target="transceivers")
    fetched = FeedClient(healthy.status_url).fetch()
    assert fetched.transceivers is None and "HTTP 500" in fetched.transceivers_error
    assert parse_data_feed(fetched.data).rejected == []
    healthy.set_faults(fail_target="status")
    error = _fetch_failure(healthy)
    assert error.service == "status" and "HTTP 500" in str(error)


def test_fail_rate_and_fail_times_decide_how_many_requests_fail(
    healthy: RunningFeedServer,
) -> None:
    healthy.set_faults(fail_mode="http500", fail_rate=0.5)
    codes = [requests.get(healthy.data_url, timeout=5).status_code for _ in range(40)]
    assert set(codes) == {200, 500} and 8 <= codes.count(500) <= 32
    healthy.set_faults(fail_rate=1.0, fail_times=2)
    codes = [requests.get(healthy.data_url, timeout=5).status_code for _ in range(4)]
    assert codes == [500, 500, 200, 200]
    assert healthy.faults()["fail_times"] == 0


def test_latency_delays_the_targeted_responses(healthy: RunningFeedServer) -> None:
    healthy.set_faults(latency=0.3)
    started = time.monotonic()
    requests.get(healthy.data_url, timeout=5).raise_for_status()
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    requests.get(healthy.status_url, timeout=5).raise_for_status()
    assert time.monotonic() - started < 0.3


def test_control_refuses_bad_settings_and_changes_nothing(healthy: RunningFeedServer) -> None:
    for body, problem in [
        ({"fail_mode": "explode"}, "fail_mode"),
        ({"fail_rate": 1.5}, "fail_rate"),
        ({"fail_target": "everything"}, "fail_target"),
        ({"latency": -1}, "latency"),
        ({"colour": "red"}, "colour"),
        ([1, 2], "JSON object"),
    ]:
        response = requests.post(f"{healthy.base_url}/_control", json=body, timeout=5)
        assert response.status_code == 400 and problem in response.json()["error"]
    assert healthy.faults() == {
        "fail_mode": None,
        "fail_rate": 1.0,
        "fail_target": "data",
        "latency": 0.0,
        "hang_seconds": 30.0,
        "retry_after": 5,
        "fail_times": None,
    }


def _cli(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(feed_server, list(args))
    return result.exit_code, result.output.strip().splitlines()


def test_cli_explains_bad_input_in_one_line(tmp_path: Path) -> None:
    not_a_feed = tmp_path / "broken"
    not_a_feed.mkdir()
    (not_a_feed / "vatsim-data_1.json").write_text("<html>502 Bad Gateway</html>")
    cases = [
        (["--replay", str(tmp_path / "missing")], f"{tmp_path / 'missing'}: no such directory"),
        (["--replay", str(tmp_path)], f"{tmp_path}: holds no vatsim-data*.json payloads"),
        (["--replay", str(not_a_feed)], f"{not_a_feed / 'vatsim-data_1.json'}: is not a"),
        (["--fail-mode", "http500", "--fail-rate", "1.5"], "--fail-rate: 1.5 is not in"),
        (["--fail-rate", "0.5"], "--fail-rate: needs --fail-mode"),
        (["--fail-mode", "melt"], "--fail-mode: 'melt' is not one of"),
        (["--replay", str(tmp_path), "--simulate"], "--replay/--simulate: choose one"),
        (["--replay", str(tmp_path), "--pilots", "5"], "--pilots: only applies to --simulate"),
        (["--interval", "0"], "--interval: 0.0 is not in the range x>0"),
    ]
    for args, message in cases:
        code, lines = _cli(*args)
        assert code == 2, args
        assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), lines


def test_feed_server_command_serves_until_interrupted() -> None:
    options = ["--port", "0", "--pilots", "40", "--controllers", "5", "--seed", "3"]
    process = subprocess.Popen(
        [sys.executable, "-m", "vatsim_pipeline.cli", "feed-server", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("feed-server: simulating 40 pilots and 5 controllers (seed 3)")
        status_url = line.strip().rsplit("VATSIM_STATUS_URL=", 1)[1]
        assert status_url.startswith("http://127.0.0.1:") and status_url.endswith("/status.json")
        fetched = FeedClient(status_url).fetch()
        assert fetched.data_url == status_url.replace("/status.json", "/v3/vatsim-data.json")
        assert parse_data_feed(fetched.data).rejected == []
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=15)
    assert code == 0, process.stderr.read()
