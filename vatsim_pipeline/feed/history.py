"""Simulated history on disk: the simulator's two feeds for every 15 s step of a window,
written as a folder that `vatsim-pipeline ingest DIR` (and `feed-server --replay`) reads.

Each step is a pair `vatsim-data_<stamp>.json` / `transceivers-data_<stamp>.json` with
the same `<stamp>` (the update time, `YYYYMMDDTHHMMSSZ`), which is how `ingest` pairs
them. Files are written to a temporary name and renamed, so an interrupted run leaves
only whole files behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from vatsim_pipeline.feed.simulator import Simulator

STEP_S = 15.0
DATA_PREFIX = "vatsim-data_"
TRANSCEIVERS_PREFIX = "transceivers-data_"


@dataclass(frozen=True)
class HistoryPlan:
    """What to simulate: from `start` (aware UTC), for `hours`, at peak `pilots`."""

    start: datetime
    hours: float
    pilots: int
    controllers: int
    seed: int = 0

    @property
    def steps(self) -> int:
        """Snapshots written: one at `start`, then one per 15 s up to `start + hours`."""
        return int(self.hours * 3600 // STEP_S) + 1


def stamp(moment: datetime) -> str:
    """The file-name form of an update time, ordered as time is."""
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _write_atomically(path: Path, payload: bytes) -> None:
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_bytes(payload)
    os.replace(temporary, path)


def write_history(
    plan: HistoryPlan, out: Path, progress: Callable[[int], None] | None = None
) -> int:
    """Simulate `plan` with a daily rhythm and write every step into `out`; returns the
    number of snapshots written. `progress` is called with 1 after each."""
    out.mkdir(parents=True, exist_ok=True)
    simulator = Simulator(
        pilots=plan.pilots,
        controllers=plan.controllers,
        seed=plan.seed,
        start=plan.start,
        daily_rhythm=True,
    )
    for index in range(plan.steps):
        if index:
            simulator.step(STEP_S)
        moment, data, transceivers = simulator.render()
        name = stamp(moment)
        _write_atomically(out / f"{TRANSCEIVERS_PREFIX}{name}.json", transceivers)
        _write_atomically(out / f"{DATA_PREFIX}{name}.json", data)
        if progress is not None:
            progress(1)
    return plan.steps


def end_of(plan: HistoryPlan) -> datetime:
    """The update time of the last snapshot of `plan`."""
    return plan.start + timedelta(seconds=STEP_S * (plan.steps - 1))
