"""The project's own VATSIM feed server, so that the pipeline and its tests run offline.

It answers like `status.vatsim.net` and `data.vatsim.net`:

- `GET /status.json` lists this server's own `/v3/vatsim-data.json` and
  `/v3/transceivers-data.json` (built from the request's host, so the URLs work from
  wherever the client reached the server);
- `GET /v3/vatsim-data.json` and `GET /v3/transceivers-data.json` serve the current
  snapshot, gzip-compressed when the client accepts it (compressed once per snapshot);
- `GET /api/map_data/` announces a map-data release of the simulated world like
  api.vatsim.net does, and `GET /map_data/<file>` serves its `VATSpy.dat`,
  `Boundaries.geojson` and `TRACONBoundaries.geojson` (see `map_release`), so that the
  sectors load offline through the live release's download path;
- `GET /_control` shows the fault settings, `POST /_control` with a JSON object changes
  them (see `faults.FaultSettings`), `POST /_control/advance` publishes the next snapshot
  at once.

Snapshots come from a `FeedSource` (the simulator or a replay) and are serialized once,
when published, so requests only copy bytes. A background clock publishes one every
`interval` seconds; with `auto=False` only `/_control/advance` does, which lets tests
decide when time passes. The clock renders (and compresses) each snapshot half an
interval ahead and makes it current at its moment: when the source's timestamps follow
the wall clock (a simulator started now), at the wall time its `update_timestamp` names,
as VATSIM's file appears when its timestamp says. Counting intervals from when the
server got going instead put every update a constant 0.2-1 s behind its own timestamp
(the server's start-up, different on every start), which `bench/soak.py` counted as the
pipeline's lateness.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from vatsim_pipeline.feed import faults as fault_modes
from vatsim_pipeline.feed.faults import Faults, KeepRawSend
from vatsim_pipeline.feed.map_release import ANNOUNCE_PATH, FILES_PATH, simulated_release

DATA_PATH = "/v3/vatsim-data.json"
TRANSCEIVERS_PATH = "/v3/transceivers-data.json"
HISTORY = 8


class FeedSource(Protocol):
    """Anything that can move on by one update and render itself as feed payloads."""

    def step(self, seconds: float) -> None: ...

    def render(self) -> tuple[datetime, bytes, bytes]: ...


@dataclass
class Published:
    """One snapshot as served: its payloads, serialized once, gzip-compressed on demand."""

    sequence: int
    update_timestamp: datetime
    data: bytes
    transceivers: bytes
    _compressed: dict[str, bytes] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def body(self, feed: str, compressed: bool) -> bytes:
        """The payload of `feed` (data or transceivers), raw or gzip-compressed."""
        raw = self.data if feed == "data" else self.transceivers
        if not compressed:
            return raw
        with self._lock:
            if feed not in self._compressed:
                self._compressed[feed] = gzip.compress(raw, compresslevel=5, mtime=0)
            return self._compressed[feed]


class FeedState:
    """The snapshots published so far (a few, newest last), the faults, and the clock."""

    def __init__(
        self,
        source: FeedSource,
        *,
        interval: float = 15.0,
        auto: bool = True,
        faults: Faults | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, not {interval}")
        self.source = source
        self.interval = interval
        self.auto = auto
        self.faults = faults or Faults()
        self._lock = threading.Lock()
        self._history: deque[Published] = deque(maxlen=HISTORY)
        self._publish()
        self._stop = threading.Event()
        self._clock: threading.Thread | None = None

    @property
    def current(self) -> Published:
        return self._history[-1]

    def older(self) -> Published:
        """The snapshot before the current one (the current one when there is none)."""
        history = list(self._history)
        return history[-2] if len(history) > 1 else history[-1]

    def advance(self) -> Published:
        """Step the source by one interval and publish what it renders."""
        with self._lock:
            self.source.step(self.interval)
            return self._publish()

    def _publish(self) -> Published:
        published = self._render()
        self._history.append(published)
        return published

    def _render(self) -> Published:
        update_timestamp, data, transceivers = self.source.render()
        sequence = self._history[-1].sequence + 1 if self._history else 0
        return Published(sequence, update_timestamp, data, transceivers)

    def _prepare(self) -> Published:
        """The next snapshot, stepped, rendered and compressed, not yet served."""
        with self._lock:
            self.source.step(self.interval)
            upcoming = self._render()
        for feed in ("data", "transceivers"):
            upcoming.body(feed, compressed=True)
        return upcoming

    def _make_current(self, upcoming: Published) -> None:
        """Serve `upcoming`, unless `/_control/advance` published past it meanwhile."""
        with self._lock:
            if upcoming.sequence == self.current.sequence + 1:
                self._history.append(upcoming)

    def start_clock(self) -> None:
        """Publish a snapshot every `interval` seconds of wall time, in a daemon thread."""
        if self.auto and self._clock is None:
            self._stop.clear()
            self._clock = threading.Thread(target=self._tick, name="feed-clock", daemon=True)
            self._clock.start()

    def stop_clock(self) -> None:
        self._stop.set()
        if self._clock is not None:
            self._clock.join(timeout=10)
            self._clock = None

    def _tick(self) -> None:
        """Half an interval before each snapshot's moment, render it; at its moment, serve it
        (see the module's docstring): the wall time of its timestamp when the timestamps
        follow the wall clock, else every `interval` of the monotonic clock."""
        on_wall_clock = abs(time.time() - self.current.update_timestamp.timestamp()) < self.interval
        due = time.monotonic() + self.interval
        while not self._stop.wait(max(0.0, due - self.interval / 2 - time.monotonic())):
            upcoming = self._prepare()
            if on_wall_clock:
                due = time.monotonic() + upcoming.update_timestamp.timestamp() - time.time()
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            self._make_current(upcoming)
            due += self.interval


def _status(request: Request) -> dict:
    base = str(request.base_url).rstrip("/")
    return {
        "data": {
            "v3": [base + DATA_PATH],
            "transceivers": [base + TRANSCEIVERS_PATH],
            "servers": [],
            "servers_sweatbox": [],
            "servers_all": [],
        },
        "user": [],
        "metar": [],
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def create_app(state: FeedState) -> KeepRawSend:
    """The ASGI app serving `state`: feeds, status and the control endpoints."""

    async def feed(request: Request, name: str) -> Response:
        mode, latency = state.faults.draw(name)
        if latency:
            await asyncio.sleep(latency)
        if mode == "timeout":
            await fault_modes.hang(state.faults.settings.hang_seconds, request.is_disconnected)
            mode = None
        if mode is not None:
            return await _fault(mode, name, request)
        return await _answer(name, request, state.current)

    async def _answer(name: str, request: Request, published: Published) -> Response:
        if name == "status":
            return JSONResponse(_status(request))
        compressed = "gzip" in request.headers.get("accept-encoding", "")
        body = await run_in_threadpool(published.body, name, compressed)
        headers = {"Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
        if compressed:
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type="application/json", headers=headers)

    async def _fault(mode: str, name: str, request: Request) -> Response:
        if mode == "http500":
            return Response("Internal Server Error", status_code=500, media_type="text/plain")
        if mode == "http503":
            retry_after = str(state.faults.settings.retry_after)
            return Response(
                "Service Unavailable",
                status_code=503,
                media_type="text/plain",
                headers={"Retry-After": retry_after},
            )
        if mode == "html":
            return Response(fault_modes.HTML_ERROR_PAGE, media_type="text/html")
        if mode == "close":
            if await fault_modes.drop_connection(request.scope):
                return Response(b"", status_code=500)
            return StreamingResponse(_BrokenBody(), media_type="application/json")
        if name == "status":
            raw = orjson.dumps(_status(request))
        else:
            raw = state.current.body(name, False)
        if mode == "truncated":
            return Response(fault_modes.truncated(raw), media_type="application/json")
        if mode == "stale" and name != "status":
            return Response(state.older().body(name, False), media_type="application/json")
        if mode == "future" and name == "data":
            future = fault_modes.shifted(raw, timedelta(days=1))
            return Response(future, media_type="application/json")
        return Response(raw, media_type="application/json")

    async def control(request: Request) -> Response:
        if request.method == "POST":
            try:
                changes = await request.json()
                if not isinstance(changes, dict):
                    raise ValueError("the body must be a JSON object of settings")
                state.faults.update(changes)
            except ValueError as error:
                return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse(state.faults.settings.as_dict())

    async def advance(request: Request) -> Response:
        published = await run_in_threadpool(state.advance)
        return JSONResponse(
            {
                "sequence": published.sequence,
                "update_timestamp": _iso(published.update_timestamp),
            }
        )

    async def map_data(request: Request) -> Response:
        base = str(request.base_url)
        return JSONResponse(simulated_release().announcement(base))

    async def map_file(request: Request) -> Response:
        body = simulated_release().files.get(request.path_params["name"])
        if body is None:
            return JSONResponse({"error": "no such file in the release"}, status_code=404)
        return Response(body, media_type="application/octet-stream")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.start_clock()
        try:
            yield
        finally:
            state.stop_clock()

    app = Starlette(
        routes=[
            Route("/status.json", functools.partial(feed, name="status")),
            Route(DATA_PATH, functools.partial(feed, name="data")),
            Route(TRANSCEIVERS_PATH, functools.partial(feed, name="transceivers")),
            Route(ANNOUNCE_PATH, map_data),
            Route(FILES_PATH + "{name}", map_file),
            Route("/_control", control, methods=["GET", "POST"]),
            Route("/_control/advance", advance, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    return KeepRawSend(app)


class _BrokenBody:
    """A body that fails before its first byte: the server then closes the connection."""

    def __aiter__(self) -> _BrokenBody:
        return self

    async def __anext__(self) -> bytes:
        raise ConnectionAbortedError("fault injection: connection dropped")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0 picks a free one); OSError if taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def make_server(app: KeepRawSend) -> uvicorn.Server:
    """A quiet uvicorn server that gives hanging requests one second at shutdown."""
    config = uvicorn.Config(
        app, log_level="warning", timeout_graceful_shutdown=1, lifespan="on", access_log=False
    )
    return uvicorn.Server(config)


@contextlib.contextmanager
def serve_in_background(app: KeepRawSend, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run `app` in a daemon thread while the block runs; yields its base URL."""
    sock = bind(host, port)
    server = make_server(app)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="feed-server", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the feed server did not start")
            time.sleep(0.01)
        yield base_url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
