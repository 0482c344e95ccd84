"""`vatsim-pipeline prune`: what the maintenance job removes, shown (`--dry-run`) or done
now: old Dagster runs by status, landed payloads deleted or archived, and the old days of
the per-snapshot tables (rows, partitions, bytes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from vatsim_pipeline.cli.app import main
from vatsim_pipeline.cli.errors import UserError


@main.command("prune")
@click.option("--dry-run", is_flag=True, help="Show what would be removed; remove nothing.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of lines.")
def prune_command(dry_run: bool, as_json: bool) -> None:
    """Prune Dagster runs older than $VATSIM_RUN_RETENTION_DAYS (failed runs once their
    snapshot is stored, or after $VATSIM_FAILED_RUN_RETENTION_DAYS) and landed payloads
    stored more than $VATSIM_LANDING_RETENTION_DAYS ago (archived first into
    $VATSIM_LANDING_ARCHIVE_DIR when it is set), and the days of flight_positions,
    transceivers and sector_assignments older than $VATSIM_TABLE_RETENTION_DAYS (or
    $VATSIM_RETENTION_DAYS_<TABLE>; `keep` keeps a table whole)."""
    from vatsim_pipeline.defs.instance import dagster_instance
    from vatsim_pipeline.maintenance.landing_retention import LandingRetention, sweep_landing
    from vatsim_pipeline.maintenance.prune_runs import RunRetention, prune_runs
    from vatsim_pipeline.maintenance.table_retention import (
        RetentionSettingError,
        TableRetention,
        sweep_tables,
    )
    from vatsim_pipeline.settings import Settings
    from vatsim_pipeline.storage.engine import engine_for

    try:
        table_retention = TableRetention.from_env()
    except RetentionSettingError as error:
        raise UserError(str(error)) from None
    settings = Settings.from_env()
    engine = engine_for(settings.database_url)
    now = datetime.now(UTC)
    run_retention = RunRetention.from_env()
    landing_retention = LandingRetention.from_env()
    runs = prune_runs(dagster_instance(settings), engine, run_retention, now=now, dry_run=dry_run)
    landing = sweep_landing(
        settings.landing_dir, engine, landing_retention, now=now, dry_run=dry_run
    )
    tables = sweep_tables(engine, table_retention, now=now, dry_run=dry_run)
    if as_json:
        document = {
            "dry_run": dry_run,
            "runs": runs.as_dict() | {"retention_days": run_retention.days},
            "landed_payloads": landing.as_dict() | {"retention_days": landing_retention.days},
            "tables": tables.as_dict() | {"partitions_ahead_days": table_retention.ahead_days},
        }
        click.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    click.echo(f"runs: {runs.describe()}")
    click.echo(f"landed payloads: {landing.describe()}")
    click.echo(f"tables: {tables.describe()}")
