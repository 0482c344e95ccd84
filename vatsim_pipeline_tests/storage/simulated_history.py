"""Hours of simulated traffic stored through the real write path (the one the ingest
job uses), without a Dagster run per snapshot: what the pattern and forecast tests
materialize their assets on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from vatsim_pipeline.feed.parse import parse_data_feed
from vatsim_pipeline.feed.simulator import Simulator
from vatsim_pipeline.storage.writes import write_snapshot


def store_simulated_history(
    engine: Engine, start: datetime, hours: float, pilots: int, seed: int = 0, step_s: int = 15
) -> int:
    """Store one snapshot every `step_s` from `start` for `hours`; returns how many."""
    simulator = Simulator(
        pilots=pilots, controllers=pilots // 10, seed=seed, start=start, daily_rhythm=True
    )
    count = int(hours * 3600 // step_s) + 1
    for index in range(count):
        if index:
            simulator.step(step_s)
        _, data, _ = simulator.render()
        write_snapshot(engine, parse_data_feed(data))
    return count
