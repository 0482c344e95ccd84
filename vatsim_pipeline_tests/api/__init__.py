"""Tests of the HTTP API, over real HTTP: `serving` runs an app under uvicorn, `get` and
`ok` call it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
import uvicorn

TIMEOUT = 30


@contextmanager
def serving(app) -> Iterator[str]:
    """Serve `app` with uvicorn in a background thread on a free 127.0.0.1 port, and
    yield its base URL; the socket is bound before the server starts, so no other
    process can take the port in between."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def get(base: str, path: str, **params: Any) -> requests.Response:
    return requests.get(base + path, params=params, timeout=TIMEOUT)


def ok(base: str, path: str, **params: Any) -> Any:
    """The JSON body of a 200 reply (anything else fails the test, with the body)."""
    response = get(base, path, **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()
