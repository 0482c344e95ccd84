"""`vatsim-pipeline init`: everything that must be ready before the daemon, the webserver or
`dagster dev` starts, done once by one process.

A new SQLite `DAGSTER_HOME` opened by the daemon and its code server at the same moment
can be left with two alembic heads ("alembic_version has more than one head") and no run
ever starts; so the instance's storage is created and stamped here first, and the data
tables migrated. It also refuses a UI port that another program holds, which would
otherwise leave the daemon running without a UI, and a malformed schedule cron
(`VATSIM_FORECAST_CRON`, `VATSIM_MAINTENANCE_CRON`), on which the definitions would not
load. `make run` and `make demo` run it; a
service runs it before the daemon (see docs/deployment.md).
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
from pathlib import Path

import click

from vatsim_pipeline.cli.app import main
from vatsim_pipeline.cli.errors import UserError


def _refuse_taken(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                reason = "in use by another program; choose another (make run PORT=...)"
            else:
                reason = error.strerror or str(error)
            raise UserError(f"port {port} on {host}: {reason}") from None


def _refuse_malformed_crons() -> None:
    """A schedule cron the definitions would fail to load on, named by its variable."""
    from vatsim_pipeline.defs.schedule_crons import CronSettingError, check_schedule_crons

    try:
        check_schedule_crons()
    except CronSettingError as error:
        raise UserError(str(error)) from None


def _dagster_home() -> Path:
    """`$DAGSTER_HOME`, else the embedded default's `$VATSIM_HOME/dagster_home`."""
    from vatsim_pipeline.settings import Settings

    given = os.environ.get("DAGSTER_HOME")
    return Path(given) if given else Settings.from_env().home / "dagster_home"


@main.command("init")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Instance profile to install as $DAGSTER_HOME/dagster.yaml (e.g. dagster.yaml, "
    "vatsim_pipeline/deploy/dagster.postgres.yaml); default: keep the one there.",
)
@click.option(
    "--port",
    "ports",
    multiple=True,
    type=click.IntRange(1, 65535),
    help="A port the next processes will listen on; refused if taken (repeatable).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address of --port.")
def init_command(config_file: Path | None, ports: tuple[int, ...], host: str) -> None:
    """Prepare $DAGSTER_HOME (Dagster's runs, events and schedules storage) and the data
    tables before any Dagster process starts, and check that --port is free. Safe to
    run again: what exists is kept."""
    _refuse_malformed_crons()
    for port in ports:
        _refuse_taken(host, port)
    home = _dagster_home()
    try:
        home.mkdir(parents=True, exist_ok=True)
        if config_file is not None:
            shutil.copyfile(config_file, home / "dagster.yaml")
    except OSError as error:
        raise UserError(f"DAGSTER_HOME {home}: {error.strerror or error}") from None
    if not (home / "dagster.yaml").exists():
        raise UserError(f"DAGSTER_HOME {home}: no dagster.yaml (give one with --config)")
    os.environ["DAGSTER_HOME"] = str(home)
    storage = _init_instance(home)
    click.echo(f"Dagster instance ready in {home} ({storage})")
    click.echo(f"data tables ready in {_init_tables()}")


def _init_instance(home: Path) -> str:
    """Create and stamp the instance's storage, in this one process; its kind."""
    from dagster import DagsterInstance
    from dagster._core.errors import DagsterInvalidConfigError

    try:
        with DagsterInstance.from_config(str(home)) as instance:
            # Each storage creates its tables and stamps alembic when first opened.
            instance.get_runs(limit=1)
            instance.all_instigator_state()
            _start_event_log_consumer(instance)
            return type(instance.run_storage).__name__
    except DagsterInvalidConfigError as error:
        reason = " ".join(str(error).split())
        raise UserError(f"{home / 'dagster.yaml'}: {reason}") from None
    except Exception as error:  # a storage that cannot be reached: one line, exit 2
        reason = " ".join(str(error).split())[:300]
        raise UserError(f"DAGSTER_HOME {home}: cannot open the instance: {reason}") from None


def _start_event_log_consumer(instance) -> None:
    """Store the cursors the daemon's event log consumer starts from on a new instance, as
    it would itself (the newest event: older ones are not retried), so that a first start
    does not warn "No cursor for event type ..., ignoring older events": nothing to act on.
    """
    from dagster._daemon.auto_run_reexecution.event_log_consumer import (
        DAGSTER_EVENT_TYPES,
        _create_cursor_key,
    )

    keys = {_create_cursor_key(event_type) for event_type in DAGSTER_EVENT_TYPES}
    stored = instance.daemon_cursor_storage.get_cursor_values(keys)
    missing = keys - set(stored)
    if missing:
        newest = instance.event_log_storage.get_maximum_record_id() or 0
        instance.daemon_cursor_storage.set_cursor_values(dict.fromkeys(missing, str(newest)))


def _init_tables() -> str:
    from sqlalchemy.exc import SQLAlchemyError

    from vatsim_pipeline.settings import Settings
    from vatsim_pipeline.storage.engine import make_engine, migrate
    from vatsim_pipeline.storage.reads_base import describe_error

    url = Settings.from_env().database_url
    engine = make_engine(url)
    try:
        migrate(engine)
        return engine.url.render_as_string(hide_password=True)
    except SQLAlchemyError as error:
        raise UserError(f"VATSIM_DATABASE_URL: {describe_error(error)}") from None
    finally:
        engine.dispose()
