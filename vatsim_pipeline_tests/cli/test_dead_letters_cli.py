"""`vatsim-pipeline dead-letters list|replay` on real failed runs: one that lost its
database (stored by the replay once the database is back), one whose payload is not JSON
(fails again) and one whose positions the database refused to locate (located by the
replay)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result
from dagster import DagsterInstance

# Registers the commands on `main`, whether or not cli/app.py lists the modules yet.
import vatsim_pipeline.cli.dead_letters
import vatsim_pipeline.cli.report  # noqa: F401
from vatsim_pipeline.cli.app import main
from vatsim_pipeline.cli.dead_letters import format_age
from vatsim_pipeline.storage.sector_writes import replace_sectors
from vatsim_pipeline_tests.defs.test_dead_letters import failed_locating, positions_and_located
from vatsim_pipeline_tests.reports import (
    CLOSED_DATABASE_URL,
    database_retries,
    ingest,
    not_json_payload,
)
from vatsim_pipeline_tests.shared_data import sequence_files
from vatsim_pipeline_tests.storage.reads_support import real_sectors

SNAPSHOT = "2024-11-22T12:48:40.116824+00:00"


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["dead-letters", *args])


@pytest.fixture
def lost_database_run(vatsim_env, engine, monkeypatch) -> str:
    """An ingest run that failed, after its retries, on a database refusing connections."""
    monkeypatch.setenv("VATSIM_DATABASE_URL", CLOSED_DATABASE_URL)
    result = ingest(DagsterInstance.get(), sequence_files()[0])
    monkeypatch.setenv("VATSIM_DATABASE_URL", vatsim_env["VATSIM_DATABASE_URL"])
    assert not result.success
    return result.run_id


def test_list_replay_and_the_report_agree(lost_database_run) -> None:
    listed = _invoke("list")
    assert listed.exit_code == 0, listed.output
    header, row, summary = listed.stdout.splitlines()
    assert header.split() == ["RUN", "SNAPSHOT", "CATEGORY", "AGE", "MISSING", "ERROR"]
    assert row.split()[:3] == [lost_database_run, SNAPSHOT, "database"]
    assert row.index("snapshot not stored") == header.index("MISSING")
    assert "OperationalError: (psycopg2.OperationalError) connection to server" in row
    assert summary == "dead letters: 1 of limit 100"
    assert listed.stderr == ""

    as_json = json.loads(_invoke("list", "--json").stdout)
    assert [letter["run_id"] for letter in as_json["dead_letters"]] == [lost_database_run]
    assert as_json["dead_letters"][0]["update_timestamp"] == SNAPSHOT
    assert as_json["dead_letters"][0]["category"] == "database"
    assert as_json["dead_letters"][0]["missing"] == "snapshot not stored"
    assert (as_json["size"], as_json["limit"], as_json["over_limit"]) == (1, 100, False)

    replayed = _invoke("replay", lost_database_run)
    assert replayed.exit_code == 0, replayed.output
    stored, total = replayed.stdout.splitlines()
    assert stored.startswith(f"{lost_database_run}: stored (replay run ")
    assert total == "replayed 1 of 1 dead letter(s)"

    assert _invoke("list").stdout == "dead letters: 0 of limit 100\n"
    report = json.loads(CliRunner().invoke(main, ["report", "errors"]).stdout)
    assert report["total_errors"] == database_retries() + 1
    assert (report["failures"], report["recovered_failures"]) == (1, 1)
    assert report["recovery_success_rate"] == 1.0


def test_a_snapshot_stored_but_not_located_is_listed_until_replayed(vatsim_env, engine) -> None:
    replace_sectors(engine, real_sectors(), "test")
    failed, stamp = failed_locating(engine, sequence_files()[0])

    header, row, _ = _invoke("list").stdout.splitlines()
    assert row.split()[:3] == [failed.run_id, SNAPSHOT, "database"]
    assert row.index("positions not located in sectors") == header.index("MISSING")
    (letter,) = json.loads(_invoke("list", "--json").stdout)["dead_letters"]
    assert (letter["run_id"], letter["missing"]) == (
        failed.run_id,
        "positions not located in sectors",
    )

    replayed = _invoke("replay", "--all")
    assert replayed.exit_code == 0, replayed.output
    assert replayed.stdout.splitlines()[-1] == "replayed 1 of 1 dead letter(s)"
    positions, located = positions_and_located(engine, stamp)
    assert positions == located > 0
    assert _invoke("list").stdout == "dead letters: 0 of limit 100\n"


def test_over_the_limit_the_list_warns(lost_database_run, monkeypatch) -> None:
    monkeypatch.setenv("VATSIM_DEAD_LETTER_LIMIT", "0")

    for args in (["list"], ["list", "--json"]):
        listed = _invoke(*args)
        assert listed.exit_code == 0
        assert listed.stderr == (
            "WARNING: 1 dead letters exceed the limit of 0: replay them "
            "(dead-letters replay --all) or find why they fail\n"
        )
    assert json.loads(listed.stdout)["over_limit"] is True


def test_a_replay_that_fails_again_exits_1_and_says_why(vatsim_env, engine, tmp_path) -> None:
    failed = ingest(DagsterInstance.get(), not_json_payload(tmp_path))

    replayed = _invoke("replay", "--all")

    assert replayed.exit_code == 1
    line, total = replayed.stdout.splitlines()
    assert line.startswith(f"{failed.run_id}: failed: ")
    assert "data feed is not JSON" in line
    assert total == "replayed 0 of 1 dead letter(s)"


def test_replay_needs_run_ids_or_all_and_known_runs(vatsim_env) -> None:
    nothing = _invoke("replay")
    assert nothing.exit_code == 2
    assert "Error: give the RUN_IDS to replay, or --all (not both)" in nothing.stderr
    both = _invoke("replay", "--all", "some-run")
    assert both.exit_code == 2
    assert "Error: give the RUN_IDS to replay, or --all (not both)" in both.stderr

    unknown = _invoke("replay", "no-such-run")
    assert unknown.exit_code == 2
    assert unknown.stderr == "error: no-such-run: no such run\n"

    empty = _invoke("replay", "--all")
    assert (empty.exit_code, empty.stdout) == (0, "no dead letters to replay\n")


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (59.9, "59s"),
        (61, "1m 01s"),
        (3600 * 5 + 420, "5h 07m"),
        (86400 * 3 + 7200, "3d 02h"),
    ],
)
def test_ages_show_two_units(seconds: float, shown: str) -> None:
    assert format_age(seconds) == shown
