"""`vatsim-pipeline simulate`: hours of simulated feed history written to a folder, for
offline ingestion (`vatsim-pipeline ingest DIR`), tests, demos and the forecast backtest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from tqdm import tqdm

from vatsim_pipeline.cli.app import main
from vatsim_pipeline.cli.errors import UserError
from vatsim_pipeline.cli.feed_server import OneLineErrors
from vatsim_pipeline.feed.history import DATA_PREFIX, HistoryPlan, end_of, write_history

MAX_HOURS = 24 * 31


def _start(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--start {text}: not an ISO time (e.g. 2026-12-04T00:00Z)") from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


@main.command("simulate", cls=OneLineErrors)
@click.option(
    "--start",
    "start_text",
    required=True,
    help="Simulated time of the first snapshot (ISO, UTC unless zoned).",
)
@click.option(
    "--hours",
    required=True,
    type=click.FloatRange(0, MAX_HOURS, min_open=True),
    help="Hours of history to write (one snapshot per 15 s).",
)
@click.option(
    "--pilots",
    default=300,
    show_default=True,
    type=click.IntRange(0),
    help="Pilots connected at the busiest hour of the day.",
)
@click.option(
    "--controllers",
    type=click.IntRange(0),
    help="Controllers at the busiest hour (default: a tenth of --pilots).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write vatsim-data_*.json and transceivers-data_*.json into.",
)
def simulate(
    start_text: str,
    hours: float,
    pilots: int,
    controllers: int | None,
    seed: int,
    out: Path,
) -> None:
    """Write simulated feed payloads for every 15 s from --start for --hours into --out.

    Traffic follows a daily rhythm: the network is quietest around 07 UTC and busiest
    around 19 UTC, and each airport departs most in its local daytime. The same options
    write the same bytes.
    """
    if out.exists() and any(out.glob(f"{DATA_PREFIX}*.json")):
        raise UserError(f"--out {out}: already holds feed files; choose an empty folder")
    plan = HistoryPlan(
        start=_start(start_text),
        hours=hours,
        pilots=pilots,
        controllers=pilots // 10 if controllers is None else controllers,
        seed=seed,
    )
    try:
        with tqdm(total=plan.steps, unit="snapshot", leave=False) as bar:
            written = write_history(plan, out, bar.update)
    except OSError as error:
        raise UserError(f"--out {out}: {error.strerror or error}") from None
    click.echo(
        f"wrote {written} snapshot(s) from {plan.start.isoformat()} to "
        f"{end_of(plan).isoformat()} into {out}"
    )
