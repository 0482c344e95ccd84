"""Forecast backtest on simulated days: the sector forecast against persistence.

It stores `--days` (2) of simulated traffic (`--pilots` at the busiest hour, 100, with
the simulator's daily rhythm, one snapshot every `--step-s`, 120 s) from midnight UTC
of `--start` into a fresh SQLite database under `$VATSIM_HOME/bench/` (or the kept one
of `--reuse`), through the same storage functions an ingest run calls (a Dagster run
per snapshot would take hours; `vatsim-pipeline simulate` + `ingest` store the same
traffic), located in the real VATSpy/simaware sectors of `--sectors-dir` with the
VATSpy airports. Then it forecasts at every quarter hour and scores the next two hours
against what happened, next to persistence: first from the second day only (with the
first as its history), then over the whole window. The last line is
`forecast-backtest mae <x> persistence-mae <y> ratio <x/y>` of the whole window.
Figures go to `$VATSIM_HOME/bench/forecast_backtest.json` (`--record`: bench/results/,
or `--output`).

    .venv/bin/python bench/forecast_backtest.py
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from recorded_release import store_recorded_release
from results_file import add_arguments, results_path, write_results
from tqdm import tqdm

from vatsim_pipeline.analytics.forecast_backtest import FORECASTERS, backtest
from vatsim_pipeline.feed.simulator import Simulator
from vatsim_pipeline.settings import Settings
from vatsim_pipeline.storage.airport_storage import airports_frame
from vatsim_pipeline.storage.engine import make_engine, migrate
from vatsim_pipeline.storage.occupancy_writes import sector_set
from vatsim_pipeline.storage.reads_forecast import snapshot_times
from vatsim_pipeline.storage.sector_patterns import max_stay
from vatsim_pipeline.storage.simulated_history import store_simulated

REPOSITORY = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=2.0, help="simulated days (2)")
    parser.add_argument("--pilots", type=int, default=100, help="pilots at the peak (100)")
    parser.add_argument("--controllers", type=int, default=30)
    parser.add_argument("--step-s", type=float, default=120.0, help="seconds per snapshot")
    parser.add_argument("--start", default="2026-03-02", help="first day (UTC)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--sectors-dir", type=Path, default=REPOSITORY.parent / "shared/data/vatsim"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", type=Path, help="score a kept database again")
    add_arguments(parser)
    args = parser.parse_args()
    if args.days <= 1 or args.pilots < 1 or args.step_s <= 0:
        parser.error("--days must exceed 1 (the first day is history), --pilots and --step-s > 0")
    return args


def simulate(path: Path, args: argparse.Namespace, start: datetime) -> float:
    """Store the sectors, airports and the simulated days; returns the seconds it took."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    store_recorded_release(engine, args.sectors_dir)
    simulator = Simulator(
        pilots=args.pilots,
        controllers=args.controllers,
        seed=args.seed,
        start=start,
        daily_rhythm=True,
    )
    steps = int(args.days * 86_400 / args.step_s)
    mark = time.perf_counter()
    with tqdm(total=steps, unit="snapshot", desc="simulating") as bar:
        store_simulated(
            engine,
            simulator,
            steps,
            args.step_s,
            sector_set(engine),
            progress=lambda done: bar.update(done - bar.n),
        )
    engine.dispose()
    return time.perf_counter() - mark


def main() -> None:
    args = parse_args()
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    home = Settings.from_env().home / "bench"
    home.mkdir(parents=True, exist_ok=True)
    path = args.reuse or home / f"forecast_backtest_{os.getpid()}.db"
    figures: dict = {"parameters": {k: str(v) for k, v in vars(args).items()}}
    try:
        if not args.reuse:
            figures["simulate_s"] = round(simulate(path, args, start), 1)
        engine = make_engine(f"sqlite:///{path}")
        with engine.connect() as connection:
            times = snapshot_times(connection, start, start + timedelta(days=args.days + 1))
            airports = airports_frame(connection)
        forecasters = [make(engine, airports, max_stay()) for make in FORECASTERS]
        results = {}
        for name, score_from in (("from_day_2", start + timedelta(days=1)), ("whole", None)):
            mark = time.perf_counter()
            with tqdm(unit="anchor", desc=f"backtest {name}") as bar:

                def progress(done: int, total: int, bar=bar) -> None:
                    bar.total = total
                    bar.update(done - bar.n)

                result = backtest(forecasters, times, score_from=score_from, progress=progress)
            results[name] = result
            figures[name] = {
                "mae": result.mae,
                "persistence_mae": result.persistence_mae,
                "ratio": result.ratio,
                "anchors": result.anchors,
                "scored": result.scored,
                "seconds": round(time.perf_counter() - mark, 1),
            }
            print(f"{name}: {result.anchors} anchors, {result.scored} buckets: {result.line()}")
        engine.dispose()
    finally:
        if not (args.keep or args.reuse):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            print(f"kept: {path}")
    figures["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    written = write_results(results_path("forecast_backtest.json", args), figures)
    print(f"figures written to {written}")
    print(results["whole"].line())


if __name__ == "__main__":
    main()
