"""HTTP client for the VATSIM feeds: discovery, fallback, timeouts, a size limit.

`status.json` lists mirrors of each feed; the client tries them in order and remembers
the one that answered. The transceivers feed is fetched with the data feed, at the same
moment, because it has no timestamp of its own and is paired with that snapshot. Both
payloads are parsed as JSON in full before they are handed on: a body cut short is
never landed. A broken transceivers feed is fetched again a few times within the same
update (it cannot be fetched later: by then it belongs to the next one); when it stays
broken the snapshot goes on without radios and `transceivers_error` says why.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
import requests

from vatsim_pipeline.feed.parse import (
    PayloadError,
    load_json,
    parse_timestamp,
    update_timestamp_of,
)

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 20.0
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
USER_AGENT = "vatsim-pipeline/0.1 (+https://github.com/vatsim-pipeline)"
# Attempts at the transceivers feed per update, each trying every mirror, with a pause
# (doubling) between them: at most 1.5 s of waiting, well inside the 15 s update period.
TRANSCEIVERS_ATTEMPTS = 3
TRANSCEIVERS_PAUSE_S = 0.5
UPDATE_TIMESTAMP = re.compile(rb'"update_timestamp"\s*:\s*"([^"]{10,40})"')
PEEK_BYTES = 4096
# A peek that hangs is no answer: the full fetch after it has the feed's real timeouts.
PEEK_TIMEOUT_S = 2.0


class FeedUnavailable(Exception):
    """No listed URL of a feed answered with a payload; says which URLs and why."""

    def __init__(
        self, service: str, attempts: list[tuple[str, str]], retry_after_s: float | None = None
    ) -> None:
        self.service = service
        self.attempts = attempts
        self.retry_after_s = retry_after_s
        tried = "; ".join(f"{url}: {reason}" for url, reason in attempts) or "no URL listed"
        super().__init__(f"{service} unreachable ({tried})")


@dataclass(frozen=True)
class FeedUrls:
    """The feed URLs that `status.json` lists, in the order to try them."""

    data: list[str]
    transceivers: list[str]


@dataclass
class FetchedFeeds:
    """One data-feed payload and the transceivers payload fetched with it."""

    data: bytes
    data_url: str
    update_timestamp: datetime
    fetched_at: datetime
    transceivers: bytes | None = None
    transceivers_url: str | None = None
    transceivers_error: str | None = None
    attempts: list[tuple[str, str]] = field(default_factory=list)


def snapshot_timestamp(payload: bytes) -> datetime:
    """`general.update_timestamp` of a data-feed payload, read from its head when possible."""
    match = UPDATE_TIMESTAMP.search(payload, 0, PEEK_BYTES)
    if match:
        try:
            return parse_timestamp(match.group(1).decode())
        except ValueError:
            pass
    return update_timestamp_of(load_json(payload, "data feed"))


class FeedClient:
    """Fetches both feeds through discovery, trying each listed mirror in turn."""

    def __init__(
        self,
        status_url: str,
        *,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        read_timeout_s: float = READ_TIMEOUT_S,
        max_bytes: int = MAX_PAYLOAD_BYTES,
        session: requests.Session | None = None,
    ) -> None:
        self.status_url = status_url
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.max_bytes = max_bytes
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self._urls: FeedUrls | None = None

    def _get(self, url: str) -> bytes:
        """GET with timeouts and the size limit; raises `requests` errors or `ValueError`."""
        with self.session.get(url, timeout=self.timeout, stream=True) as response:
            response.raise_for_status()
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise ValueError(f"payload of {declared} bytes exceeds {self.max_bytes}")
            chunks, size = [], 0
            for chunk in response.iter_content(chunk_size=256 * 1024):
                size += len(chunk)
                if size > self.max_bytes:
                    raise ValueError(f"payload exceeds {self.max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)

    def discover(self, *, refresh: bool = False) -> FeedUrls:
        """Read `status.json` (once, unless `refresh`) for the feed URLs."""
        if self._urls is not None and not refresh:
            return self._urls
        try:
            document = orjson.loads(self._get(self.status_url))
            data = document["data"]
            urls = FeedUrls(
                data=[u for u in data.get("v3", []) if isinstance(u, str)],
                transceivers=[u for u in data.get("transceivers", []) if isinstance(u, str)],
            )
        except requests.HTTPError as error:
            raise FeedUnavailable(
                "status", [(self.status_url, _describe(error))], _retry_after(error)
            ) from error
        except (requests.RequestException, ValueError) as error:
            raise FeedUnavailable("status", [(self.status_url, _describe(error))]) from error
        except (KeyError, TypeError, AttributeError):
            raise FeedUnavailable(
                "status", [(self.status_url, "status.json has no data.v3 list")]
            ) from None
        if not urls.data:
            raise FeedUnavailable("status", [(self.status_url, "status.json lists no data.v3")])
        self._urls = urls
        return urls

    def _first_answer(
        self, service: str, urls: list[str], check: Callable[[bytes], object] | None = None
    ) -> tuple[str, bytes, list]:
        """The first mirror's answer that `check` (raising `ValueError`) accepts."""
        attempts: list[tuple[str, str]] = []
        retry_after = None
        for url in urls:
            try:
                body = self._get(url)
                if check is not None:
                    check(body)
                return url, body, attempts
            except (requests.RequestException, ValueError) as error:
                attempts.append((url, _describe(error)))
                if isinstance(error, requests.HTTPError):
                    retry_after = _retry_after(error) or retry_after
        self._urls = None
        raise FeedUnavailable(service, attempts, retry_after)

    def peek(self) -> datetime | None:
        """The data feed's current `update_timestamp`, read from the first 4 KiB of the
        first listed mirror (`general` leads the payload), or None when that cannot tell
        (an error, no timestamp there). A cheap look to time a full `fetch`, which
        alone decides what is landed and reports failures."""
        try:
            url = self.discover().data[0]
            timeout = (min(self.timeout[0], PEEK_TIMEOUT_S), min(self.timeout[1], PEEK_TIMEOUT_S))
            with self.session.get(url, timeout=timeout, stream=True) as response:
                response.raise_for_status()
                head = response.raw.read(PEEK_BYTES, decode_content=True)
        except (FeedUnavailable, requests.RequestException, OSError, ValueError):
            return None
        match = UPDATE_TIMESTAMP.search(head or b"")
        try:
            return parse_timestamp(match.group(1).decode()) if match else None
        except ValueError:
            return None

    def fetch(self) -> FetchedFeeds:
        """Fetch the data feed (required) and the transceivers feed (best effort).

        The data payload is parsed as JSON in full, so a truncated or garbled answer is
        refused here (a `PayloadError`) instead of being landed and failing its run.
        """
        urls = self.discover()
        data_url, data, attempts = self._first_answer("data_feed", urls.data)
        fetched_at = datetime.now(UTC)
        try:
            update_timestamp = update_timestamp_of(load_json(data, "data feed"))
        except PayloadError as error:
            raise PayloadError(f"{data_url}: {error}") from None
        feeds = FetchedFeeds(
            data=data,
            data_url=data_url,
            update_timestamp=update_timestamp,
            fetched_at=fetched_at,
            attempts=attempts,
        )
        if urls.transceivers:
            self._fetch_transceivers(urls.transceivers, feeds)
        else:
            feeds.transceivers_error = f"{self.status_url} lists no transceivers feed"
        return feeds

    def _fetch_transceivers(self, urls: list[str], feeds: FetchedFeeds) -> None:
        """Fill in the transceivers payload, a complete JSON list, or why there is none."""
        error: FeedUnavailable | None = None
        for attempt in range(TRANSCEIVERS_ATTEMPTS):
            if attempt:
                time.sleep(TRANSCEIVERS_PAUSE_S * 2 ** (attempt - 1))
            try:
                feeds.transceivers_url, feeds.transceivers, _ = self._first_answer(
                    "transceivers_feed", urls, _transceivers_list
                )
                feeds.transceivers_error = None
                return
            except FeedUnavailable as failed:
                error = failed
        feeds.transceivers_error = f"{error} after {TRANSCEIVERS_ATTEMPTS} attempts"


def _transceivers_list(body: bytes) -> None:
    """Refuse a transceivers payload that is not one complete JSON list."""
    if not isinstance(load_json(body, "transceivers feed"), list):
        raise PayloadError("transceivers feed is not a JSON list")


def _describe(error: Exception) -> str:
    if isinstance(error, requests.HTTPError) and error.response is not None:
        return f"HTTP {error.response.status_code} {error.response.reason or ''}".strip()
    if isinstance(error, requests.Timeout):
        return f"timed out ({type(error).__name__})"
    if isinstance(error, requests.ConnectionError):
        return f"connection failed ({type(error).__name__})"
    return str(error)


def _retry_after(error: requests.HTTPError) -> float | None:
    value = error.response.headers.get("Retry-After") if error.response is not None else None
    try:
        return float(value) if value else None
    except ValueError:
        return None
