"""The page's files (`static/`, package data) held in memory with their gzipped form
and a content hash, so that serving one is a dictionary look-up."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib.resources import files

from vatsim_pipeline.dashboard.responses import GZIP_LEVEL

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
}


@dataclass(frozen=True)
class Asset:
    """One file of the page."""

    body: bytes
    gzipped: bytes
    media_type: str
    etag: str


def asset(body: bytes, suffix: str) -> Asset:
    """An asset from its bytes; served files of other types are text."""
    return Asset(
        body=body,
        gzipped=gzip.compress(body, GZIP_LEVEL),
        media_type=MEDIA_TYPES.get(suffix, "text/plain; charset=utf-8"),
        etag=hashlib.blake2b(body, digest_size=12).hexdigest(),
    )


def load_assets() -> dict[str, Asset]:
    """Every file under `static/` by its path there (`views/map.js`)."""
    root = files("vatsim_pipeline.dashboard") / "static"
    found: dict[str, Asset] = {}
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        for entry in folder.iterdir():
            name = f"{prefix}{entry.name}"
            if entry.is_dir():
                pending.append((entry, f"{name}/"))
            elif not entry.name.startswith("."):
                found[name] = asset(entry.read_bytes(), "." + entry.name.rsplit(".", 1)[-1])
    return found
