"""A real local HTTP server standing in for a Discord/Slack webhook: it records every
POSTed JSON body, and answers with the status codes it is told to (then 204)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, url: str) -> None:
        self.url = url
        self.bodies: list[dict] = []
        self.attempts = 0
        self.fail_with: list[int] = []
        self.lock = threading.Lock()


@contextlib.contextmanager
def running_webhook() -> Iterator[Receiver]:
    """A receiver on a free port of 127.0.0.1, for the duration of the block."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.attempts += 1
                status = receiver.fail_with.pop(0) if receiver.fail_with else 204
                if status == 204:
                    receiver.bodies.append(json.loads(body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
