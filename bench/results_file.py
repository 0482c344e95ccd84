"""Where a bench writes its figures, shared by every bench.

By default under `$VATSIM_HOME/bench/` (`.vatsim/bench/`, git-ignored), so that running
a bench leaves a checkout clean; into the tracked `bench/results/` only when asked to
record them (`--record`: the figures `docs/performance.md` quotes); or to `--output`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vatsim_pipeline.settings import Settings

RECORDED = Path(__file__).resolve().parent / "results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--record` and `--output`, which exclude each other."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--record",
        action="store_true",
        help="write the figures into the tracked bench/results/ (for docs/performance.md)",
    )
    where.add_argument(
        "--output", type=Path, help="results JSON (default $VATSIM_HOME/bench/<name>)"
    )


def results_path(name: str, args: argparse.Namespace) -> Path:
    """The file the figures of bench `name` (`ingest.json`) go to."""
    if args.output is not None:
        return args.output
    if args.record:
        return RECORDED / name
    return Settings.from_env().home / "bench" / name


def write_results(path: Path, results: dict) -> Path:
    """Write `results` as JSON, atomically (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(results, indent=2, default=str) + "\n")
    partial.replace(path)
    return path
