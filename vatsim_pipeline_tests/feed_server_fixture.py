"""The local feed server in a background thread, for any test that needs a VATSIM feed.

    from vatsim_pipeline_tests.feed_server_fixture import running_feed_server

    with running_feed_server(pilots=50, seed=1) as feed:
        client = FeedClient(feed.status_url)
        first = client.fetch()
        feed.advance()                           # publish the next snapshot now
        feed.set_faults(fail_mode="http503")     # every data request fails from now on
        feed.set_faults(fail_mode="http500", fail_times=2)   # the next two fail, then heal
        feed.clear_faults()

It serves `--simulate` traffic by default, or `replay=<folder>` of recorded payloads.
Snapshots only change when the test calls `advance()`, unless `auto=True`, which
publishes one every `interval` seconds of wall time like the real feed. Faults are the
settings of `vatsim_pipeline.feed.faults.FaultSettings` (`fail_mode`, `fail_rate`,
`fail_target`, `latency`, `hang_seconds`, `retry_after`, `fail_times`), given as keyword
arguments here or changed later over HTTP through the control methods.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from vatsim_pipeline.feed.faults import Faults, FaultSettings
from vatsim_pipeline.feed.replay import Replay, load_recordings
from vatsim_pipeline.feed.server import (
    DATA_PATH,
    TRANSCEIVERS_PATH,
    FeedSource,
    FeedState,
    create_app,
    serve_in_background,
)
from vatsim_pipeline.feed.simulator import Simulator

NO_FAULTS = FaultSettings().as_dict()


class RunningFeedServer:
    """Addresses of a running feed server, and its controls."""

    def __init__(self, base_url: str, state: FeedState) -> None:
        self.base_url = base_url
        self.status_url = f"{base_url}/status.json"
        self.data_url = f"{base_url}{DATA_PATH}"
        self.transceivers_url = f"{base_url}{TRANSCEIVERS_PATH}"
        self.state = state

    @property
    def source(self) -> FeedSource:
        """The `Simulator` or `Replay` behind the feed, for looking inside in-process."""
        return self.state.source

    def advance(self, count: int = 1) -> str:
        """Publish `count` new snapshots now; returns the newest `update_timestamp`."""
        stamp = ""
        for _ in range(count):
            stamp = self._call("POST", "/_control/advance")["update_timestamp"]
        return stamp

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change fault settings (e.g. `fail_mode="timeout", hang_seconds=2`); returns all."""
        return self._call("POST", "/_control", changes)

    def clear_faults(self) -> dict[str, Any]:
        """Back to a healthy feed: no faults, no latency."""
        return self._call("POST", "/_control", NO_FAULTS)

    def faults(self) -> dict[str, Any]:
        """The current fault settings."""
        return self._call("GET", "/_control")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.request(method, self.base_url + path, json=body, timeout=30)
        response.raise_for_status()
        return response.json()


@contextlib.contextmanager
def running_feed_server(
    *,
    replay: Path | None = None,
    pilots: int = 50,
    controllers: int = 10,
    seed: int = 1,
    start: datetime | None = None,
    interval: float = 15.0,
    auto: bool = False,
    **faults: Any,
) -> Iterator[RunningFeedServer]:
    """Serve a simulated (or, with `replay`, recorded) feed on a free port of 127.0.0.1."""
    source: FeedSource
    if replay is not None:
        source = Replay(load_recordings(replay))
    else:
        source = Simulator(pilots=pilots, controllers=controllers, seed=seed, start=start)
    state = FeedState(
        source, interval=interval, auto=auto, faults=Faults(FaultSettings(**faults), seed=seed)
    )
    with serve_in_background(create_app(state)) as base_url:
        yield RunningFeedServer(base_url, state)
