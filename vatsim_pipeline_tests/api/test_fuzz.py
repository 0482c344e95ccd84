"""Schemathesis against the served API, as the issue's tester ran it
(`st run .../api/openapi.json --checks all`): every route `vatsim-pipeline serve`
serves, over real HTTP, on a database holding the recorded sequence of 2024-11-22 and
the real sectors, on every backend. Any finding fails the test: a server error, a status
or body the document does not state, a request the document allows answered 400, or one
it refuses answered 200.

Bounded so that the suite stays fast: a fixed seed (the same cases each run; set
`VATSIM_FUZZ_SEED` to explore others), `FUZZ_MAX_EXAMPLES` cases per operation and phase
besides schemathesis's deterministic coverage cases, and a timeout per request and for
the whole run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vatsim_pipeline.api import create_app, provided_routers
from vatsim_pipeline.settings import Settings
from vatsim_pipeline.storage.engine import make_engine
from vatsim_pipeline.storage.reads import QueryService
from vatsim_pipeline_tests.api import ok, serving
from vatsim_pipeline_tests.backends import BACKENDS
from vatsim_pipeline_tests.storage.reads_support import recorded_database

FUZZ_MAX_EXAMPLES = 10
FUZZ_REQUEST_TIMEOUT_S = 30
FUZZ_RUN_TIMEOUT_S = 900
SCHEMATHESIS = Path(sys.executable).with_name("st")


@pytest.fixture(scope="module", params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    """The app `vatsim-pipeline serve` builds (report routes included), serving."""
    folder = tmp_path_factory.mktemp("fuzz")
    with (
        pytest.MonkeyPatch.context() as patch,
        recorded_database(request.param, folder) as url,
    ):
        patch.setenv("DAGSTER_HOME", str(folder / "dagster_home"))
        settings = Settings.from_env(
            {"VATSIM_HOME": str(folder / "home"), "VATSIM_DATABASE_URL": url}
        )
        service = QueryService(make_engine(url))
        try:
            with serving(create_app(service, provided_routers(service, settings))) as base:
                yield base
        finally:
            service.engine.dispose()


def test_schemathesis_finds_nothing(served: str, tmp_path: Path):
    operations = sum(len(item) for item in ok(served, "/api/openapi.json")["paths"].values())
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{served}/api/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(FUZZ_MAX_EXAMPLES),
        "--seed",
        os.environ.get("VATSIM_FUZZ_SEED", "1"),
        "--workers",
        "2",
        "--request-timeout",
        str(FUZZ_REQUEST_TIMEOUT_S),
        "--no-color",
    ]
    # Its own folder: schemathesis keeps Hypothesis's example database in the cwd.
    result = subprocess.run(
        command,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=FUZZ_RUN_TIMEOUT_S,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12000:]
    # Warnings (e.g. most generated callsigns name no flight: 404) are no findings.
    assert re.search(r"=+ (No issues found|\d+ warnings?) in ", output), output[-12000:]
    tested = re.search(r"Tested: (\d+)", output)
    assert tested is not None and int(tested.group(1)) == operations >= 13, output[-3000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    assert cases is not None and cases.group(1) == cases.group(2), output[-3000:]
    assert int(cases.group(1)) > 20 * operations
