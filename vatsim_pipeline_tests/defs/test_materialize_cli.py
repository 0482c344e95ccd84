"""`dagster asset materialize --select 'not group:traffic_patterns'` (every asset but the
hourly partitioned ones) works without the sensor: it fetches the feed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from vatsim_pipeline.storage.schema import feed_snapshots, flights, sectors
from vatsim_pipeline_tests.feed_server_fixture import running_feed_server
from vatsim_pipeline_tests.shared_data import REPOSITORY, shared_data


def test_materialize_everything_from_the_command_line(vatsim_env, engine) -> None:
    with running_feed_server(pilots=25, controllers=5, seed=11) as feed:
        stamp = feed.source.render()[0]
        env = {
            **os.environ,
            "VATSIM_STATUS_URL": feed.status_url,
            "VATSIM_SECTORS_DIR": str(shared_data()),
        }
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "dagster"),
                "asset",
                "materialize",
                "-m",
                "vatsim_pipeline.definitions",
                "--select",
                "not group:traffic_patterns",
            ],
            cwd=REPOSITORY,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'RUN_SUCCESS - Finished execution of run for "__ASSET_JOB"' in done.stderr
    with engine.connect() as connection:
        assert list(connection.scalars(select(feed_snapshots.c.update_timestamp))) == [stamp]
        assert connection.scalar(select(func.count()).select_from(flights)) == 25
        assert connection.scalar(select(func.count()).select_from(sectors)) > 1000
