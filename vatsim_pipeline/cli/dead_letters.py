"""`vatsim-pipeline dead-letters`: list the failed ingest runs whose snapshot is not stored
or whose positions are not located in the sectors, and replay them from their failed step
(see `vatsim_pipeline.defs.dead_letters`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from vatsim_pipeline.cli.app import main
from vatsim_pipeline.cli.errors import UserError

ERROR_WIDTH = 70


def _engine():
    from vatsim_pipeline.settings import Settings
    from vatsim_pipeline.storage.engine import engine_for

    return engine_for(Settings.from_env().database_url)


def format_age(seconds: float) -> str:
    """`45s`, `12m 03s`, `5h 07m`, `3d 04h`: two units are enough to judge a backlog."""
    seconds = max(int(seconds), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {seconds:02d}s"
    return f"{seconds}s"


@main.group("dead-letters")
def dead_letters() -> None:
    """Failed ingest runs whose snapshot is not stored or not located, and their replay."""


@dead_letters.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
def list_command(as_json: bool) -> None:
    """List the dead letters, oldest first, with what each misses (its snapshot not stored,
    or its positions not located in sectors); warn when there are more than the limit
    ($VATSIM_DEAD_LETTER_LIMIT)."""
    from vatsim_pipeline.defs.dead_letters import dead_letter_limit, list_dead_letters
    from vatsim_pipeline.defs.instance import dagster_instance

    letters = list_dead_letters(dagster_instance(), _engine())
    limit = dead_letter_limit()
    now = datetime.now(UTC)
    if as_json:
        document = {
            "dead_letters": [letter.as_dict(now) for letter in letters],
            "size": len(letters),
            "limit": limit,
            "over_limit": len(letters) > limit,
        }
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        rows = [
            (
                letter.run_id,
                letter.update_timestamp.isoformat() if letter.update_timestamp else "?",
                letter.category,
                format_age(letter.age_s(now)),
                letter.missing,
                _one_line(letter.error),
            )
            for letter in letters
        ]
        for line in _table(("RUN", "SNAPSHOT", "CATEGORY", "AGE", "MISSING", "ERROR"), rows):
            click.echo(line)
        click.echo(f"dead letters: {len(letters)} of limit {limit}")
    if len(letters) > limit:
        click.echo(
            f"WARNING: {len(letters)} dead letters exceed the limit of {limit}: "
            "replay them (dead-letters replay --all) or find why they fail",
            err=True,
        )


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= ERROR_WIDTH else line[: ERROR_WIDTH - 1] + "…"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """Left-aligned columns; the last one is not padded."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    return [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
        for row in (header, *rows)
    ]


@dead_letters.command("replay")
@click.argument("run_ids", nargs=-1)
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead letter, oldest first.")
def replay_command(run_ids: tuple[str, ...], replay_all: bool) -> None:
    """Re-execute failed ingest runs RUN_IDS (or --all dead letters) from their failed step.

    Prints one line per run; exits 1 if any replay failed.
    """
    if bool(run_ids) == replay_all:
        raise click.UsageError("give the RUN_IDS to replay, or --all (not both)")
    from vatsim_pipeline.defs.dead_letters import list_dead_letters, replay
    from vatsim_pipeline.defs.instance import dagster_instance

    instance = dagster_instance()
    if replay_all:
        run_ids = tuple(letter.run_id for letter in list_dead_letters(instance, _engine()))
        if not run_ids:
            click.echo("no dead letters to replay")
            return
    for run_id in run_ids:
        if instance.get_run_by_id(run_id) is None:
            raise UserError(f"{run_id}: no such run")
    failed = 0
    for run_id in run_ids:
        outcome = replay(instance, run_id)
        via = f" (replay run {outcome.replay_run_id})" if outcome.replay_run_id else ""
        if outcome.success:
            click.echo(f"{run_id}: {outcome.detail}{via}")
        else:
            failed += 1
            click.echo(f"{run_id}: failed: {outcome.detail}{via}")
    click.echo(f"replayed {len(run_ids) - failed} of {len(run_ids)} dead letter(s)")
    if failed:
        raise SystemExit(1)
