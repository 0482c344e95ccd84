"""`vatsim-pipeline ingest`: back-fill recorded payloads through the same Dagster job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import click
from tqdm import tqdm

from vatsim_pipeline.cli.app import main
from vatsim_pipeline.cli.errors import UserError
from vatsim_pipeline.feed.client import snapshot_timestamp
from vatsim_pipeline.feed.landing import payload_suffix, read_payload
from vatsim_pipeline.feed.parse import PayloadError

QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass(frozen=True)
class RecordedPayload:
    """A data-feed file to ingest, with the timestamp read from its head and the
    transceivers file fetched with it, if any."""

    path: Path
    update_timestamp: datetime | None
    problem: str | None = None
    transceivers: Path | None = None


def _expand(paths: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.glob("vatsim-data*") if payload_suffix(p.name))
            if not found:
                raise UserError(f"{path}: no vatsim-data*.json[.zst|.gz] files in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise UserError(f"{path}: no such file or folder")
    return files


def _sibling_transceivers(path: Path) -> Path | None:
    """`transceivers-data<rest>` beside `vatsim-data<rest>`: how `simulate` pairs them."""
    if not path.name.startswith("vatsim-data"):
        return None
    sibling = path.with_name("transceivers-data" + path.name.removeprefix("vatsim-data"))
    return sibling if sibling.is_file() else None


def _inspect(path: Path) -> RecordedPayload:
    try:
        stamp = snapshot_timestamp(read_payload(path))
        return RecordedPayload(path, stamp, transceivers=_sibling_transceivers(path))
    except PayloadError as error:
        return RecordedPayload(path, None, str(error))
    except OSError as error:
        return RecordedPayload(path, None, error.strerror or str(error))


@main.command("ingest")
@click.argument("files", nargs=-1, required=True)
@click.option(
    "--transceivers",
    "transceivers_file",
    type=click.Path(exists=True, dir_okay=False),
    help="transceivers-data.json fetched with the (single) data FILE.",
)
def ingest(files: tuple[str, ...], transceivers_file: str | None) -> None:
    """Ingest recorded data-feed FILES (or folders of them), in any order.

    A `transceivers-data<rest>` file beside `vatsim-data<rest>` is ingested with it.

    Each file becomes one run of the ingest job in the Dagster instance ($DAGSTER_HOME),
    stored into $VATSIM_DATABASE_URL (default: the embedded SQLite).
    """
    paths = _expand(files)
    if transceivers_file and len(paths) != 1:
        raise UserError(f"--transceivers {transceivers_file}: pairs with exactly one data FILE")
    from vatsim_pipeline.definitions import build_definitions
    from vatsim_pipeline.defs.ingest_job import ingest_run_config, ingest_tags
    from vatsim_pipeline.defs.instance import dagster_instance

    payloads = sorted(
        (_inspect(path) for path in paths),
        key=lambda p: (p.update_timestamp is None, p.update_timestamp or datetime.min, p.path),
    )
    job = build_definitions().resolve_job_def("ingest_snapshot")
    instance = dagster_instance()
    stored, failed = 0, []
    progress = tqdm(payloads, unit="snapshot", disable=len(payloads) < 2, leave=False)
    for payload in progress:
        progress.set_postfix_str(payload.path.name)
        if payload.problem:
            failed.append(f"{payload.path}: {payload.problem}")
            continue
        run_config = {
            **ingest_run_config(
                str(payload.path),
                transceivers_file or (payload.transceivers and str(payload.transceivers)),
            ),
            **QUIET_LOGGERS,
        }
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            tags={**ingest_tags(payload.update_timestamp), "vatsim/source": "cli"},
            raise_on_error=False,
        )
        if result.success:
            stored += 1
        else:
            failed.append(f"{payload.path}: run {result.run_id} failed: {_failure(result)}")
    for line in failed:
        click.echo(f"error: {line}", err=True)
    click.echo(f"ingested {stored} of {len(payloads)} snapshot(s) into the database")
    if failed:
        raise SystemExit(1)


def _failure(result) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause and "Failure" not in error.cls_name:
                error = error.cause
            return error.message.strip().splitlines()[0]
    return "see the run's event log"
