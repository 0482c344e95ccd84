"""`bench/queries.py` at a tiny size against the test PostgreSQL server: it fills its own
database, measures the five queries through the query service, writes its figures where
it is told, prints the summary line, and drops its database."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from vatsim_pipeline_tests.backends import POSTGRES_URL

REPOSITORY = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(r"^queries track p95 \d+\.\d ms  active p95 \d+\.\d ms$")
QUERIES = {"track", "latest-track", "active", "history", "occupancy"}


def _database_exists(name: str) -> bool:
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.connect() as connection:
            statement = text("SELECT count(*) FROM pg_database WHERE datname = :name")
            return connection.execute(statement, {"name": name}).scalar_one() > 0
    finally:
        admin.dispose()


def test_tiny_run_prints_the_summary_and_writes_the_five_queries(tmp_path: Path):
    if not POSTGRES_URL:
        pytest.skip("needs VATSIM_TEST_POSTGRES_URL; .ci/run always sets it")
    output = tmp_path / "queries.json"
    command = [sys.executable, "bench/queries.py", "--pilots", "20", "--snapshots", "40"]
    command += ["--repeat", "5", "--url", POSTGRES_URL, "--output", str(output)]
    process = subprocess.Popen(
        command, cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    lines = stdout.splitlines()
    assert SUMMARY.match(lines[-1]), lines[-1]
    assert lines[0].startswith(f"filling vp_bench_queries_{process.pid}: 20 pilots, 40 snapshots")

    results = json.loads(output.read_text())
    assert set(results["queries"]) == QUERIES
    for figures in results["queries"].values():
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"]
        assert figures["plans"] and figures["scans_in_sampled_plans"]
    track = results["queries"]["track"]
    assert lines[-1] == (
        f"queries track p95 {track['p95_ms']:.1f} ms  "
        f"active p95 {results['queries']['active']['p95_ms']:.1f} ms"
    )
    assert track["target_p95_ms"] == 20.0 and track["rows_mean"] > 0
    data = results["data"]
    assert data["positions"] > 0
    assert data["flights_on_the_day"] <= data["flights"] and data["sector_visits"] > 0
    assert results["parameters"] == {
        "pilots": 20,
        "snapshots": 40,
        "history_days": 6,
        "repeat": 5,
        "seed": 5,
    }
    assert not _database_exists(f"vp_bench_queries_{process.pid}")
