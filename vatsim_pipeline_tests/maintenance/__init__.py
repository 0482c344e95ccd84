"""Helpers for the maintenance tests: landed payloads cut from a real recorded feed (a few
records each, so that storing them is quick), landed and optionally stored."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path

from sqlalchemy import Engine

from vatsim_pipeline.feed.landing import LandedSnapshot, land
from vatsim_pipeline.feed.parse import parse_data_feed, parse_transceivers
from vatsim_pipeline.storage.writes import LandedFiles, write_snapshot
from vatsim_pipeline_tests.shared_data import TRANSCEIVERS_FEED, sequence_files, shared_data

KEEP = {"pilots": 12, "controllers": 4, "atis": 2, "prefiles": 3}


@cache
def _recorded() -> tuple[dict, list]:
    document = json.loads(sequence_files()[0].read_bytes())
    for section, count in KEEP.items():
        document[section] = document[section][:count]
    return document, json.loads(shared_data(TRANSCEIVERS_FEED).read_bytes())[:6]


def payloads(update_timestamp: datetime) -> tuple[bytes, bytes]:
    """A real (cut) data feed published at `update_timestamp`, and radios to go with it."""
    document, radios = _recorded()
    general = dict(document["general"], update_timestamp=update_timestamp.isoformat())
    return json.dumps({**document, "general": general}).encode(), json.dumps(radios).encode()


def land_snapshot(
    landing_dir: Path, engine: Engine, update_timestamp: datetime, *, store: bool = True
) -> LandedSnapshot:
    """Land a snapshot as the sensor does and, with `store`, store it as the run does."""
    data, radios = payloads(update_timestamp)
    landed = land(landing_dir, update_timestamp, data, radios)
    if store:
        snapshot = parse_data_feed(data)
        parse_transceivers(radios, snapshot)
        write_snapshot(
            engine,
            snapshot,
            LandedFiles(
                data_path=landed.data_path,
                data_sha256=landed.data_sha256,
                transceivers_path=landed.transceivers_path,
                transceivers_sha256=landed.transceivers_sha256,
            ),
        )
    return landed


def payload_file(folder: Path, update_timestamp: datetime) -> Path:
    """A recorded-style data feed file of the cut payload, for ingest runs."""
    path = folder / f"vatsim-data_{update_timestamp:%Y%m%dT%H%M%S}.json"
    path.write_bytes(payloads(update_timestamp)[0])
    return path
