"""The hourly sector-pattern assets in real Dagster runs on simulated history, on both
databases: an hour re-materialized gives identical rows, and a back-fill of the range
from the command line (one run) gives what materializing the hours one by one gave."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dagster import DagsterInstance, materialize
from sqlalchemy import Engine, select

from vatsim_pipeline.definitions import build_definitions
from vatsim_pipeline.defs.pattern_assets import sector_coverage, sector_load
from vatsim_pipeline.storage.pattern_tables import sector_coverage as coverage_table
from vatsim_pipeline.storage.pattern_tables import sector_load as load_table
from vatsim_pipeline_tests.analytics.simulated import simulate_into
from vatsim_pipeline_tests.shared_data import REPOSITORY

START = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
HOURS = [START + timedelta(hours=h) for h in range(4)]  # the last one has no traffic


def key(hour: datetime) -> str:
    return hour.strftime("%Y-%m-%d-%H:%M")


def dump(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as connection:
        return {
            table.name: sorted(tuple(row) for row in connection.execute(select(table)))
            for table in (load_table, coverage_table)
        }


def clear(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(load_table.delete())
        connection.execute(coverage_table.delete())


def materialize_hour(hour: datetime):
    result = materialize(
        [sector_load, sector_coverage],
        partition_key=key(hour),
        resources=build_definitions().resources,
        instance=DagsterInstance.get(),
    )
    assert result.success
    return {
        event.asset_key.to_user_string(): {
            k: v.value for k, v in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }


def test_hours_rematerialized_and_backfilled_give_the_same_rows(vatsim_env, engine) -> None:
    simulate_into(engine, START, 2.99, pilots=80, controllers=25, step_s=60)

    metadata = [materialize_hour(hour) for hour in HOURS]
    one_by_one = dump(engine)
    load_hours = {row[1] for row in one_by_one["sector_load"]}
    assert load_hours == {h + timedelta(minutes=15 * q) for h in HOURS[:3] for q in range(4)}
    assert metadata[1]["sector_load"]["flights_in_sectors"] > 50
    assert metadata[1]["sector_load"]["rows_deleted"] == 0
    assert metadata[3]["sector_load"]["rows_inserted"] == 0  # an hour without data
    assert 0 < metadata[1]["sector_coverage"]["network_coverage_share"] < 1

    again = materialize_hour(HOURS[1])
    assert dump(engine) == one_by_one
    assert again["sector_load"]["rows_deleted"] == again["sector_load"]["rows_inserted"] > 0

    clear(engine)
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "asset",
            "materialize",
            "-m",
            "vatsim_pipeline.definitions",
            "--select",
            "sector_load,sector_coverage",
            "--partition-range",
            f"{key(HOURS[0])}...{key(HOURS[-1])}",
        ],
        cwd=REPOSITORY,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert dump(engine) == one_by_one
