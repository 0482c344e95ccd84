"""Landing compression: bytes and CPU per snapshot for each candidate codec.

Compresses the recorded real payloads (`../shared/data/vatsim`, or `VATSIM_TEST_DATA`)
and eight consecutive snapshots of simulated traffic of today's size (1,500 pilots, 150
controllers, data and transceivers feeds) with gzip and zstd at several levels, and
prints per codec the ratio, the CPU to compress and decompress one snapshot, and the
landing directory's growth a day at one snapshot per 15 s. Writes nothing.

CPU figures are the best of `--repeat` (5) passes, as other processes share the machine.
Last line: `landing <codec> ratio <x>  compress <ms> ms/snapshot  <GiB> GiB/day`, for
the codec that `feed/landing.py` uses.
"""

from __future__ import annotations

import argparse
import gzip
import os
import time
from collections.abc import Callable
from pathlib import Path

import zstandard

from vatsim_pipeline.feed.landing import (
    ZSTD_LEVEL,
    ZSTD_MIN_MATCH,
    compress,
    read_payload,
)
from vatsim_pipeline.feed.simulator import Simulator

SNAPSHOTS_PER_DAY = 86_400 // 15
SIMULATED = 8
CHOSEN = f"zstd-{ZSTD_LEVEL}-mm{ZSTD_MIN_MATCH}"


def recorded() -> list[bytes]:
    root = Path(
        os.environ.get("VATSIM_TEST_DATA")
        or Path(__file__).resolve().parents[2] / "shared/data/vatsim"
    )
    files = sorted(root.glob("**/vatsim-data*.json*")) + sorted(root.glob("**/transceivers*.json"))
    return [read_payload(path) for path in files]


def simulated() -> list[list[bytes]]:
    simulator = Simulator(pilots=1500, controllers=150, seed=1)
    snapshots = []
    for _ in range(SIMULATED):
        simulator.step(15)
        _, data, radios = simulator.render()
        snapshots.append([data, radios])
    return snapshots


def codecs() -> dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]]:
    found = {
        f"gzip-{level}": (lambda p, lv=level: gzip.compress(p, lv, mtime=0), gzip.decompress)
        for level in (1, 6, 9)
    }
    decompress = zstandard.ZstdDecompressor().decompress
    for level in (1, 3, 6, 9, 12, 13, 14, 15):
        compressor = zstandard.ZstdCompressor(level=level, write_checksum=True)
        found[f"zstd-{level}"] = (compressor.compress, decompress)
    for level in (10, 11, 12):
        parameters = zstandard.ZstdCompressionParameters.from_level(
            level, min_match=6, write_checksum=True
        )
        compressor = zstandard.ZstdCompressor(compression_params=parameters)
        found[f"zstd-{level}-mm6"] = (compressor.compress, decompress)
    found[CHOSEN] = (compress, decompress)  # measured through the landing's own function
    return found


def best_cpu_s(work: Callable[[], object], repeat: int) -> float:
    """The least CPU of `repeat` runs of `work`: the run least disturbed by others."""
    spent = []
    for _ in range(repeat):
        started = time.process_time()
        work()
        spent.append(time.process_time() - started)
    return min(spent)


def measure(payloads: list[bytes], snapshots: int, codec, repeat: int) -> dict[str, float]:
    pack, unpack = codec
    packed = [pack(p) for p in payloads]
    assert [unpack(p) for p in packed] == payloads
    compress_s = best_cpu_s(lambda: [pack(p) for p in payloads], repeat)
    decompress_s = best_cpu_s(lambda: [unpack(p) for p in packed], repeat)
    raw, size = sum(map(len, payloads)), sum(map(len, packed))
    return {
        "ratio": raw / size,
        "compress_ms": compress_s * 1000 / snapshots,
        "decompress_ms": decompress_s * 1000 / snapshots,
        "gib_day": size / snapshots * SNAPSHOTS_PER_DAY / 2**30,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="passes per codec (5)")
    repeat = max(1, parser.parse_args().repeat)
    real = recorded()
    traffic = simulated()
    flat = [payload for snapshot in traffic for payload in snapshot]
    raw_day = sum(map(len, flat)) / SIMULATED * SNAPSHOTS_PER_DAY / 2**30
    print(f"recorded payloads: {len(real)}, {sum(map(len, real)) / 2**20:.1f} MiB")
    print(f"simulated: {SIMULATED} snapshots of 1,500 pilots, uncompressed {raw_day:.2f} GiB/day")
    print(
        f"{'codec':22} | {'real ratio':>10} | {'sim ratio':>9} | {'compress ms':>11} | "
        f"{'decompress ms':>13} | {'GiB/day':>7}"
    )
    chosen = None
    for name, codec in codecs().items():
        on_real = measure(real, len(real), codec, 1)
        on_sim = measure(flat, SIMULATED, codec, repeat)
        mark = " (landing)" if name == CHOSEN else ""
        print(
            f"{name + mark:22} | {on_real['ratio']:10.2f} | {on_sim['ratio']:9.2f} | "
            f"{on_sim['compress_ms']:11.1f} | {on_sim['decompress_ms']:13.2f} | "
            f"{on_sim['gib_day']:7.2f}"
        )
        if name == CHOSEN:
            chosen = (name, on_sim)
    name, figures = chosen
    print(
        f"landing {name} ratio {figures['ratio']:.2f}  compress {figures['compress_ms']:.1f} "
        f"ms/snapshot  {figures['gib_day']:.3f} GiB/day"
    )


if __name__ == "__main__":
    main()
