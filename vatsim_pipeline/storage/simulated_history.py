"""Simulated history stored straight into the data tables: the traffic simulator stepped
through hours, each snapshot written and located in the stored sectors as an ingest run
does, without a Dagster run per snapshot (a simulated day at one snapshot a minute is
1,440 runs; this path stores it in minutes), for the backtest bench and the tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from vatsim_pipeline.feed.parse import parse_data_feed
from vatsim_pipeline.feed.simulator import Simulator
from vatsim_pipeline.storage.occupancy_writes import SectorSet, update_occupancy
from vatsim_pipeline.storage.sessions import end_sessions
from vatsim_pipeline.storage.writes import write_snapshot

SESSION_TIMEOUT_S = 120.0


def store_simulated(
    engine: Engine,
    simulator: Simulator,
    steps: int,
    step_s: float,
    sector_set: SectorSet,
    progress: Callable[[int], None] | None = None,
) -> list[datetime]:
    """Step `simulator` `steps` times by `step_s` seconds, storing each snapshot, its
    sector occupancy and the sessions it ends; returns the snapshot times."""
    times = []
    for step in range(steps):
        simulator.step(step_s)
        _, data, _ = simulator.render()
        snapshot = parse_data_feed(data)
        write_snapshot(engine, snapshot)
        update_occupancy(engine, snapshot.update_timestamp, sector_set)
        end_sessions(engine, SESSION_TIMEOUT_S)
        times.append(snapshot.update_timestamp)
        if progress:
            progress(step + 1)
    return times
