"""Release discovery and download against a local HTTP server on 127.0.0.1 that serves
a fake map_data announcement and the real VATSpy and simaware files; never the internet."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from vatsim_pipeline.sectors.boundaries import load_sectors
from vatsim_pipeline.sectors.release import (
    DEFAULT_MAP_DATA_URL,
    DEFAULT_TRACON_URL,
    ReleaseError,
    ReleaseSource,
    fetch_release,
)
from vatsim_pipeline_tests.shared_data import shared_data

COMMIT = "9f8d09cbdf139063510823f82325ab79c740a4ca"


class Handler(SimpleHTTPRequestHandler):
    """Static files, plus `/slow` that answers late and `/stream` without a length."""

    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.path == "/slow":
            time.sleep(1.5)
        if self.path == "/stream":
            self.send_response(200)
            self.end_headers()
            for _ in range(64):
                self.wfile.write(b"x" * 1024)
            return
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


class Server(ThreadingHTTPServer):
    """Quiet when a client hangs up early, as the size-limit and timeout tests do."""

    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """(base URL, served folder, request log) of a server for this test only."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "VATSpy.dat").write_bytes(shared_data("VATSpy.dat").read_bytes())
    boundaries = gzip.decompress(shared_data("Boundaries.geojson.gz").read_bytes())
    (served / "Boundaries.geojson").write_bytes(boundaries)
    tracon = shared_data("TRACONBoundaries.geojson").read_bytes()
    (served / "TRACONBoundaries.geojson").write_bytes(tracon)
    log: list[str] = []
    handler = type("TestHandler", (Handler,), {"requests": log})
    httpd = Server(("127.0.0.1", 0), partial(handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    announce(served, base)
    try:
        yield base, served, log
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def announce(served: Path, base: str, **changes: object) -> None:
    """Write the map_data announcement, as api.vatsim.net/api/map_data/ shapes it."""
    map_data = {
        "current_commit_hash": COMMIT,
        "vatspy_dat_url": f"{base}/VATSpy.dat",
        "fir_boundaries_dat_url": f"{base}/FIRBoundaries.dat",
        "fir_boundaries_geojson_url": f"{base}/Boundaries.geojson",
        **changes,
    }
    (served / "map_data.json").write_text(json.dumps(map_data))


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


def test_fetch_release_downloads_the_announced_files(
    server: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    base, served, log = server
    dest = tmp_path / "releases"
    files = fetch_release(
        f"{base}/map_data.json", dest, tracon_url=f"{base}/TRACONBoundaries.geojson"
    )
    assert files.commit == COMMIT
    assert files.directory == dest / COMMIT
    assert leftovers(dest) == [COMMIT]  # no staging folder remains
    for name, path in [
        ("VATSpy.dat", files.vatspy_dat),
        ("Boundaries.geojson", files.boundaries),
        ("TRACONBoundaries.geojson", files.tracon),
    ]:
        assert path.read_bytes() == (served / name).read_bytes()
    sectors = load_sectors(files.vatspy_dat, files.boundaries, tracon=files.tracon)
    assert len(sectors) == 1098 + 46 + 741
    assert log == [
        "/map_data.json",
        "/VATSpy.dat",
        "/Boundaries.geojson",
        "/TRACONBoundaries.geojson",
    ]


def test_a_release_already_stored_is_not_downloaded_again(
    server: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    base, _, log = server
    first = fetch_release(f"{base}/map_data.json", tmp_path, tracon_url=None)
    assert first.tracon is None and not (first.directory / "TRACONBoundaries.geojson").exists()
    log.clear()
    again = fetch_release(f"{base}/map_data.json", tmp_path, tracon_url=None)
    assert again == first and log == ["/map_data.json"]
    log.clear()
    with_tracons = fetch_release(
        f"{base}/map_data.json", tmp_path, tracon_url=f"{base}/TRACONBoundaries.geojson"
    )
    assert log == ["/map_data.json", "/TRACONBoundaries.geojson"]
    assert with_tracons.tracon is not None and with_tracons.tracon.is_file()
    assert leftovers(with_tracons.directory) == [
        "Boundaries.geojson",
        "TRACONBoundaries.geojson",
        "VATSpy.dat",
    ]


def test_a_file_over_the_size_limit_leaves_nothing(
    server: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    base, _, _ = server
    dest = tmp_path / "releases"
    with pytest.raises(
        ReleaseError, match=r"Boundaries\.geojson: 2045623 bytes is over the 1000000"
    ):
        fetch_release(f"{base}/map_data.json", dest, tracon_url=None, max_bytes=1_000_000)
    assert leftovers(dest) == []


def test_a_body_without_length_is_cut_at_the_limit(
    server: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    base, served, _ = server
    announce(served, base, vatspy_dat_url=f"{base}/stream")
    with pytest.raises(ReleaseError, match="body is over the 32768 bytes limit"):
        fetch_release(f"{base}/map_data.json", tmp_path, tracon_url=None, max_bytes=32768)
    assert leftovers(tmp_path) == ["served"]


def test_a_missing_file_fails_naming_its_url(
    server: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    base, _, _ = server
    dest = tmp_path / "releases"
    with pytest.raises(ReleaseError) as excinfo:
        fetch_release(f"{base}/map_data.json", dest, tracon_url=f"{base}/nope.geojson")
    message = str(excinfo.value)
    assert message.startswith(f"{base}/nope.geojson: download failed: 404")
    assert "\n" not in message
    assert leftovers(dest) == []


def test_a_slow_server_times_out(server: tuple[str, Path, list[str]], tmp_path: Path) -> None:
    base, _, _ = server
    with pytest.raises(ReleaseError, match=r"download failed: .*[Tt]imed? ?out"):
        fetch_release(f"{base}/slow", tmp_path, timeout=(2.0, 0.3))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"vatspy_dat_url": None}, "JSON without the strings"),
        ({"current_commit_hash": "../escape"}, "current_commit_hash: unusable value '../escape'"),
        ({"vatspy_dat_url": "file:///etc/passwd"}, "only http and https URLs are fetched"),
    ],
)
def test_unusable_announcements_are_refused(
    server: tuple[str, Path, list[str]], tmp_path: Path, changes: dict, reason: str
) -> None:
    base, served, _ = server
    announce(served, base, **changes)
    dest = tmp_path / "releases"
    with pytest.raises(ReleaseError, match=reason.replace(".", r"\.")):
        fetch_release(f"{base}/map_data.json", dest, tracon_url=None)
    assert leftovers(dest) == []


def test_an_announcement_that_is_not_json(
    server: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    base, served, _ = server
    (served / "map_data.json").write_text("<html>maintenance</html>")
    with pytest.raises(ReleaseError, match=r"map_data\.json: not JSON"):
        fetch_release(f"{base}/map_data.json", tmp_path)


def test_release_source_from_env() -> None:
    assert ReleaseSource.from_env({}) == ReleaseSource(DEFAULT_MAP_DATA_URL, DEFAULT_TRACON_URL)
    assert DEFAULT_MAP_DATA_URL == "https://api.vatsim.net/api/map_data/"
    configured = ReleaseSource.from_env(
        {
            "VATSIM_MAP_DATA_URL": "http://mirror/map_data",
            "VATSIM_TRACON_URL": "http://mirror/t.geojson",
        }
    )
    assert configured == ReleaseSource("http://mirror/map_data", "http://mirror/t.geojson")
    assert ReleaseSource.from_env({"VATSIM_TRACON_URL": ""}).tracon_url is None
