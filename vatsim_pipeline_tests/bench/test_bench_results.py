"""A bench leaves the checkout clean: its figures go under `$VATSIM_HOME/bench/` unless
`--record` (the tracked bench/results/) or `--output` says otherwise."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vatsim_pipeline_tests.backends import POSTGRES_URL

REPOSITORY = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPOSITORY / "bench"))

import results_file  # noqa: E402  (bench/ is not a package)


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    results_file.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_figures_go_to_the_home_unless_recorded_or_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VATSIM_HOME", str(tmp_path / "home"))
    assert results_file.results_path("ingest.json", parsed()) == (
        tmp_path / "home" / "bench" / "ingest.json"
    )
    assert results_file.results_path("ingest.json", parsed("--record")) == (
        REPOSITORY / "bench" / "results" / "ingest.json"
    )
    given = tmp_path / "x.json"
    assert results_file.results_path("ingest.json", parsed("--output", str(given))) == given
    with pytest.raises(SystemExit):
        parsed("--record", "--output", str(given))


def test_a_bench_run_leaves_the_tracked_results_untouched(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip("needs VATSIM_TEST_POSTGRES_URL; .ci/run always sets it")
    tracked = REPOSITORY / "bench" / "results" / "queries.json"
    before = tracked.read_bytes()
    command = [sys.executable, "bench/queries.py", "--pilots", "5", "--snapshots", "8"]
    command += ["--repeat", "2", "--url", POSTGRES_URL]
    env = {**os.environ, "VATSIM_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        command, cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    written = tmp_path / "home" / "bench" / "queries.json"
    assert f"figures written to {written}" in done.stdout.splitlines()
    assert json.loads(written.read_text())["parameters"]["pilots"] == 5
    assert tracked.read_bytes() == before
