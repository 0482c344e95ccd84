"""After a database outage the daemon printed every line twice: dagster-postgres warned
through the root logger, which had no handler, so `logging.basicConfig` gave it one and
Dagster's lines, printed by their own handler, were printed again by the root's."""

from __future__ import annotations

import subprocess
import sys

DAEMON_AFTER_AN_OUTAGE = """
import logging

import sqlalchemy
from dagster._utils.log import configure_loggers
from dagster_postgres.utils import DagsterPostgresException, retry_pg_connection_fn

from vatsim_pipeline.launcher.warm_launcher import WarmRunLauncher

WarmRunLauncher()  # the daemon loads it from dagster.yaml
configure_loggers()  # as dagster-daemon configures its loggers


def connect():
    sqlalchemy.create_engine("postgresql+psycopg2://postgres@127.0.0.1:1/dagster").connect()


try:
    retry_pg_connection_fn(connect, retry_limit=0)
except DagsterPostgresException:
    pass
logging.getLogger("dagster.daemon.SensorDaemon").info("tick after the outage")
logging.getLogger("urllib3").warning("a library's own warning")
"""


def test_daemon_lines_are_printed_once_after_dagster_postgres_warned_on_the_root_logger():
    done = subprocess.run(
        [sys.executable, "-c", DAEMON_AFTER_AN_OUTAGE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert output.count("tick after the outage") == 1, output
    assert output.count("Retrying failed database connection") == 1, output
    assert output.count("a library's own warning") == 1, output
