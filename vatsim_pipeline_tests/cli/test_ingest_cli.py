"""`vatsim-pipeline ingest` on folders of recorded and landed payloads, compressed or not."""

from __future__ import annotations

import gzip

from click.testing import CliRunner
from sqlalchemy import select

from vatsim_pipeline.cli.app import main
from vatsim_pipeline.feed.client import snapshot_timestamp
from vatsim_pipeline.feed.landing import land, sha256_of
from vatsim_pipeline.storage.schema import feed_snapshots
from vatsim_pipeline_tests.shared_data import sequence_files


def test_ingest_reads_zstd_gzip_and_plain_payloads_of_a_folder(
    vatsim_env, engine, tmp_path
) -> None:
    first, second, third = (path.read_bytes() for path in sequence_files()[:3])
    folder = tmp_path / "recorded"
    landed = land(folder, snapshot_timestamp(first), first, None)
    day = folder / snapshot_timestamp(first).strftime("%Y-%m-%d")
    (day / "vatsim-data_second.json.gz").write_bytes(gzip.compress(second))
    (day / "vatsim-data_third.json").write_bytes(third)
    (day / "vatsim-data_notes.txt").write_text("not a payload")

    result = CliRunner().invoke(main, ["ingest", str(day)])

    assert result.exit_code == 0, result.output
    assert "ingested 3 of 3 snapshot(s)" in result.stdout
    with engine.connect() as connection:
        stored = connection.execute(
            select(feed_snapshots.c.data_path, feed_snapshots.c.data_sha256).order_by(
                feed_snapshots.c.update_timestamp
            )
        ).all()
    assert [(row.data_path, row.data_sha256) for row in stored] == [
        (landed.data_path, sha256_of(first)),
        (str(day / "vatsim-data_second.json.gz"), sha256_of(second)),
        (str(day / "vatsim-data_third.json"), sha256_of(third)),
    ]


def test_ingest_of_a_folder_without_payloads_is_one_error_line(vatsim_env, tmp_path) -> None:
    (tmp_path / "notes.json.zst").write_bytes(b"")

    result = CliRunner().invoke(main, ["ingest", str(tmp_path)])

    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {tmp_path}: no vatsim-data*.json[.zst|.gz] files in this folder\n"
    )
