"""The one path helper to the real recorded VATSIM payloads, read in place.

`VATSIM_TEST_DATA` overrides where they are; by default they sit in `../shared/data/vatsim`
beside the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def shared_data(*parts: str) -> Path:
    """Path of a file or folder of the recorded payloads; fails loudly when absent."""
    root = Path(os.environ.get("VATSIM_TEST_DATA") or REPOSITORY.parent / "shared/data/vatsim")
    path = root.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"{path}: recorded VATSIM data not found (set VATSIM_TEST_DATA)")
    return path


def sequence_files() -> list[Path]:
    """The five consecutive snapshots of 2024-11-22, oldest first."""
    return sorted(shared_data("sequence-20241122").glob("vatsim-data_*.json"))


DATA_FEEDS = (
    "vatsim-data_20210104T153515Z_early-v3.json",
    "vatsim-data_20230312T172418Z.json",
    "vatsim-data_20250806T065457Z.json",
)
TRANSCEIVERS_FEED = "transceivers-data_2021-04-21.json"
