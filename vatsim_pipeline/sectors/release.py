"""Discovery and download of the current VATSpy release and the simaware TRACON file.

`https://api.vatsim.net/api/map_data/` announces the current VATSpy release as JSON
with `current_commit_hash`, `vatspy_dat_url`, `fir_boundaries_geojson_url` and
`fir_boundaries_dat_url`. It names no TRACON file: simaware publishes
`TRACONBoundaries.geojson` as a GitHub release asset (the file left the repository on
2023-01-03), so its URL is configured separately.

A release is downloaded into a hidden temporary folder beside `<dest_dir>/<commit>` and
renamed into place only when every file is complete: a release folder that exists is
whole, and a second fetch of the same commit downloads nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson
import requests

from vatsim_pipeline.sectors.boundaries import SectorSourceError

DEFAULT_MAP_DATA_URL = "https://api.vatsim.net/api/map_data/"
DEFAULT_TRACON_URL = (
    "https://github.com/vatsimnetwork/simaware-tracon-project/releases/latest/download/"
    "TRACONBoundaries.geojson"
)
TIMEOUT = (10.0, 60.0)
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_MAP_DATA_BYTES = 1024 * 1024
USER_AGENT = "vatsim-pipeline (sector boundaries)"
_COMMIT = re.compile(r"^[A-Za-z0-9._-]{1,80}$")


class ReleaseError(SectorSourceError):
    """A release that could not be discovered or downloaded."""


@dataclass(frozen=True)
class ReleaseSource:
    """Where releases are announced: `VATSIM_MAP_DATA_URL`, and `VATSIM_TRACON_URL`
    (set it empty to load no TRACONs)."""

    map_data_url: str = DEFAULT_MAP_DATA_URL
    tracon_url: str | None = DEFAULT_TRACON_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReleaseSource:
        env = os.environ if env is None else env
        tracon_url = env.get("VATSIM_TRACON_URL", DEFAULT_TRACON_URL)
        return cls(
            map_data_url=env.get("VATSIM_MAP_DATA_URL") or DEFAULT_MAP_DATA_URL,
            tracon_url=tracon_url or None,
        )


@dataclass(frozen=True)
class ReleaseFiles:
    """The files of one downloaded release, ready for `load_sectors`."""

    commit: str
    directory: Path
    vatspy_dat: Path
    boundaries: Path
    tracon: Path | None


def _chunks(
    session: requests.Session, url: str, max_bytes: int, timeout: tuple[float, float]
) -> Iterator[bytes]:
    """The body of `url` in chunks, refused as soon as it grows beyond `max_bytes`."""
    if not url.startswith(("http://", "https://")):
        raise ReleaseError(url, "", "only http and https URLs are fetched")
    try:
        headers = {"User-Agent": USER_AGENT}
        with session.get(url, stream=True, timeout=timeout, headers=headers) as response:
            response.raise_for_status()
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise ReleaseError(url, "", f"{declared} bytes is over the {max_bytes} limit")
            size = 0
            for chunk in response.iter_content(chunk_size=1 << 16):
                size += len(chunk)
                if size > max_bytes:
                    raise ReleaseError(url, "", f"body is over the {max_bytes} bytes limit")
                yield chunk
    except requests.ConnectionError as exc:
        reason = f"cannot connect: {_root_cause(exc)}"
        raise ReleaseError(url, "", f"download failed: {reason}") from exc
    except requests.RequestException as exc:
        raise ReleaseError(url, "", f"download failed: {exc}") from exc


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost error under requests' and urllib3's wrappers ("[Errno 111] Connection
    refused", "[Errno -3] Temporary failure in name resolution"): the one line worth
    showing of a failed connection, whose message otherwise repeats every wrapper."""
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        reason = getattr(exc, "reason", None)
        first = exc.args[0] if exc.args else None
        inner = next(
            (
                candidate
                for candidate in (reason, exc.__cause__, exc.__context__, first)
                if isinstance(candidate, BaseException)
            ),
            None,
        )
        if inner is None:
            break
        exc = inner
    return exc


def _download(
    session: requests.Session, url: str, target: Path, max_bytes: int, timeout: tuple[float, float]
) -> None:
    """`url` into `target`, flushed to disk; a failed download leaves no file."""
    try:
        with target.open("wb") as out:
            for chunk in _chunks(session, url, max_bytes, timeout):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def read_map_data(
    map_data_url: str, session: requests.Session, timeout: tuple[float, float] = TIMEOUT
) -> tuple[str, str, str]:
    """`(commit, vatspy_dat_url, fir_boundaries_geojson_url)` of the current release."""
    body = b"".join(_chunks(session, map_data_url, MAX_MAP_DATA_BYTES, timeout))
    try:
        announced = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ReleaseError(map_data_url, "", f"not JSON: {exc}") from exc
    keys = ("current_commit_hash", "vatspy_dat_url", "fir_boundaries_geojson_url")
    if not isinstance(announced, dict) or not all(
        isinstance(announced.get(k), str) and announced[k] for k in keys
    ):
        raise ReleaseError(map_data_url, "", f"JSON without the strings {', '.join(keys)}")
    commit, dat_url, boundaries_url = (announced[k] for k in keys)
    if not _COMMIT.match(commit):
        raise ReleaseError(map_data_url, "current_commit_hash", f"unusable value {commit!r}")
    return commit, dat_url, boundaries_url


def fetch_release(
    map_data_url: str,
    dest_dir: Path | str,
    *,
    tracon_url: str | None = DEFAULT_TRACON_URL,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = TIMEOUT,
    max_bytes: int = MAX_FILE_BYTES,
) -> ReleaseFiles:
    """Download the announced release into `dest_dir/<commit>` unless it is already there."""
    if session is None:
        with requests.Session() as owned:
            return fetch_release(
                map_data_url,
                dest_dir,
                tracon_url=tracon_url,
                session=owned,
                timeout=timeout,
                max_bytes=max_bytes,
            )
    dest_dir = Path(dest_dir)
    commit, dat_url, boundaries_url = read_map_data(map_data_url, session, timeout)
    directory = dest_dir / commit
    names = {"vatspy_dat": "VATSpy.dat", "boundaries": "Boundaries.geojson"}
    urls = {"vatspy_dat": dat_url, "boundaries": boundaries_url}
    if tracon_url:
        names["tracon"], urls["tracon"] = "TRACONBoundaries.geojson", tracon_url
    if not directory.is_dir():
        dest_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{commit}.", dir=dest_dir))
        try:
            for key, url in urls.items():
                _download(session, url, staging / names[key], max_bytes, timeout)
            staging.rename(directory)
        except OSError as exc:
            if not directory.is_dir():
                raise ReleaseError(directory, "", f"cannot store the release: {exc}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    tracon = directory / names["tracon"] if "tracon" in names else None
    if tracon is not None and not tracon.is_file():
        # The release was stored earlier without TRACONs: add them now, atomically too.
        staged = tracon.with_name(f".{tracon.name}.part")
        _download(session, urls["tracon"], staged, max_bytes, timeout)
        staged.replace(tracon)
    return ReleaseFiles(
        commit=commit,
        directory=directory,
        vatspy_dat=directory / names["vatspy_dat"],
        boundaries=directory / names["boundaries"],
        tracon=tracon,
    )
