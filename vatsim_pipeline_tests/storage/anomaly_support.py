"""Copies of real recorded sequences with anomalies injected, and ingesting them in any
order straight through the storage layer (the Dagster wiring has its own tests)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select

from vatsim_pipeline.feed.parse import parse_data_feed
from vatsim_pipeline.storage.anomalies import anomalies
from vatsim_pipeline.storage.anomaly_writes import detect_snapshot
from vatsim_pipeline.storage.writes import LandedFiles, write_snapshot
from vatsim_pipeline_tests.shared_data import sequence_files, shared_data

Edit = Callable[[int, dict], None]
CONTENT = ("kind", "callsign", "cid", "started_at", "last_seen_at", "ended_at", "first_snapshot")


def read_feed(path: Path) -> dict:
    raw = path.read_bytes()
    return json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)


def long_window() -> list[Path]:
    """Six real snapshots of 2022-06-24, 11:32:27 to 11:42:27 (gaps of 1 to 3 minutes)."""
    return sorted(shared_data("long-20220624").glob("vatsim-data_*.json.gz"))[4:10]


def copies(tmp_path: Path, sources: list[Path], edit: Edit | None = None) -> list[Path]:
    """The sources rewritten into `tmp_path` (uncompressed), each edited by `edit(i, doc)`."""
    folder = tmp_path / "copies"
    folder.mkdir(exist_ok=True)
    written = []
    for index, source in enumerate(sources):
        document = read_feed(source)
        if edit is not None:
            edit(index, document)
        target = folder / source.name.removesuffix(".gz")
        target.write_text(json.dumps(document))
        written.append(target)
    return written


def pilot(document: dict, callsign: str) -> dict:
    return next(p for p in document["pilots"] if p["callsign"] == callsign)


def ingest(
    engine: Engine, paths: Iterable[Path], fetched_at: dict[int, datetime] | None = None
) -> None:
    """Store and detect each payload in the order given."""
    for path in paths:
        raw = path.read_bytes()
        snapshot = parse_data_feed(gzip.decompress(raw) if path.suffix == ".gz" else raw)
        landed = LandedFiles(fetched_at=(fetched_at or {}).get(path.name))
        write_snapshot(engine, snapshot, landed)
        detect_snapshot(engine, snapshot.update_timestamp)


def stored(engine: Engine) -> list[tuple]:
    """Every anomaly row's content (no ids, no alert state), sorted."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(*(anomalies.c[name] for name in CONTENT), anomalies.c.trigger)
        ).all()
    return sorted(tuple(row) for row in rows)


def summary(engine: Engine) -> set[tuple]:
    """(kind, callsign, cid, started_at, ended_at) of every row."""
    return {(row[0], row[1], row[2], row[3], row[5]) for row in stored(engine)}


def stamps(paths: list[Path]) -> list[datetime]:
    return [parse_data_feed(path.read_bytes()).update_timestamp for path in paths]


__all__ = ["sequence_files"]
