"""Landing compressed payloads and reading every kind of payload file back, on real
recorded feeds."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import zstandard

from vatsim_pipeline.feed.landing import (
    DamagedPayloadFile,
    land,
    landed_after,
    read_payload,
    sha256_of,
    stamp_of,
)
from vatsim_pipeline_tests.shared_data import TRANSCEIVERS_FEED, sequence_files, shared_data

WHEN = datetime(2024, 11, 22, 12, 48, 40, 116824, tzinfo=UTC)


def test_land_writes_zstd_files_that_read_back_to_the_exact_payload(tmp_path) -> None:
    data = sequence_files()[0].read_bytes()
    radios = shared_data(TRANSCEIVERS_FEED).read_bytes()

    landed = land(tmp_path, WHEN, data, radios)

    data_file, radios_file = Path(landed.data_path), Path(landed.transceivers_path)
    assert data_file.name == "vatsim-data_20241122T124840.116824Z.json.zst"
    assert radios_file.name == "transceivers-data_20241122T124840.116824Z.json.zst"
    assert data_file.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"  # the zstd frame magic
    assert data_file.stat().st_size * 3 < len(data)
    assert (read_payload(data_file), read_payload(radios_file)) == (data, radios)
    assert (landed.data_sha256, landed.transceivers_sha256) == (sha256_of(data), sha256_of(radios))
    assert [p.name for p in data_file.parent.iterdir() if p.name.startswith(".")] == []
    # One plain frame: its size, a checksum, no dictionary; any zstd reads it on its own.
    frame = zstandard.get_frame_parameters(data_file.read_bytes())
    assert (frame.content_size, frame.has_checksum, frame.dict_id) == (len(data), True, 0)
    assert zstandard.ZstdDecompressor().decompress(data_file.read_bytes()) == data


def test_plain_and_gzip_files_read_as_they_are(tmp_path) -> None:
    plain = sequence_files()[1]
    assert read_payload(plain) == plain.read_bytes()
    recorded_gz = sorted(shared_data("long-20220624").glob("*.json.gz"))[0]
    document = json.loads(read_payload(recorded_gz))
    assert document["general"]["update_timestamp"].startswith("2022-06-24T09:29")
    assert read_payload(recorded_gz) == gzip.decompress(recorded_gz.read_bytes())


@pytest.mark.parametrize("suffix", [".json.zst", ".json.gz"])
def test_a_damaged_compressed_file_is_refused_with_its_name(tmp_path, suffix) -> None:
    landed = land(tmp_path, WHEN, sequence_files()[0].read_bytes(), None)
    whole = Path(landed.data_path).read_bytes()
    if suffix == ".json.gz":
        whole = gzip.compress(sequence_files()[0].read_bytes())
    damaged = tmp_path / f"vatsim-data_x{suffix}"
    damaged.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(DamagedPayloadFile, match=rf"vatsim-data_x\{suffix}: damaged"):
        read_payload(damaged)


def test_landed_after_finds_compressed_and_earlier_plain_payloads(tmp_path) -> None:
    data = sequence_files()[0].read_bytes()
    new = land(tmp_path, WHEN, data, data)
    day = Path(new.data_path).parent
    old_name = "20241122T124825.000000Z"
    (day / f"vatsim-data_{old_name}.json").write_bytes(data)
    (day / f"transceivers-data_{old_name}.json").write_bytes(b"[]")
    (day / "vatsim-data_not-a-stamp.json.zst").write_bytes(b"")
    (day / ".vatsim-data_x.json.zst.123.tmp").write_bytes(b"")

    found = landed_after(tmp_path, datetime(2024, 11, 22, tzinfo=UTC))

    assert [(f.data_path, f.transceivers_path) for f in found] == [
        (
            str(day / f"vatsim-data_{old_name}.json"),
            str(day / f"transceivers-data_{old_name}.json"),
        ),
        (new.data_path, new.transceivers_path),
    ]
    assert [f.update_timestamp for f in landed_after(tmp_path, found[0].update_timestamp)] == [WHEN]


def test_stamps_are_read_from_every_payload_suffix() -> None:
    for suffix in (".json.zst", ".json.gz", ".json"):
        name = f"vatsim-data_20241122T124840.116824Z{suffix}"
        assert stamp_of(name, "vatsim-data_") == WHEN
        assert stamp_of(name, "transceivers-data_") is None
    assert stamp_of("vatsim-data_20241122T124840.116824Z.txt", "vatsim-data_") is None
