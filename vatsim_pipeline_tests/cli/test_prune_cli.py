"""`vatsim-pipeline prune [--dry-run] [--json]` on landed payloads and real runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.test_utils import create_run_for_test

# Registers the command on `main`, whether or not cli/app.py lists the module yet.
import vatsim_pipeline.cli.prune  # noqa: F401
from vatsim_pipeline.cli.app import main
from vatsim_pipeline_tests.maintenance import land_snapshot

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
    archive = str(tmp_path / "archive" / "2024-11-20.tar.gz")

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

    done = CliRunner().invoke(main, ["prune"])

    assert done.exit_code == 0, done.output
    runs_line, payloads_line = done.stdout.splitlines()
    assert runs_line == (
        "runs: deleted 2 run(s) (SUCCESS 2); kept 0 failed run(s) whose snapshot is not "
        "stored, 1 failed run(s) of no snapshot, 0 holding an asset's latest materialization"
    )
    assert payloads_line.startswith(
        f"landed payloads: removed 2 landed payload(s) ({size / 1000:.1f} kB, "
        f"{OLD.isoformat()} .. {OLD.isoformat()}), archived into 1 file(s) of "
    )
    assert payloads_line.endswith(
        ", 0 day folder(s); 2 held: snapshot not stored; 0 held: stored too recently"
    )
    assert Path(archive).exists() and not Path(stored.data_path).exists()

    after = json.loads(CliRunner().invoke(main, ["prune", "--dry-run", "--json"]).stdout)
    assert (after["runs"]["deleted"], after["landed_payloads"]["files"]) == (0, 0)
