"""One POST of a JSON body to a webhook, with a timeout and retries (exponential backoff).

Connection failures, timeouts, 429 and 5xx answers are retried; other 4xx are not (the
same body would be refused again). Returns None when delivered, else why not.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

BACKOFF_S = 0.5


def post_json(
    url: str,
    body: dict,
    *,
    timeout_s: float,
    retries: int,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """POST `body` as JSON; None on a 2xx answer, else the last failure's reason."""
    http = session or requests.Session()
    reason = "not attempted"
    for attempt in range(retries + 1):
        if attempt:
            sleep(BACKOFF_S * 2 ** (attempt - 1))
        try:
            response = http.post(url, json=body, timeout=timeout_s)
        except requests.RequestException as error:
            reason = f"{type(error).__name__}: {error}"[:300]
            continue
        if 200 <= response.status_code < 300:
            return None
        reason = f"HTTP {response.status_code} {response.reason or ''}".strip()
        if response.status_code != 429 and response.status_code < 500:
            return reason
    return reason
