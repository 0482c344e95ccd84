"""Playwright driving Debian's chromium (the machine cannot download Playwright's own
browsers): `/usr/bin/chromium`, or `VATSIM_TEST_CHROMIUM`, headless, with nothing that
calls home."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = os.environ.get("VATSIM_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    """The system chromium under Playwright."""
    if not os.path.exists(CHROMIUM):
        raise FileNotFoundError(
            f"{CHROMIUM}: no chromium (make test installs Debian's `chromium` package)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()
