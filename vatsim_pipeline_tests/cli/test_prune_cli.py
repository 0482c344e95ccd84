"""`vatsim-pipeline prune [--dry-run] [--json]` on landed payloads and real runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.test_utils import create_run_for_test
from sqlalchemy import func, select

# Registers the command on `main`, whether or not cli/app.py lists the module yet.
import vatsim_pipeline.cli.prune  # noqa: F401
from vatsim_pipeline.cli.app import main
from vatsim_pipeline.storage.schema import transceivers
from vatsim_pipeline_tests.maintenance import KEEP, land_snapshot

OLD = datetime(2024, 11, 20, 10, 0, 15, 250000, tzinfo=UTC)
LATER = datetime(2024, 11, 20, 10, 0, 30, 250000, tzinfo=UTC)


def test_dry_run_shows_then_prune_removes(vatsim_env, engine, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("VATSIM_LANDING_RETENTION_DAYS", "0")
    monkeypatch.setenv("VATSIM_RUN_RETENTION_DAYS", "0")
    monkeypatch.setenv("VATSIM_LANDING_ARCHIVE_DIR", str(tmp_path / "archive"))
    landing = Path(vatsim_env["VATSIM_LANDING_DIR"])
    stored = land_snapshot(landing, engine, OLD)
    land_snapshot(landing, engine, LATER, store=False)
    size = sum(Path(p).stat().st_size for p in (stored.data_path, stored.transceivers_path))
    instance = DagsterInstance.get()
    for status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE):
        create_run_for_test(instance, job_name="ingest_snapshot", status=status)
    archive = str(tmp_path / "archive" / "2024-11-20.tar")
    with engine.connect() as connection:
        radios = connection.execute(select(func.count()).select_from(transceivers)).scalar_one()
    postgres = engine.dialect.name == "postgresql"

    preview = CliRunner().invoke(main, ["prune", "--dry-run", "--json"])

    assert preview.exit_code == 0, preview.output
    document = json.loads(preview.stdout)
    assert document["dry_run"] is True
    runs, payloads = document["runs"], document["landed_payloads"]
    assert (runs["deleted"], runs["deleted_by_status"]) == (2, {"SUCCESS": 2})
    assert (runs["kept_failed_no_snapshot"], runs["retention_days"]) == (1, 0.0)
    assert (payloads["files"], payloads["bytes"], payloads["held_unstored"]) == (2, size, 2)
    assert (payloads["archives"], payloads["retention_days"]) == ([archive], 0.0)
    assert payloads["oldest"] == payloads["newest"] == OLD.isoformat()
    assert Path(stored.data_path).exists()
    tables = document["tables"]
    assert (tables["rows"], tables["partitions_ahead_days"]) == (KEEP["pilots"] + radios, 3)
    assert tables["tables"]["flight_positions"]["rows"] == KEEP["pilots"]
    assert tables["tables"]["transceivers"] | {"bytes": 0} == {
        "retention_days": 30,
        "cutoff": tables["tables"]["transceivers"]["cutoff"],
        "rows": radios,
        "bytes": 0,
        "partitions": ["transceivers_p20241120"] if postgres else [],
        "deferred": [],
        "batches": 0,
        "archived": [],
        "archived_rows": 0,
        "archive_bytes": 0,
    }
    assert (tables["dry_run"], tables["partitions_created"]) == (True, [])

    done = CliRunner().invoke(main, ["prune"])

    assert done.exit_code == 0, done.output
    runs_line, payloads_line, tables_line = done.stdout.splitlines()
    assert runs_line == (
        "runs: deleted 2 run(s) (SUCCESS 2); kept 0 failed run(s) whose snapshot is not "
        "stored or not located, 1 failed run(s) of no snapshot, 0 holding an asset's latest "
        "materialization"
    )
    assert payloads_line.startswith(
        f"landed payloads: removed 2 landed payload(s) ({size / 1000:.1f} kB, "
        f"{OLD.isoformat()} .. {OLD.isoformat()}), archived into 1 file(s) of "
    )
    assert payloads_line.endswith(
        ", 0 day folder(s); 2 held: snapshot not stored; 0 held: stored too recently"
    )
    assert Path(archive).exists() and not Path(stored.data_path).exists()
    assert tables_line.startswith(
        f"tables: removed {KEEP['pilots'] + radios:,} row(s) (flight_positions "
        f"{KEEP['pilots']}, transceivers {radios}, sector_assignments 0)"
    )
    if postgres:
        assert " in 3 partition(s), " in tables_line
        assert tables_line.endswith("; created 0 partition(s) ahead")

    after = json.loads(CliRunner().invoke(main, ["prune", "--dry-run", "--json"]).stdout)
    assert (after["runs"]["deleted"], after["landed_payloads"]["files"]) == (0, 0)
    assert after["tables"]["rows"] == 0


def test_a_bad_table_retention_is_one_line_and_prunes_nothing(vatsim_env, monkeypatch) -> None:
    monkeypatch.setenv("VATSIM_RETENTION_DAYS_FLIGHT_POSITIONS", "a month")

    result = CliRunner().invoke(main, ["prune"])

    assert result.exit_code == 2
    assert result.stderr == (
        "error: VATSIM_RETENTION_DAYS_FLIGHT_POSITIONS='a month': expected a whole number "
        "of days >= 0 or 'keep'\n"
    )


def test_with_an_archive_the_dry_run_lists_the_files_prune_then_writes(
    vatsim_env, engine, monkeypatch, tmp_path
) -> None:
    archive = tmp_path / "parquet"
    monkeypatch.setenv("VATSIM_ARCHIVE_DIR", str(archive))
    land_snapshot(Path(vatsim_env["VATSIM_LANDING_DIR"]), engine, OLD)
    land_snapshot(Path(vatsim_env["VATSIM_LANDING_DIR"]), engine, LATER)
    with engine.connect() as connection:
        radios = connection.execute(select(func.count()).select_from(transceivers)).scalar_one()
    # The same payload again 15 s later extends every position's run: one row each.
    runs = KEEP["pilots"]
    files = [
        "flight_positions/day=2024-11-20/flight_positions_2024-11-20.parquet",
        "transceivers/day=2024-11-20/transceivers_2024-11-20.parquet",
    ]

    preview = CliRunner().invoke(main, ["prune", "--dry-run"])
    document = json.loads(CliRunner().invoke(main, ["prune", "--dry-run", "--json"]).stdout)

    assert preview.exit_code == 0, preview.output
    tables_line = preview.stdout.splitlines()[2]
    assert tables_line.endswith(
        f"; would archive 2 day file(s) first ({runs + radios:,} row(s)): {files[0]}, {files[1]}"
    )
    assert document["tables"]["archived"] == files
    positions = document["tables"]["tables"]["flight_positions"]
    assert (positions["archived"], positions["archived_rows"]) == ([files[0]], runs)
    assert document["tables"]["tables"]["transceivers"]["archived_rows"] == radios
    assert not archive.exists()

    done = CliRunner().invoke(main, ["prune", "--json"])

    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["tables"]["archived"] == files
    assert sorted(str(p.relative_to(archive)) for p in archive.rglob("*.parquet")) == files
