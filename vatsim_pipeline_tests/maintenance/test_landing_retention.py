"""Landed payload retention on real (cut) payloads landed as the sensor lands them and
stored as the ingest run stores them, on both databases."""

from __future__ import annotations

import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from vatsim_pipeline.feed.landing import decode_payload, sha256_of
from vatsim_pipeline.maintenance import stored_snapshots
from vatsim_pipeline.maintenance.landing_retention import LandingRetention, sweep_landing
from vatsim_pipeline.storage.schema import feed_snapshots
from vatsim_pipeline_tests.maintenance import land_snapshot

WEEK = LandingRetention(days=7)


def _at(day: str, seconds: int) -> datetime:
    midnight = datetime.fromisoformat(f"{day}T00:00:00+00:00")
    return midnight + timedelta(seconds=seconds, microseconds=123456)


def _files(landed) -> list[Path]:
    return [Path(landed.data_path), Path(landed.transceivers_path)]


def _size(landed_snapshots) -> int:
    return sum(p.stat().st_size for landed in landed_snapshots for p in _files(landed))


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing"


def test_stored_payloads_of_old_days_go_unstored_and_young_ones_stay(landing, engine) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    partial_day = land_snapshot(landing, engine, _at("2024-11-18", 60))
    leftover = Path(partial_day.data_path).with_name(".vatsim-data_x.json.1234.tmp")
    leftover.write_text("{")
    whole_day = [land_snapshot(landing, engine, _at("2024-11-20", s)) for s in (15, 30)]
    kept_day_stored = land_snapshot(landing, engine, _at("2024-11-21", 45))
    unstored = land_snapshot(landing, engine, _at("2024-11-21", 60), store=False)
    young = land_snapshot(landing, engine, _at(tomorrow, 0))
    (landing / "2024-11-19").mkdir()
    removed_bytes = _size([partial_day, *whole_day, kept_day_stored])
    now = datetime.now(UTC) + timedelta(days=8)

    preview = sweep_landing(landing, engine, WEEK, now=now, dry_run=True)
    done = sweep_landing(landing, engine, WEEK, now=now)

    for sweep in (preview, done):
        assert sweep.files == 8
        assert sweep.bytes == removed_bytes
        assert (sweep.oldest, sweep.newest) == (_at("2024-11-18", 60), _at("2024-11-21", 45))
        assert (sweep.held_unstored, sweep.held_recent, sweep.other_files) == (2, 0, 1)
        assert sweep.days_removed == 2
        assert sweep.archives == []
    remaining = sorted(p.relative_to(landing).as_posix() for p in landing.rglob("*"))
    assert remaining == sorted(
        [
            "2024-11-18",
            f"2024-11-18/{leftover.name}",
            "2024-11-21",
            *(Path(p).relative_to(landing).as_posix() for p in _files(unstored)),
            tomorrow,
            *(Path(p).relative_to(landing).as_posix() for p in _files(young)),
        ]
    )
    assert preview.describe().startswith("would remove 8 landed payload(s) (")
    assert done.describe().endswith(
        "2 held: snapshot not stored; 0 held: stored too recently; 1 other file(s) left alone"
    )

    again = sweep_landing(landing, engine, WEEK, now=now)
    assert (again.files, again.days_removed, again.held_unstored) == (0, 0, 2)


def test_payloads_stay_until_stored_for_the_whole_retention(landing, engine) -> None:
    stored = [land_snapshot(landing, engine, _at("2024-11-20", s)) for s in (15, 30)]

    sweep = sweep_landing(landing, engine, WEEK, now=datetime.now(UTC) + timedelta(days=3))

    assert (sweep.files, sweep.held_recent, sweep.days_removed) == (0, 4, 0)
    assert all(p.exists() for landed in stored for p in _files(landed))


def test_archiving_writes_the_day_byte_for_byte_before_deleting(landing, engine, tmp_path) -> None:
    archive_dir = tmp_path / "archive"
    retention = LandingRetention(days=7, archive_dir=archive_dir)
    first = [land_snapshot(landing, engine, _at("2024-11-20", s)) for s in (15, 30)]
    originals = {p.name: p.read_bytes() for landed in first for p in _files(landed)}
    now = datetime.now(UTC) + timedelta(days=8)

    preview = sweep_landing(landing, engine, retention, now=now, dry_run=True)
    assert preview.archives == [str(archive_dir / "2024-11-20.tar")]
    assert not archive_dir.exists()

    done = sweep_landing(landing, engine, retention, now=now)

    archive = archive_dir / "2024-11-20.tar"
    assert done.archives == [str(archive)]
    assert done.archive_bytes == archive.stat().st_size
    assert (done.files, done.bytes, done.days_removed) == (4, sum(map(len, originals.values())), 1)
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    assert members == {f"2024-11-20/{name}": data for name, data in originals.items()}
    assert not (landing / "2024-11-20").exists()
    assert [p.name for p in archive_dir.iterdir()] == ["2024-11-20.tar"]

    late = land_snapshot(landing, engine, _at("2024-11-20", 45))
    second = sweep_landing(landing, engine, retention, now=now)

    assert second.archives == [str(archive_dir / "2024-11-20.1.tar")]
    with tarfile.open(second.archives[0]) as tar:
        assert sorted(tar.getnames()) == sorted(f"2024-11-20/{p.name}" for p in _files(late))
    assert archive.read_bytes() and len(list(archive_dir.iterdir())) == 2


def test_a_plain_payload_of_an_earlier_version_is_archived_compressed(
    landing, engine, tmp_path
) -> None:
    landed = land_snapshot(landing, engine, _at("2024-11-20", 15))
    compressed = Path(landed.data_path)
    plain = compressed.with_name(compressed.name.removesuffix(".zst"))
    plain.write_bytes(decode_payload(compressed.name, compressed.read_bytes()))
    compressed.unlink()
    plain_size = plain.stat().st_size
    retention = LandingRetention(days=7, archive_dir=tmp_path / "archive")

    done = sweep_landing(landing, engine, retention, now=datetime.now(UTC) + timedelta(days=8))

    with tarfile.open(done.archives[0]) as tar:
        members = {Path(m.name).name: tar.extractfile(m).read() for m in tar.getmembers()}
    assert sorted(members) == sorted([compressed.name, Path(landed.transceivers_path).name])
    with engine.connect() as connection:
        recorded = connection.execute(
            select(feed_snapshots.c.data_sha256, feed_snapshots.c.transceivers_sha256)
        ).one()
    assert [
        sha256_of(decode_payload(name, content)) for name, content in sorted(members.items())
    ] == [
        recorded.transceivers_sha256,
        recorded.data_sha256,
    ]
    assert len(members[compressed.name]) * 3 < plain_size
    assert not (landing / "2024-11-20").exists()


def test_a_failed_archive_deletes_nothing(landing, engine, tmp_path) -> None:
    not_a_folder = tmp_path / "archive"
    not_a_folder.write_text("a file where the archive folder should be")
    landed = land_snapshot(landing, engine, _at("2024-11-20", 15))
    retention = LandingRetention(days=7, archive_dir=not_a_folder)

    with pytest.raises(OSError):
        sweep_landing(landing, engine, retention, now=datetime.now(UTC) + timedelta(days=8))

    assert all(p.exists() for p in _files(landed))


def test_stored_snapshots_are_looked_up_in_batches(landing, engine) -> None:
    stored = [_at("2024-11-20", s) for s in (15, 30, 45)]
    for stamp in stored:
        land_snapshot(landing, engine, stamp)
    asked = [*stored, _at("2024-11-20", 60), _at("2024-11-21", 0)]

    found = stored_snapshots(engine, asked, batch=2)

    assert sorted(found) == stored
    assert all(stored_at > datetime.now(UTC) - timedelta(minutes=5) for stored_at in found.values())


def test_retention_reads_the_environment(tmp_path) -> None:
    assert LandingRetention.from_env({}) == LandingRetention(days=7.0, archive_dir=None)
    env = {
        "VATSIM_LANDING_RETENTION_DAYS": "2.5",
        "VATSIM_LANDING_ARCHIVE_DIR": str(tmp_path / "a"),
    }
    assert LandingRetention.from_env(env) == LandingRetention(2.5, (tmp_path / "a").resolve())


def test_a_missing_landing_directory_is_nothing_to_do(tmp_path, engine) -> None:
    sweep = sweep_landing(tmp_path / "nowhere", engine, WEEK)
    assert sweep.as_dict()["files"] == 0
    assert sweep.describe().startswith("removed 0 landed payload(s) (0 B)")
